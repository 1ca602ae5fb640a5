"""The Verifier: the C++ core's checks, in the core's order, with the same reasons.

length, shape, base64url, header, alg/kid/key selection, signature, claims
JSON, time (exp/nbf/iat with leeway, max lifetime), iss, aud, request binding
(htm, htu, query_sha256, body_sha256), header binding (hdrs, hdr_sha256),
replay. The first failure raises VerificationError with its reason.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import time
from typing import Any, Collection, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import _strict
from .errors import ConfigurationError, VerificationError
from .jwks import JwksSource
from .keys import ALGORITHMS, KeyMaterial, KeySet, VerificationKey, keys_from_jwks, make_key
from .replay import ReplayStore
from .request import BadHeaderValue, Request, as_bytes, headers_sha256, is_header_token

DEFAULT_MAX_TOKEN_LENGTH = 8192
BINDINGS = ("method", "path", "query", "body")
_JWT_ONLY = frozenset(("issuer", "audience", "max_lifetime", "max_token_length", "bind", "check_headers",
                       "required_headers"))

Claims = Dict[str, Any]


def _ct_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def _member(claims: Mapping[str, Any], name: str, kind: str) -> Any:
    v = claims.get(name)
    if v is None and name not in claims:
        return None
    ok = _strict.is_number(v) if kind == "number" else isinstance(v, str)
    if not ok:
        raise VerificationError("bad_claims", f"claim {name} must be a {kind}")
    return v


def _check_bound_names(hdrs: List[Any]) -> None:
    # hdrs as a signer writes it: a non-empty array of distinct lowercase
    # header names. Anything else did not come from a conforming signer.
    if not hdrs:
        raise VerificationError("bad_claims", "claim hdrs is an empty array")
    for i, name in enumerate(hdrs):
        if not isinstance(name, str):
            raise VerificationError("bad_claims", "claim hdrs must hold strings")
        if not is_header_token(name) or name != name.lower():
            raise VerificationError("bad_claims", "claim hdrs holds a name that is not a lowercase header name")
        if name in hdrs[:i]:
            raise VerificationError("bad_claims", "claim hdrs lists a name twice")


def _json_object(raw: bytes, reason: str, what: str) -> Dict[str, Any]:
    try:
        v = _strict.parse_json(raw)
    except _strict.Duplicate:
        raise VerificationError(reason, f"{what} repeat a member name") from None
    except _strict.Syntax:
        raise VerificationError(reason, f"{what} is not valid JSON") from None
    if not isinstance(v, dict):
        raise VerificationError(reason, f"{what} is not a JSON object")
    return v


def _b64(part: bytes, what: str) -> bytes:
    d = _strict.b64url_decode(part)
    if d is None:
        raise VerificationError("bad_base64", f"{what} segment is not strict base64url")
    return d


# Checked headers by their segment: every token one gateway key signs carries
# the same header, so its strict decode and checks run once. Only headers that
# passed every check are kept; the key selection still runs per token.
_HEADERS: Dict[bytes, Tuple[str, Optional[str]]] = {}
_HEADERS_MAX = 64


def _check_header(segment: bytes, header_raw: bytes) -> Tuple[str, Optional[str]]:
    header = _json_object(header_raw, "bad_header", "header")
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise VerificationError("bad_header", "header has no alg string")
    if "typ" in header and header["typ"] != "JWT":
        raise VerificationError("bad_header", 'header typ is not "JWT"')
    kid = header.get("kid")
    if "kid" in header and not isinstance(kid, str):
        raise VerificationError("bad_header", "header kid is not a string")
    if "crit" in header:
        raise VerificationError("crit_unsupported", "header has crit; no critical extension is understood")
    if alg.lower() == "none":
        raise VerificationError("alg_none", "alg none is never accepted")
    if alg not in ALGORITHMS:
        raise VerificationError("alg_not_allowed", "algorithm is not supported")

    if len(_HEADERS) >= _HEADERS_MAX:
        _HEADERS.clear()
    _HEADERS[segment] = (alg, kid)
    return alg, kid


def _received(what: str, request: Optional[Request]) -> bytes:
    if request is None:
        raise ConfigurationError("verify() needs the request when bindings are checked")
    if what == "method":
        return as_bytes(request.method)
    if what == "path":
        return as_bytes(request.path)
    if what == "query":
        q = as_bytes(request.query) if request.query is not None else b""
        return _strict.b64url_bytes(hashlib.sha256(q).digest())
    if request.body_sha256 is None:
        raise ConfigurationError("request.body_sha256 is required when the body is bound")
    return request.body_sha256.encode("ascii")


class Verifier:
    """Verify upstream-jwt tokens.

    keys: VerificationKey objects (make_key / keys_from_jwks), or use add_key,
    add_jwks, or jwks_url (asymmetric keys fetched, cached and refreshed).
    issuer/audience: None = not checked. leeway, max_lifetime (<= 0: unlimited)
    in seconds. bind: which request bindings are checked (default all four).
    check_headers: True = the token must bind headers (hdrs/hdr_sha256) and they
    must match; False = not checked; None (default) = checked when the token
    carries them or required_headers is set. required_headers: names the token
    must bind. replay_store: InMemoryReplayStore / RedisReplayStore / None.
    """

    def __init__(self, keys: Iterable[VerificationKey] = (), *, issuer: Optional[str] = "kong",
                 audience: Optional[str] = None, leeway: int = 5, max_lifetime: int = 3600,
                 max_token_length: int = DEFAULT_MAX_TOKEN_LENGTH,
                 bind: Collection[str] = BINDINGS, check_headers: Optional[bool] = None,
                 required_headers: Sequence[str] = (), replay_store: Optional[ReplayStore] = None,
                 jwks_url: Optional[str] = None, jwks: Optional[JwksSource] = None) -> None:
        if leeway < 0:
            raise ConfigurationError("leeway must not be negative")
        unknown = set(bind) - set(BINDINGS)
        if unknown:
            raise ConfigurationError(f"unknown binding {sorted(unknown)}")
        self.keys = KeySet(keys)
        self.issuer = issuer
        self.audience = audience
        self.leeway = int(leeway)
        self.max_lifetime = int(max_lifetime)
        self.max_token_length = max_token_length or DEFAULT_MAX_TOKEN_LENGTH
        self.bind = frozenset(bind)
        self.check_headers = check_headers
        for h in required_headers:
            if not is_header_token(h):
                raise ConfigurationError(f"required header {h!r} is not a header name")
        self.required_headers = [h.lower() for h in required_headers]
        self.replay_store = replay_store
        self.jwks = jwks or (JwksSource(jwks_url) if jwks_url else None)

    # ---- keys (start-up) ---------------------------------------------------
    def add_key(self, alg: str, material: KeyMaterial, kid: Optional[str] = None) -> "Verifier":
        self.keys.extend([make_key(alg, material, kid)])
        return self

    def add_jwks(self, jwks: Union[str, bytes, Mapping[str, Any]], alg: Optional[str] = None) -> "Verifier":
        self.keys.extend(keys_from_jwks(jwks, alg))
        return self

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **kw: Any) -> Any:
        """With format="http-message-signature" (or UPSTREAM_JWT_FORMAT set so):
        a httpsig.SignatureVerifier configured by SignatureVerifier.from_env
        (issuer, audience, max_lifetime, max_token_length, bind, check_headers
        and required_headers, which only the JWT format has, are ignored).
        Otherwise (format "jwt", the default) a Verifier: the configuration a container gets from its environment:
        UPSTREAM_JWT_SECRET (HS* secret, kid-less: accepts any kid the gateway
        sets), UPSTREAM_JWT_ALG (HS256), UPSTREAM_JWT_PUBLIC_KEY (PEM text, for
        asymmetric algorithms), UPSTREAM_JWT_JWKS_URL, UPSTREAM_JWT_ISSUER
        (kong), UPSTREAM_JWT_AUDIENCE, UPSTREAM_JWT_LEEWAY (5),
        UPSTREAM_JWT_MAX_LIFETIME (3600), UPSTREAM_JWT_REDIS_URL (replay store
        shared by replicas). Empty means unset; a malformed number is a
        ConfigurationError. Keyword arguments override."""
        env = os.environ if environ is None else environ
        fmt = kw.pop("format", None) or env.get("UPSTREAM_JWT_FORMAT") or "jwt"
        if fmt == "http-message-signature":
            from .httpsig import SignatureVerifier

            # Like the plugin's JWT-only fields, these options mean nothing in
            # this format: a service switched by UPSTREAM_JWT_FORMAT alone keeps working.
            return SignatureVerifier.from_env(env, **{k: v for k, v in kw.items() if k not in _JWT_ONLY})
        if fmt != "jwt":
            raise ConfigurationError(f"unknown format {fmt!r}: jwt or http-message-signature")
        from . import _env

        alg = env.get("UPSTREAM_JWT_ALG") or "HS256"
        opts: Dict[str, Any] = {
            "issuer": env.get("UPSTREAM_JWT_ISSUER") or "kong",
            "audience": _env.text(env, "UPSTREAM_JWT_AUDIENCE"),
            "leeway": _env.integer(env, "UPSTREAM_JWT_LEEWAY", 5),
            "max_lifetime": _env.integer(env, "UPSTREAM_JWT_MAX_LIFETIME", 3600),
            "jwks_url": _env.text(env, "UPSTREAM_JWT_JWKS_URL"),
        }
        if env.get("UPSTREAM_JWT_REDIS_URL"):
            from .replay import RedisReplayStore

            opts["replay_store"] = RedisReplayStore.from_url(env["UPSTREAM_JWT_REDIS_URL"])
        opts.update(kw)
        v = cls(**opts)
        if env.get("UPSTREAM_JWT_SECRET"):
            v.add_key(alg, env["UPSTREAM_JWT_SECRET"].encode("utf-8"))
        if env.get("UPSTREAM_JWT_PUBLIC_KEY"):
            v.add_key(alg, env["UPSTREAM_JWT_PUBLIC_KEY"].encode("utf-8"))
        if not len(v.keys) and v.jwks is None:
            raise ConfigurationError("no key: set UPSTREAM_JWT_SECRET, UPSTREAM_JWT_PUBLIC_KEY or UPSTREAM_JWT_JWKS_URL")
        return v

    # ---- per request -------------------------------------------------------
    def _select(self, alg: str, kid: Optional[str]) -> Sequence[VerificationKey]:
        if self.jwks is None:
            return self.keys.select(alg, kid)
        try:
            return self._with_remote().select(alg, kid)
        except VerificationError as e:
            if e.reason != "unknown_kid":
                raise
            # Look again even when the rate limit refuses a fetch: a concurrent
            # request may have just fetched the set that has this kid.
            self.jwks.refresh_for_unknown_kid()
            return self._with_remote().select(alg, kid)

    def _with_remote(self) -> KeySet:
        assert self.jwks is not None
        own = self.keys
        # Configured keys win over a remote key with the same kid.
        return KeySet(list(own._keys) + [k for k in self.jwks.keys()
                                          if k.kid is None or not own.has_kid(k.kid)])

    def verify(self, token: Union[str, bytes], request: Optional[Request] = None, *,
               now: Optional[int] = None) -> Claims:
        """The token's claims, or VerificationError. `request` is required when
        any binding is checked."""
        if now is None:
            now = int(time.time())
        raw = as_bytes(token)

        if len(raw) > self.max_token_length:
            raise VerificationError("token_too_long", f"token is {len(raw)} bytes; the limit is {self.max_token_length}")
        parts = raw.split(b".")
        if len(parts) != 3:
            raise VerificationError("malformed", "token is not three dot-separated segments")
        checked = _HEADERS.get(parts[0])
        header_raw = _b64(parts[0], "header") if checked is None else b""
        payload_raw = _b64(parts[1], "claims")
        signature = _b64(parts[2], "signature")

        alg, kid = checked if checked is not None else _check_header(parts[0], header_raw)

        candidates = self._select(alg, kid)
        signing_input = parts[0] + b"." + parts[1]
        if not any(k.verify(signing_input, signature) for k in candidates):
            raise VerificationError("bad_signature", f"signature does not verify with any of {len(candidates)} {alg} keys")

        claims = _json_object(payload_raw, "bad_claims", "claims")
        exp, nbf, iat = (_member(claims, n, "number") for n in ("exp", "nbf", "iat"))
        iss, jti, htm, htu, qsh, bsh = (_member(claims, n, "string")
                                        for n in ("iss", "jti", "htm", "htu", "query_sha256", "body_sha256"))
        hdrs = claims.get("hdrs")
        if "hdrs" in claims and not isinstance(hdrs, list):
            raise VerificationError("bad_claims", "claim hdrs must be a array")
        hsh = _member(claims, "hdr_sha256", "string")
        if hdrs is not None:
            _check_bound_names(hdrs)
        aud = claims.get("aud")
        if "aud" in claims and not (isinstance(aud, str) or (
                isinstance(aud, list) and all(isinstance(a, str) for a in aud))):
            raise VerificationError("bad_claims", "claim aud must be a string or an array of strings")

        # time, compared as the core does: as IEEE doubles
        dnow, leeway = float(now), float(self.leeway)
        if exp is None:
            raise VerificationError("missing_claim", "claim exp is missing")
        e = float(exp)
        if dnow >= e + leeway:
            raise VerificationError("expired", f"token expired at {exp}, now {now} (leeway {self.leeway})")
        if nbf is not None and float(nbf) > dnow + leeway:
            raise VerificationError("not_yet_valid", f"token not valid before {nbf}, now {now}")
        if iat is not None and float(iat) > dnow + leeway:
            raise VerificationError("issued_in_future", f"token issued at {iat}, in the future; now {now}")
        if self.max_lifetime > 0:
            lifetime = e - (float(iat) if iat is not None else dnow)
            if lifetime > float(self.max_lifetime):
                raise VerificationError("lifetime_too_long", f"token lifetime exceeds the maximum {self.max_lifetime} s")

        if self.issuer is not None:
            if iss is None:
                raise VerificationError("missing_claim", "claim iss is missing")
            if iss != self.issuer:
                raise VerificationError("bad_issuer", "issuer does not match")
        if self.audience is not None:
            if aud is None:
                raise VerificationError("missing_claim", "claim aud is missing")
            if not (aud == self.audience if isinstance(aud, str) else self.audience in aud):
                raise VerificationError("bad_audience", f"audience does not include {self.audience!r}")

        # htm/htu: bytes against bytes, the raw path as received, never decoded.
        for what, name, value, reason in (("method", "htm", htm, "method_mismatch"),
                                          ("path", "htu", htu, "path_mismatch"),
                                          ("query", "query_sha256", qsh, "query_mismatch"),
                                          ("body", "body_sha256", bsh, "body_mismatch")):
            if what not in self.bind:
                continue
            if value is None:
                raise VerificationError("missing_claim", f"claim {name} is missing")
            if not _ct_equal(value.encode("utf-8"), _received(what, request)):
                raise VerificationError(reason, f"claim {name} does not match the request")

        check = self.check_headers
        if check is None:
            check = "hdrs" in claims or "hdr_sha256" in claims or bool(self.required_headers)
        if check:
            if request is None:
                raise ConfigurationError("verify() needs the request to check bound headers")
            if hdrs is None or hsh is None:
                raise VerificationError("missing_claim", "claim hdrs/hdr_sha256 is missing")
            for name in self.required_headers:
                if name not in hdrs:
                    raise VerificationError("header_mismatch", f"header {name!r} must be bound, but hdrs does not list it")
            try:
                want = headers_sha256(hdrs, request.headers)
            except BadHeaderValue as e:
                raise VerificationError("header_mismatch", str(e)) from None
            if not _ct_equal(hsh.encode("utf-8"), want.encode("ascii")):
                raise VerificationError("header_mismatch", "bound headers do not match hdr_sha256")

        if self.replay_store is not None:
            if jti is None:
                raise VerificationError("missing_claim", "claim jti is missing (replay check)")
            # Remember the jti as long as the token could still be accepted.
            expires_at = int(min(math.ceil(e) + leeway, 9.0e18))
            self.replay_store.check_and_insert(jti, expires_at, now)
        return claims
