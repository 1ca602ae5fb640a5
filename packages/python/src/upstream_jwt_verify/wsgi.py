"""WSGI middleware: verifies before the application runs; the application then
reads the same body it would have read (spooled while it was hashed) and finds
the claims in environ["upstream_jwt.claims"]."""

from __future__ import annotations

import tempfile
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union
from urllib.parse import quote

from ._http import (CLAIMS_KEY, DEFAULT_HEADER, DEFAULT_MAX_BODY, SIGNATURE_KEY, SPOOL_IN_MEMORY, error_reply,
                    log_rejection, split_target, target_uri, token_from, uncovered_consumer_headers)
from .errors import VerificationError
from .httpsig import ContentDigest, Message, SignatureVerifier
from .request import BodyHasher, Request
from .verifier import Verifier

CHUNK = 64 * 1024
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Dict[str, Any], StartResponse], Iterable[bytes]]


def _environ_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def raw_target(environ: Dict[str, Any]) -> Tuple[bytes, Optional[bytes]]:
    """Raw path and query as received, from the request target a server keeps
    (RAW_URI as gunicorn sets it, REQUEST_URI as uWSGI sets it; werkzeug's dev
    server: see flask.raw_target_request_handler). Without one, PATH_INFO
    (percent-decoded by the server) is re-encoded, which can differ from what
    was sent: such a request then fails closed with path_mismatch."""
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if target:
        t = target.encode("latin-1")
        if environ.get(_RAW_TARGET_KEY) is None and str(environ.get("SERVER_SOFTWARE", "")).startswith("Werkzeug/"):
            # werkzeug's dev server stores the target UTF-8-encoded then
            # latin-1-decoded (its "WSGI encoding dance"): undo it.
            t = t.decode("utf-8").encode("latin-1")
        if t.startswith((b"http://", b"https://")):  # absolute-form: drop scheme and authority
            slash = t.find(b"/", t.find(b"//") + 2)
            t = t[slash:] if slash >= 0 else b"/"
        return split_target(t)
    path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1")
    query = environ.get("QUERY_STRING")
    return quote(path, safe="/:@!$&'()*+,;=-._~%").encode("ascii"), (query.encode("latin-1") if query else None)


_RAW_TARGET_KEY = "upstream_jwt.raw_target"
# The header field lines in order, repeats kept, as flask.raw_target_request_handler() records them.
RAW_HEADERS_KEY = "upstream_jwt.raw_headers"


def received_headers(environ: Dict[str, Any]) -> List[Tuple[bytes, bytes]]:
    """The header field lines as received when the server recorded them
    (environ["upstream_jwt.raw_headers"]); otherwise from the HTTP_* entries,
    of which WSGI keeps one per name (repeats joined by the server, with ","
    in werkzeug and gunicorn): a covered or bound header that was repeated
    then cannot be reconstructed exactly, and fails closed (ASGI keeps them)."""
    raw = environ.get(RAW_HEADERS_KEY)
    if raw is not None:
        return list(raw)
    out = []
    for k, v in environ.items():
        if k.startswith("HTTP_"):
            out.append((k[5:].replace("_", "-").lower().encode("latin-1"), v.encode("latin-1")))
    for k in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(k):
            out.append((k.replace("_", "-").lower().encode(), environ[k].encode("latin-1")))
    return out


