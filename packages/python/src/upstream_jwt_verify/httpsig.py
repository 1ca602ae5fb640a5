"""RFC 9421 HTTP Message Signatures (with RFC 9530 Content-Digest): what the
gateway's `upstream-jwt` plugin sends with `format: http-message-signature`.

The checks, their order and the rejection reasons are the project's C++
core's (docs/http-message-signatures.md, "Verification order and rejection
reasons"): fields present and parse, label choice, member shapes, key
selection and alg, required components and tag, created/expires, signature
base, signature; then the Content-Digest against the body (check_digest) and
the nonce replay check (replay_store).

    v = SignatureVerifier(tag="orders").add_key("ed25519", public_pem, keyid="gw-2024")
    result = v.verify(Message("POST", "http://orders.internal/v1/orders?id=7", headers), content=body)
    result.keyid, result.header("x-consumer-id")   # covered headers only
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from . import sf
from .errors import ConfigurationError, VerificationError
from .jwks import JwksSource
from .keys import _check_strength, _public, keys_from_jwks
from .replay import ReplayStore
from .request import Header, as_bytes

FORMAT = "http-message-signature"

# The HTTP Signature Algorithms registry entries the gateway signs with.
ALGORITHMS = ("hmac-sha256", "ed25519", "ecdsa-p256-sha256", "rsa-pss-sha512", "rsa-v1_5-sha256")
# The gateway's `algorithm` setting (and a JWK's "alg") -> the RFC 9421 algorithm it signs.
FROM_JWS = {"HS256": "hmac-sha256", "RS256": "rsa-v1_5-sha256", "PS256": "rsa-pss-sha512",
            "ES256": "ecdsa-p256-sha256", "EdDSA": "ed25519"}

# The core's reasons (C ABI numbers 101..115), plus `replayed` for a nonce seen before.
REASONS = ("missing_signature", "malformed", "ambiguous", "bad_component", "missing_component",
           "unknown_key", "alg_mismatch", "missing_parameter", "expired", "created_in_future",
           "too_old", "tag_mismatch", "bad_signature", "digest_mismatch", "missing_digest")

# What the gateway always covers.
GATEWAY_COMPONENTS = ("@method", "@target-uri", "@authority", "content-digest")

_HMAC_MIN = 32
_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


def _reject(reason: str, message: str) -> VerificationError:
    return VerificationError(reason, message)


# ---- keys -------------------------------------------------------------------

def algorithm_name(alg: str) -> str:
    """An RFC 9421 name, or the gateway's JWS name for it (HS256, EdDSA ...)."""
    if alg in ("HS384", "HS512"):
        raise ConfigurationError(f"{alg} has no RFC 9421 algorithm (the HTTP Signature Algorithms registry "
                                 "has only hmac-sha256 for HMAC): use HS256")
    name = FROM_JWS.get(alg, alg)
    if name not in ALGORITHMS:
        raise ConfigurationError(f"unsupported HTTP signature algorithm {alg!r} "
                                 f"(one of {', '.join(ALGORITHMS)}, or {', '.join(FROM_JWS)})")
    return name


@dataclass(frozen=True)
class SignatureKey:
    """One key with its algorithm pinned. keyid "" is the key for signatures
    without a keyid parameter."""

    alg: str
    keyid: str
    key: Any = field(repr=False)  # secret bytes, or a cryptography public key

    def verify(self, base: bytes, sig: bytes) -> bool:
        alg, key = self.alg, self.key
        try:
            if alg == "hmac-sha256":
                return hmac.compare_digest(hmac.digest(key, base, "sha256"), sig)
            if alg == "ed25519":
                key.verify(sig, base)
            elif alg == "ecdsa-p256-sha256":
                # RFC 9421 3.3.4: r and s as two 32-byte big-endian integers.
                if len(sig) != 64:
                    return False
                der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
                key.verify(der, base, ec.ECDSA(hashes.SHA256()))
            elif alg == "rsa-pss-sha512":
                if len(sig) != (key.key_size + 7) // 8:
                    return False
                # Any salt length, as the core: Node's crypto signs with the maximum.
                key.verify(sig, base, padding.PSS(mgf=padding.MGF1(hashes.SHA512()),
                                                  salt_length=padding.PSS.AUTO), hashes.SHA512())
            else:
                if len(sig) != (key.key_size + 7) // 8:
                    return False
                key.verify(sig, base, padding.PKCS1v15(), hashes.SHA256())
            return True
        except (InvalidSignature, ValueError):
            return False


