"""What the WSGI and ASGI middleware share: token extraction and the error reply."""

from __future__ import annotations

import json
import logging
from typing import List, Optional, Tuple

from .errors import VerificationError

log = logging.getLogger("upstream_jwt_verify")

DEFAULT_HEADER = "X-Upstream-JWT"
DEFAULT_MAX_BODY = 8 * 1024 * 1024  # the plugin's max_body_size default
SPOOL_IN_MEMORY = 1024 * 1024       # larger bodies are kept in a temp file
CLAIMS_KEY = "upstream_jwt.claims"
# format http-message-signature: the httpsig.Verified result
SIGNATURE_KEY = "upstream_jwt.signature"
# The gateway's consumer headers: one the signature does not cover is not the
# gateway's, so the middleware removes it before the application can read it.
CONSUMER_HEADERS = (b"x-consumer-id", b"x-consumer-username", b"x-credential-identifier")


def uncovered_consumer_headers(result: "object") -> List[bytes]:
    covered = getattr(result, "headers", {})
    return [h for h in CONSUMER_HEADERS if h.decode() not in covered]


def token_from(values: List[bytes]) -> bytes:
    """The token from the header's field lines; an optional `Bearer ` prefix
    (the plugin's header_prefix) is removed. Several lines are refused: picking
    one would let a client's copy compete with the gateway's."""
    if not values:
        raise VerificationError("missing_token", "no token header")
    if len(values) > 1:
        raise VerificationError("malformed", "more than one token header")
    token = values[0].strip(b" \t")
    if token[:7].lower() == b"bearer ":
        token = token[7:].lstrip(b" \t")
    if not token:
        raise VerificationError("missing_token", "empty token header")
    return token


def split_target(target: bytes) -> Tuple[bytes, Optional[bytes]]:
    """Raw path and raw query (None without '?') of an origin-form request target."""
    path, sep, query = target.partition(b"?")
    return path, (query if sep else None)


def error_reply(e: VerificationError, http_signature: bool = False) -> Tuple[int, List[Tuple[str, str]], bytes]:
    body = json.dumps({"error": e.reason}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if e.status == 401 and not http_signature:
        headers.append(("WWW-Authenticate", f'Bearer error="invalid_token", error_description="{e.reason}"'))
    return e.status, headers, body


def target_uri(scheme: str, host: Optional[bytes], path: bytes, query: Optional[bytes]) -> bytes:
    """The absolute target URI as the service received it: scheme, the Host
    header as sent, the raw path and the raw query (RFC 9421 @target-uri)."""
    out = scheme.encode("ascii") + b"://" + (host or b"") + path
    return out + b"?" + query if query is not None else out


def log_rejection(method: str, path: bytes, e: VerificationError) -> None:
    # The path is request data: repr() keeps control bytes out of the log line.
    log.info("rejected %s %r: %s (%s)", method, path[:200], e.reason, e.message)