class WSGIMiddleware:
    """app = WSGIMiddleware(app, verifier). verifier: a Verifier (JWT format;
    the claims go to environ["upstream_jwt.claims"]) or a SignatureVerifier
    (format http-message-signature; the httpsig.Verified result goes to
    environ["upstream_jwt.signature"]). header: the token header (JWT);
    scheme: the scheme of the signed @target-uri when it is not the one this
    server sees (TLS terminated in front of it; default wsgi.url_scheme);
    max_body_size: larger bodies get 413 (the gateway never signs them);
    exempt: paths (raw bytes) that skip verification, e.g. [b"/healthz"];
    on_reject: called with each VerificationError (metrics)."""

    def __init__(self, app: WSGIApp, verifier: Union[Verifier, SignatureVerifier], *,
                 header: str = DEFAULT_HEADER, max_body_size: int = DEFAULT_MAX_BODY,
                 exempt: Iterable[bytes] = (), on_reject: Optional[Callable[[VerificationError], None]] = None,
                 scheme: Optional[str] = None) -> None:
        self.app = app
        self.verifier = verifier
        self.http_signature = isinstance(verifier, SignatureVerifier)
        self.scheme = scheme
        self.key = _environ_key(header)
        self.max_body_size = max_body_size
        self.exempt = frozenset(exempt)
        self.on_reject = on_reject

    def _read_body(self, environ: Dict[str, Any], spool: Any, hasher: Any) -> None:
        stream = environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH")
        try:
            remaining: Optional[int] = int(length) if length else None
        except ValueError:
            raise VerificationError("bad_request", "Content-Length is not a number") from None
        if remaining is None and not environ.get("wsgi.input_terminated"):
            remaining = 0  # no framing the server vouches for: no body
        if remaining is not None and remaining > self.max_body_size:
            raise VerificationError("body_too_large", "body exceeds max_body_size")
        while remaining is None or remaining > 0:
            chunk = stream.read(CHUNK if remaining is None else min(CHUNK, remaining))
            if not chunk:
                if remaining:
                    raise VerificationError("bad_request", "body shorter than Content-Length")
                break
            hasher.update(chunk)
            if hasher.size > self.max_body_size:
                raise VerificationError("body_too_large", "body exceeds max_body_size")
            spool.write(chunk)
            if remaining is not None:
                remaining -= len(chunk)
        spool.seek(0)

    def _verify(self, environ: Dict[str, Any], method: str, path: bytes, query: Optional[bytes],
                spool: Any) -> Tuple[str, Any, int]:
        if not self.http_signature:
            value = environ.get(self.key)
            token = token_from([value.encode("latin-1")] if value is not None else [])
            hasher = BodyHasher()
            self._read_body(environ, spool, hasher)
            request = Request(method, path, query, hasher.b64(), received_headers(environ))
            return CLAIMS_KEY, self.verifier.verify(token, request), hasher.size
        host = environ.get("HTTP_HOST")
        message = Message(method, target_uri(self.scheme or environ.get("wsgi.url_scheme", "http"),
                                             host.encode("latin-1") if host is not None else None, path, query),
                          received_headers(environ))
        digest = ContentDigest.for_field(environ.get("HTTP_CONTENT_DIGEST"))
        self._read_body(environ, spool, digest)
        result = self.verifier.verify(message, content=digest)
        drop = uncovered_consumer_headers(result)
        for name in drop:
            environ.pop(_environ_key(name.decode()), None)
        if drop and environ.get(RAW_HEADERS_KEY) is not None:
            environ[RAW_HEADERS_KEY] = [(n, v) for n, v in environ[RAW_HEADERS_KEY] if n.lower() not in drop]
        return SIGNATURE_KEY, result, digest.size

    def __call__(self, environ: Dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path, query = raw_target(environ)
        if path in self.exempt:
            return self.app(environ, start_response)
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        try:
            key, result, size = self._verify(environ, method, path, query, spool)
        except BaseException as e:
            spool.close()
            if not isinstance(e, VerificationError):
                raise
            log_rejection(method, path, e)
            if self.on_reject is not None:
                self.on_reject(e)
            status, headers, body = error_reply(e, self.http_signature)
            start_response(f"{status} {_REASON_PHRASE.get(status, 'Error')}", headers)
            return [body]
        environ["wsgi.input"] = spool
        environ["CONTENT_LENGTH"] = str(size)
        environ[key] = result
        return _Closing(self.app(environ, start_response), spool)


class _Closing:
    """The app's response, closing the spooled body when the server closes it."""

    def __init__(self, result: Iterable[bytes], spool: Any) -> None:
        self.result = result
        self.spool = spool

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.result)

    def close(self) -> None:
        try:
            close = getattr(self.result, "close", None)
            if close is not None:
                close()
        finally:
            self.spool.close()


_REASON_PHRASE = {400: "Bad Request", 401: "Unauthorized", 413: "Payload Too Large",
                  503: "Service Unavailable"}