def _load_pem(pem: bytes) -> Any:
    try:
        return serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm):
        pass
    try:
        return serialization.load_pem_private_key(pem, password=None).public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigurationError("not a PEM public or private key") from None


def _check_key(alg: str, key: Any) -> None:
    # The JWS algorithm with the same key rules (type, curve, RSA >= 2048 bits).
    twin = {v: k for k, v in FROM_JWS.items()}[alg]
    try:
        _check_strength(twin, key)
    except ConfigurationError as e:
        raise ConfigurationError(f"{alg}: {e}") from None


def make_signature_key(alg: str, material: Union[bytes, str, Any], keyid: str = "") -> SignatureKey:
    """hmac-sha256: the secret's exact bytes (str is UTF-8 encoded), at least
    32. The others: a PEM public key, a PEM private key (its public half is
    kept), or a cryptography key object (public or private)."""
    alg = algorithm_name(alg)
    if not isinstance(keyid, str):
        raise ConfigurationError("keyid must be a string")
    if alg == "hmac-sha256":
        secret = material.encode("utf-8") if isinstance(material, str) else material
        if not isinstance(secret, (bytes, bytearray)):
            raise ConfigurationError("an hmac-sha256 secret is bytes")
        if len(secret) < _HMAC_MIN:
            raise ConfigurationError(f"hmac-sha256 secret must be at least {_HMAC_MIN} bytes")
        return SignatureKey(alg, keyid, bytes(secret))
    if isinstance(material, (bytes, bytearray, str)):
        key = _load_pem(as_bytes(material) if isinstance(material, str) else bytes(material))
    else:
        key = _public(material)
    _check_key(alg, key)
    return SignatureKey(alg, keyid, key)


def signature_keys_from_jwks(jwks: Union[str, bytes, Mapping[str, Any]], *,
                             skip_unusable: bool = False) -> List[SignatureKey]:
    """Keys of a JWKS (or one JWK), each JWK's "alg" mapped as the gateway maps
    its `algorithm` (HS256 -> hmac-sha256, RS256 -> rsa-v1_5-sha256, PS256 ->
    rsa-pss-sha512, ES256 -> ecdsa-p256-sha256, EdDSA -> ed25519); "kid" is
    the keyid ("" without one). Algorithms with no RFC 9421 name are refused
    (or left out with skip_unusable)."""
    out = []
    for k in keys_from_jwks(jwks, skip_unusable=skip_unusable):
        if k.alg not in FROM_JWS:
            if skip_unusable:
                continue
            raise ConfigurationError(f"JWK alg {k.alg} has no HTTP signature algorithm")
        out.append(_from_verification_key(k))
    return out


def _from_verification_key(k: Any) -> SignatureKey:
    alg = FROM_JWS[k.alg]
    if alg != "hmac-sha256":
        _check_key(alg, k.key)
    return SignatureKey(alg, k.kid or "", k.key)


# ---- the message --------------------------------------------------------------

@dataclass
class Message:
    """A request as the service received it: method, the absolute target URI
    (scheme://host[:port]/raw-path?raw-query, exactly as received, never
    percent-decoded) and the header fields in order, repeats allowed (bytes,
    or latin-1 strings as WSGI gives them). For a response: status (100..999)
    and, for `;req` components, the request."""

    method: Union[str, bytes] = ""
    target_uri: Union[str, bytes] = ""
    headers: Sequence[Header] = field(default_factory=list)
    status: int = 0
    request: Optional["Message"] = None

    def is_request(self) -> bool:
        return self.status == 0


def _latin1(v: Union[str, bytes]) -> str:
    # Bytes as received, one char per byte, so `;bs` sees the exact bytes and
    # anything outside printable ASCII is caught where the core catches it.
    return as_bytes(v).decode("latin-1")


class _View:
    """A Message with names lowercased and values as latin-1 text, built once per verify."""

    __slots__ = ("msg", "method", "target", "fields", "_target", "request")

    def __init__(self, msg: Message) -> None:
        self.msg = msg
        self.method = _latin1(msg.method)
        self.target = _latin1(msg.target_uri)
        self.fields: List[Tuple[str, str]] = [(_latin1(n).lower(), _latin1(v)) for n, v in msg.headers]
        self._target: Optional[Tuple[str, str, str, str, bool]] = None
        self.request = _View(msg.request) if msg.request is not None else None

    def combined(self, name: str) -> Optional[str]:
        values = [v for n, v in self.fields if n == name]
        return ", ".join(values) if values else None

    def parsed_target(self) -> Tuple[str, str, str, str, bool]:
        """scheme, authority, path, query, has_query; ValueError says why not."""
        if self._target is None:
            self._target = _parse_target(self.target)
        return self._target


def _parse_target(uri: str) -> Tuple[str, str, str, str, bool]:
    colon = uri.find(":")
    if colon <= 0:
        raise ValueError("target URI: no scheme")
    scheme = uri[:colon]
    if any(not (c.isascii() and c.isalnum()) and c not in "+-." for c in scheme):
        raise ValueError("target URI: invalid scheme")
    if uri[colon + 1:colon + 3] != "//":
        raise ValueError("target URI: not an absolute URI with an authority")
    rest = uri[colon + 3:]
    if "#" in rest:
        raise ValueError("target URI: a target URI has no fragment")
    ends = [i for i in (rest.find("/"), rest.find("?")) if i >= 0]
    end = min(ends) if ends else len(rest)
    authority, rest = rest[:end], rest[end:]
    if not authority:
        raise ValueError("target URI: empty authority")
    if "@" in authority:
        raise ValueError("target URI: userinfo is not allowed")
    path, q, query = rest.partition("?")
    if _URI_BAD.search(uri):
        raise ValueError("target URI: space, control or non-ASCII character")
    return scheme, authority, path, query, bool(q)


def _authority(scheme: str, authority: str) -> str:
    """RFC 9110 4.2.3: lowercase host, no default port, no empty port."""
    host, port = authority, ""
    colon, bracket = authority.rfind(":"), authority.rfind("]")
    if colon >= 0 and (bracket < 0 or colon > bracket):
        host, port = authority[:colon], authority[colon + 1:]
    scheme = scheme.lower()
    default = port == "" or (scheme == "http" and port == "80") or (scheme == "https" and port == "443")
    return host.lower() + ("" if default else ":" + port)


_HEX = "0123456789abcdefABCDEF"
_FORM_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*-._")


def _form_decode(s: str) -> bytes:
    """WHATWG application/x-www-form-urlencoded parsing of a name or value."""
    out = bytearray()
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c == "+":
            out.append(0x20)
        elif c == "%" and i + 2 < n and s[i + 1] in _HEX and s[i + 2] in _HEX:
            out.append(int(s[i + 1:i + 3], 16))
            i += 2
        else:
            out += c.encode("latin-1")
        i += 1
    return bytes(out)


def _form_encode(b: bytes) -> str:
    # Space as %20, the form RFC 9421 2.2.8 shows.
    return "".join(chr(x) if x in _FORM_SAFE else "%%%02X" % x for x in b)


def _trimmed_unfolded(v: str) -> str:
    v = v.strip(" \t")
    if "\r" not in v and "\n" not in v:
        return v
    out = []
    i, n = 0, len(v)
    while i < n:
        c = v[i]
        if c in "\r\n":
            j = i + 1 if c == "\r" and i + 1 < n and v[i + 1] == "\n" else i
            k = j + 1
            while k < n and v[k] in " \t":
                k += 1
            if k == j + 1:
                out.append(c)  # a bare line break is not obs-fold: it fails later
                i += 1
                continue
            out.append(" ")
            i = k
            continue
        out.append(c)
        i += 1
    return "".join(out)


_PRINTABLE = re.compile(r"[\t\x20-\x7e]*")
_URI_BAD = re.compile(r"[^\x21-\x7e]")


def _printable(v: str) -> bool:
    return _PRINTABLE.fullmatch(v) is not None


# Fields whose structured type is known, for `;sf` (the core's list).
_SF_TYPES = {
    **dict.fromkeys(("signature", "signature-input", "content-digest", "repr-digest", "want-content-digest",
                     "want-repr-digest", "priority", "accept-signature", "cache-control-dict",
                     "example-dict"), "dictionary"),
    **dict.fromkeys(("cache-status", "proxy-status", "accept-ch", "client-cert-chain", "example-list"), "list"),
    **dict.fromkeys(("client-cert", "example-item"), "item"),
}


class _BadComponent(Exception):
    pass


def _flag(item: sf.Item, key: str) -> bool:
    if key not in item.params:
        return False
    if item.params[key] is not True:
        raise _BadComponent(f"parameter {key} must be ?1")
    return True


def _string_param(item: sf.Item, key: str) -> str:
    if key not in item.params:
        raise _BadComponent(f"parameter {key} is required")
    v = item.params[key]
    if not sf.is_string(v):
        raise _BadComponent(f"parameter {key} must be a string")
    return str(v)


def _field_value(view: _View, item: sf.Item, name: str) -> str:
    sf_flag, bs = _flag(item, "sf"), _flag(item, "bs")
    has_key = "key" in item.params
    if bs and (sf_flag or has_key):
        raise _BadComponent("bs cannot be combined with sf or key")
    values = [_trimmed_unfolded(v) for n, v in view.fields if n == name]
    if not values:
        raise _BadComponent("field is not in the message")
    if bs:
        return sf.serialize_list([sf.Item(v.encode("latin-1")) for v in values])
    if not all(_printable(v) for v in values):
        raise _BadComponent("field value has a control or non-ASCII character (use ;bs)")
    combined = ", ".join(values)
    try:
        if has_key:
            key = _string_param(item, "key")
            d = sf.parse_dictionary(combined)
            if key not in d:
                raise _BadComponent(f'dictionary has no member "{key}"')
            return sf.serialize_member(d[key])
        if sf_flag:
            kind = _SF_TYPES.get(name)
            if kind == "dictionary":
                return sf.serialize_dictionary(sf.parse_dictionary(combined))
            if kind == "list":
                return sf.serialize_list(sf.parse_list(combined))
            if kind == "item":
                return sf.serialize_item(sf.parse_item(combined))
            raise _BadComponent("the structured type of this field is not known")
    except sf.SFError as e:
        raise _BadComponent(f"field is not a valid structured field: {e}") from None
    return combined


def _derived_value(view: _View, item: sf.Item, name: str) -> str:
    msg = view.msg
    if name == "@status":
        if msg.is_request():
            raise _BadComponent("@status is for responses")
        if not 100 <= msg.status <= 999:
            raise _BadComponent("status is not 3 digits")
        return str(msg.status)
    if not msg.is_request():
        raise _BadComponent("derived from a request (add ;req)")
    if name == "@method":
        if not view.method:
            raise _BadComponent("no method")
        return view.method
    try:
        scheme, authority, path, query, has_query = view.parsed_target()
    except ValueError as e:
        raise _BadComponent(str(e)) from None
    if name == "@target-uri":
        return view.target
    if name == "@authority":
        return _authority(scheme, authority)
    if name == "@scheme":
        return scheme.lower()
    if name == "@path":
        return path or "/"
    if name == "@query":
        return "?" + query
    if name == "@request-target":
        return (path or "/") + ("?" + query if has_query else "")
    if name == "@query-param":
        wanted = _string_param(item, "name")
        found: Optional[str] = None
        for pair in query.split("&"):
            if not pair:
                continue
            n, _, v = pair.partition("=")
            if _form_encode(_form_decode(n)) != wanted:
                continue
            if found is not None:
                raise _BadComponent("query parameter occurs more than once")
            found = _form_encode(_form_decode(v))
        if found is None:
            raise _BadComponent("query parameter not present")
        return found
    raise _BadComponent("unknown derived component")


def signature_base(message: Union[Message, "_View"], covered: Sequence[sf.Item], signature_params: str) -> str:
    """RFC 9421 2.5: one line per covered component, then @signature-params.
    Raises VerificationError bad_component when a component cannot be derived."""
    view = message if isinstance(message, _View) else _View(message)
    return _build_base(view, covered, _shown(covered), signature_params)[0]


def _shown(covered: Sequence[sf.Item]) -> List[str]:
    try:
        return [sf.serialize_item(i) for i in covered]
    except sf.SFError as e:
        raise _reject("malformed", str(e)) from None


def _build_base(view: _View, covered: Sequence[sf.Item], shown_ids: Sequence[str],
                signature_params: str) -> Tuple[str, Dict[str, str]]:
    """The base, and the value of each covered plain header field by name."""
    lines = []
    headers: Dict[str, str] = {}
    seen = set()
    for item, shown in zip(covered, shown_ids):
        try:
            if not sf.is_string(item.value):
                raise _BadComponent("not a string")
            if shown in seen:
                raise _BadComponent("covered more than once")
            seen.add(shown)
            name = str(item.value)
            if not name:
                raise _BadComponent("empty name")
            if name == "@signature-params":
                raise _BadComponent("cannot be covered")
            if name.lower() != name:
                raise _BadComponent("component names are lowercase")
            derived = name[0] == "@"
            for key in item.params:
                if key == "tr":
                    raise _BadComponent("trailers (tr) are not supported")
                known = key == "req" or ((key == "name" and name == "@query-param") if derived
                                         else key in ("sf", "key", "bs"))
                if not known:
                    raise _BadComponent(f"parameter {key} does not apply")
            target = view
            if _flag(item, "req"):
                if view.msg.is_request():
                    raise _BadComponent("req is for responses")
                if view.request is None:
                    raise _BadComponent("no request given for req")
                target = view.request
            value = _derived_value(target, item, name) if derived else _field_value(target, item, name)
        except _BadComponent as e:
            raise _reject("bad_component", f"component {shown}: {e}") from None
        if not derived and not item.params:
            headers[name] = value
        lines.append(f"{shown}: {value}\n")
    base = "".join(lines) + '"@signature-params": ' + signature_params
    if not base.isascii():
        raise _reject("bad_component", "signature base is not ASCII")
    return base, headers


def components_from(identifiers: Iterable[str]) -> List[sf.Item]:
    """`@method`, `content-type`, `@query-param;name="id"`, `example-dict;key="a"`
    (the name unquoted, parameters as RFC 9421 writes them) as component items."""
    parts = []
    for ident in identifiers:
        name, semi, rest = ident.partition(";")
        if not name or any(c in name for c in '"\\ '):
            raise ConfigurationError(f'invalid component name "{name}"')
        parts.append(f'"{name}"' + (semi + rest))
    return parse_components("(" + " ".join(parts) + ")")


def parse_components(inner_list: str) -> List[sf.Item]:
    """The covered components in the form Signature-Input writes them,
    `("@method" "@query-param";name="id")`. The signature's parameters
    follow the `)` only in Signature-Input; a components list has none of its
    own, so any there are refused (as the C++ core and the Node package do)."""
    try:
        il = sf.parse_inner_list(inner_list)
    except sf.SFError as e:
        raise ConfigurationError(f"invalid components: {e}") from None
    if il.params:
        raise ConfigurationError("covered components: no parameters after ')'")
    if any(not sf.is_string(i.value) for i in il.items):
        raise ConfigurationError("covered components must be strings")
    return il.items


# ---- Content-Digest -----------------------------------------------------------

class ContentDigest:
    """RFC 9530 sha-256 / sha-512 of content fed in any number of pieces."""

    def __init__(self, algorithms: Iterable[str] = ("sha-256", "sha-512")) -> None:
        algs = tuple(algorithms)
        if not algs or any(a not in _DIGESTS for a in algs):
            raise ConfigurationError("content digest: choose sha-256, sha-512 or both")
        self._h = {a: _DIGESTS[a]() for a in algs}
        self.size = 0

    @classmethod
    def for_field(cls, field_value: Optional[Union[str, bytes]]) -> "ContentDigest":
        """Hash only what the received Content-Digest can name: no member can
        be sha-512 unless the text holds "sha-512" (and likewise sha-256)."""
        text = as_bytes(field_value) if field_value is not None else b""
        algs = [a for a in _DIGESTS if a.encode() in text]
        return cls(algs or ("sha-256",))

    def update(self, chunk: bytes) -> None:
        for h in self._h.values():
            h.update(chunk)
        self.size += len(chunk)

    def field(self) -> str:
        """The Content-Digest field value for the content so far."""
        return sf.serialize_dictionary({a: sf.Item(h.digest()) for a, h in self._h.items()})

    def check(self, field_value: Optional[str]) -> None:
        """The core's check: every sha-256/sha-512 member computed here must
        match, at least one must be present; other members are ignored."""
        if field_value is None:
            raise _reject("missing_digest", "no Content-Digest field")
        try:
            d = sf.parse_dictionary(field_value)
        except sf.SFError as e:
            raise _reject("malformed", f"Content-Digest: {e}") from None
        matched = 0
        for key, member in d.items():
            h = self._h.get(key)
            if h is None:
                continue
            if not isinstance(member, sf.Item) or type(member.value) is not bytes:
                raise _reject("malformed", f"Content-Digest {key} is not a byte sequence")
            if not hmac.compare_digest(member.value, h.digest()):
                raise _reject("digest_mismatch", f"Content-Digest {key} does not match the content")
            matched += 1
        if not matched:
            raise _reject("missing_digest", "Content-Digest has no sha-256/sha-512 member")


# ---- the verifier -------------------------------------------------------------

@dataclass
class Verified:
    """A signature that verified. components: the covered identifiers as
    serialized (`"@method"`, `"@query-param";name="id"`); headers: the value
    of each covered header field (no parameters), by lowercase name, as it
    entered the signature base. Trust a header only through header()."""

    label: str
    keyid: str
    alg: str
    created: Optional[int]
    expires: Optional[int]
    nonce: Optional[str]
    tag: Optional[str]
    components: List[str]
    base: str
    headers: Dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> Optional[str]:
        """The header's value when the signature covers it, else None."""
        return self.headers.get(name.lower())

    @property
    def consumer(self) -> Dict[str, Optional[str]]:
        """The gateway's consumer: id, username, credential from X-Consumer-ID,
        X-Consumer-Username, X-Credential-Identifier, each None unless the
        signature covers it (no consumer: all None)."""
        return {k: self.headers.get(h) for k, h in (("id", "x-consumer-id"), ("username", "x-consumer-username"),
                                                    ("credential", "x-credential-identifier"))}


Content = Union[bytes, ContentDigest, None]


class SignatureVerifier:
    """Verify RFC 9421 signatures the gateway adds.

    keys: SignatureKey objects (make_signature_key / signature_keys_from_jwks),
    or add_key / add_jwks, or jwks_url (asymmetric keys fetched, cached and
    refreshed on an unknown keyid, rate-limited).
    label: the signature to verify (None: the only one present).
    leeway: seconds allowed on created/expires (and max_age).
    max_age: refuse signatures created longer ago (<= 0: unlimited).
    require_created / require_expires: refuse signatures without them.
    required_components: identifiers the signature must cover (default: the
    four the gateway always covers).
    tag: the tag parameter the signature must carry (None: not checked).
    check_digest: the body must match a sha-256/sha-512 Content-Digest member.
    replay_store: InMemoryReplayStore / RedisReplayStore: a nonce is refused
    (`replayed`) while its signature could still be accepted.
    """

    format = FORMAT

    def __init__(self, keys: Iterable[SignatureKey] = (), *, label: Optional[str] = None, leeway: int = 5,
                 max_age: int = 0, require_created: bool = True, require_expires: bool = True,
                 required_components: Sequence[str] = GATEWAY_COMPONENTS, tag: Optional[str] = None,
                 check_digest: bool = True, replay_store: Optional[ReplayStore] = None,
                 jwks_url: Optional[str] = None, jwks: Optional[JwksSource] = None) -> None:
        if leeway < 0:
            raise ConfigurationError("leeway must not be negative")
        if label is not None and not sf.is_key(label):
            raise ConfigurationError(f'label "{label}" is not a structured-field key')
        self._keys: Dict[str, SignatureKey] = {}
        for k in keys:
            self._add(k)
        self.label = label
        self.leeway = int(leeway)
        self.max_age = int(max_age)
        self.require_created = require_created
        self.require_expires = require_expires
        # Compared as serialized identifiers, as the core compares them.
        self.required_components = [sf.serialize_item(i) for i in components_from(required_components)]
        self.tag = tag
        self.check_digest = check_digest
        self.replay_store = replay_store
        self.jwks = jwks or (JwksSource(jwks_url) if jwks_url else None)
        self._remote: Tuple[List[Any], Dict[str, SignatureKey]] = ([], {})

    # ---- keys (start-up) -------------------------------------------------------
    def _add(self, key: SignatureKey) -> None:
        if key.keyid in self._keys:
            raise ConfigurationError("a key without keyid is already registered" if not key.keyid
                                     else f"keyid {key.keyid!r} is already registered")
        self._keys[key.keyid] = key

    def add_key(self, alg: str, material: Any, keyid: str = "") -> "SignatureVerifier":
        self._add(make_signature_key(alg, material, keyid))
        return self

    def add_jwks(self, jwks: Union[str, bytes, Mapping[str, Any]]) -> "SignatureVerifier":
        for k in signature_keys_from_jwks(jwks):
            self._add(k)
        return self

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **kw: Any) -> "SignatureVerifier":
        """UPSTREAM_JWT_ALG (the gateway's algorithm, HS256 by default, or an
        RFC 9421 name), UPSTREAM_JWT_SECRET or UPSTREAM_JWT_PUBLIC_KEY (PEM)
        or UPSTREAM_JWT_JWKS_URL, UPSTREAM_JWT_KEY_ID (the gateway's key_id;
        unset: signatures without keyid), UPSTREAM_JWT_SIGNATURE_LABEL,
        UPSTREAM_JWT_SIGNATURE_TAG, UPSTREAM_JWT_LEEWAY (5),
        UPSTREAM_JWT_MAX_AGE (0), UPSTREAM_JWT_REQUIRED_COMPONENTS
        (comma-separated, or an RFC 9421 inner list; default the four the
        gateway always covers), UPSTREAM_JWT_REDIS_URL (nonce store shared by
        replicas). Empty means unset; a malformed value is a
        ConfigurationError. The same variables as the Node package's
        HttpSigVerifier.fromEnv. Keyword arguments override."""
        from . import _env

        env = os.environ if environ is None else environ
        _env.check_renamed(env)
        opts: Dict[str, Any] = {
            "label": _env.text(env, "UPSTREAM_JWT_SIGNATURE_LABEL"),
            "tag": _env.text(env, "UPSTREAM_JWT_SIGNATURE_TAG"),
            "leeway": _env.integer(env, "UPSTREAM_JWT_LEEWAY", 5),
            "max_age": _env.integer(env, "UPSTREAM_JWT_MAX_AGE", 0),
            "jwks_url": _env.text(env, "UPSTREAM_JWT_JWKS_URL"),
        }
        required = _env.components(env, "UPSTREAM_JWT_REQUIRED_COMPONENTS")
        if required is not None:
            opts["required_components"] = required
        if env.get("UPSTREAM_JWT_REDIS_URL"):
            from .replay import NONCE_PREFIX, RedisReplayStore

            opts["replay_store"] = RedisReplayStore.from_url(env["UPSTREAM_JWT_REDIS_URL"], prefix=NONCE_PREFIX)
        opts.update(kw)
        v = cls(**opts)
        alg = env.get("UPSTREAM_JWT_ALG") or "HS256"
        keyid = env.get("UPSTREAM_JWT_KEY_ID", "")
        for name in ("UPSTREAM_JWT_SECRET", "UPSTREAM_JWT_PUBLIC_KEY"):
            if env.get(name):
                v.add_key(alg, env[name].encode("utf-8"), keyid)
        if not v._keys and v.jwks is None:
            raise ConfigurationError("no key: set UPSTREAM_JWT_SECRET, UPSTREAM_JWT_PUBLIC_KEY or UPSTREAM_JWT_JWKS_URL")
        return v

    def _remote_keys(self) -> Dict[str, SignatureKey]:
        assert self.jwks is not None
        fetched = self.jwks.keys()
        cached, mapping = self._remote
        # The cache holds the fetched objects, so identity means "same set".
        if len(cached) != len(fetched) or any(a is not b for a, b in zip(cached, fetched)):
            mapping = {}
            for k in fetched:
                if k.alg in FROM_JWS and (k.kid or "") not in mapping:
                    try:
                        mapping[k.kid or ""] = _from_verification_key(k)
                    except ConfigurationError:
                        continue
            self._remote = (fetched, mapping)
        return mapping

    def _select(self, keyid: str) -> Optional[SignatureKey]:
        key = self._keys.get(keyid)
        if key is not None or self.jwks is None:
            return key
        key = self._remote_keys().get(keyid)
        if key is None:
            # Look again even when the rate limit refuses a fetch: a
            # concurrent request may just have fetched the rotated set.
            self.jwks.refresh_for_unknown_kid()
            key = self._remote_keys().get(keyid)
        return key

    # ---- per request -----------------------------------------------------------
    def verify(self, message: Message, *, content: Content = None, now: Optional[int] = None) -> Verified:
        """The verified signature, or VerificationError with the core's reason.
        content: the body (bytes), or a ContentDigest fed with it while it was
        streamed; required when check_digest is on."""
        if self.check_digest and content is None:
            raise ConfigurationError("verify() needs the content when check_digest is on")
        now = int(time.time()) if now is None or now == 0 else int(now)
        view = _View(message)

        input_text, sig_text = view.combined("signature-input"), view.combined("signature")
        if input_text is None or sig_text is None:
            raise _reject("missing_signature", "no Signature-Input or no Signature field")
        try:
            inputs = sf.parse_dictionary(input_text, refuse_repeated_parameters=True)
        except sf.SFError as e:
            raise _reject("malformed", f"Signature-Input: {e}") from None
        try:
            sigs = sf.parse_dictionary(sig_text)
        except sf.SFError as e:
            raise _reject("malformed", f"Signature: {e}") from None

        if self.label is not None:
            label = self.label
        elif len(inputs) == 1:
            label = next(iter(inputs))
        elif not inputs:
            raise _reject("missing_signature", "Signature-Input is empty")
        else:
            raise _reject("ambiguous", "several signatures and no label chosen")
        spec, sig_m = inputs.get(label), sigs.get(label)
        if spec is None or sig_m is None:
            raise _reject("missing_signature", f'no signature labelled "{label}"')
        if not isinstance(spec, sf.InnerList):
            raise _reject("malformed", "Signature-Input member is not an inner list")
        if any(not sf.is_string(i.value) for i in spec.items):
            raise _reject("malformed", "a covered component is not a string")
        if not isinstance(sig_m, sf.Item) or type(sig_m.value) is not bytes:
            raise _reject("malformed", "Signature member is not a byte sequence")

        created = expires = None
        keyid, alg_param, nonce, tag = None, None, None, None
        for key, v in spec.params.items():
            if key in ("created", "expires"):
                if not sf.is_integer(v):
                    raise _reject("malformed", f"signature parameter {key} has the wrong type")
                if key == "created":
                    created = int(v)  # type: ignore[arg-type]
                else:
                    expires = int(v)  # type: ignore[arg-type]
            elif key in ("keyid", "alg", "nonce", "tag"):
                if not sf.is_string(v):
                    raise _reject("malformed", f"signature parameter {key} has the wrong type")
                if key == "keyid":
                    keyid = str(v)
                elif key == "alg":
                    alg_param = str(v)
                elif key == "nonce":
                    nonce = str(v)
                else:
                    tag = str(v)

        # keyid="" is a keyid, not the absence of one: it must not select the
        # key registered without a keyid, and no key can be registered under "".
        if keyid == "":
            raise _reject("unknown_key", "keyid is empty (no key has the empty keyid)")
        keyid = keyid or ""
        key_entry = self._select(keyid)
        if key_entry is None:
            raise _reject("unknown_key", f'no key with keyid "{keyid}"' if keyid
                          else "no key for signatures without keyid")
        if alg_param is not None and alg_param != key_entry.alg:
            raise _reject("alg_mismatch", f'alg "{alg_param}" but the key is for {key_entry.alg}')

        components = _shown(spec.items)
        for r in self.required_components:
            if r not in components:
                raise _reject("missing_component", f"component {r} is not covered")
        if self.tag is not None and tag != self.tag:
            raise _reject("tag_mismatch", f'tag is not "{self.tag}"')

        leeway = self.leeway
        if created is None and (self.require_created or self.max_age > 0):
            raise _reject("missing_parameter", "created is required")
        if expires is None and self.require_expires:
            raise _reject("missing_parameter", "expires is required")
        if created is not None and created > now + leeway:
            raise _reject("created_in_future", "created is in the future")
        if created is not None and self.max_age > 0 and now - created > self.max_age + leeway:
            raise _reject("too_old", f"created is more than {self.max_age} s ago")
        if expires is not None and now > expires + leeway:
            raise _reject("expired", "signature expired")

        params_text = "(" + " ".join(components) + ")" + sf.serialize_params(spec.params)
        base, covered = _build_base(view, spec.items, components, params_text)
        if not key_entry.verify(base.encode("ascii"), sig_m.value):
            raise _reject("bad_signature", "signature does not verify")

        if self.check_digest:
            digest = content if isinstance(content, ContentDigest) else _digest_of(content)  # type: ignore[arg-type]
            lines = [v.strip(" \t") for n, v in view.fields if n == "content-digest"]
            digest.check(", ".join(lines) if lines else None)

        if self.replay_store is not None:
            self._check_replay(keyid, nonce, created, expires, now)

        return Verified(label, keyid, key_entry.alg, created, expires, nonce, tag, components, base, covered)

    def _check_replay(self, keyid: str, nonce: Optional[str], created: Optional[int],
                      expires: Optional[int], now: int) -> None:
        assert self.replay_store is not None
        if nonce is None:
            raise _reject("missing_parameter", "nonce is required for the replay check")
        # Remember the nonce for as long as the signature could be accepted.
        if expires is not None:
            until = expires + self.leeway
        elif created is not None and self.max_age > 0:
            until = created + self.max_age + self.leeway
        else:
            raise _reject("missing_parameter", "expires (or created with max_age) is required for the replay check")
        # The nonce alone, without the keyid: it is 128 random bits from the
        # gateway, unique whichever key signed, and the keyid is signed too, so
        # a replay cannot move it to another key. The Node package spends the
        # same key, so replicas in both languages refuse each other's nonces.
        # A signature is accepted through second `until`: remember it past that.
        self.replay_store.check_and_insert(nonce, until + 1, now)


def _digest_of(body: bytes) -> ContentDigest:
    d = ContentDigest()
    d.update(body)
    return d


__all__ = [
    "ALGORITHMS", "FORMAT", "FROM_JWS", "GATEWAY_COMPONENTS", "REASONS", "ContentDigest", "Message",
    "SignatureKey", "SignatureVerifier", "Verified", "algorithm_name", "components_from",
    "make_signature_key", "signature_base", "signature_keys_from_jwks",
]
