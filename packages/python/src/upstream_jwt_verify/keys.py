"""Verification keys: one algorithm pinned per key, selected by kid exactly
as the C++ core selects them."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Union

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from jwt.algorithms import get_default_algorithms

from .errors import ConfigurationError, VerificationError

ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "PS256", "ES256", "EdDSA")
_HMAC_MIN = {"HS256": 32, "HS384": 48, "HS512": 64}
_HMAC_DIGEST = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}
_PYJWT = get_default_algorithms()

KeyMaterial = Union[bytes, str, Mapping[str, Any]]


def is_hmac(alg: str) -> bool:
    return alg.startswith("HS")


@dataclass(frozen=True)
class VerificationKey:
    alg: str
    kid: Optional[str]
    key: Any  # PyJWT-prepared key: bytes for HS*, a cryptography public key otherwise

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        digest = _HMAC_DIGEST.get(self.alg)
        if digest is not None:
            # One-shot HMAC in OpenSSL, compared in constant time.
            return hmac.compare_digest(hmac.digest(self.key, signing_input, digest), signature)
        if self.alg == "PS256":
            # RFC 7518 signs with a salt as long as the hash; the core verifies
            # any salt length (OpenSSL AUTO), and so does this.
            try:
                self.key.verify(signature, signing_input,
                                padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                            salt_length=padding.PSS.AUTO),
                                hashes.SHA256())
                return True
            except InvalidSignature:
                return False
        # PyJWT wants ES256 as 64 raw bytes.
        return bool(_PYJWT[self.alg].verify(signing_input, self.key, signature))


def _public(key: Any) -> Any:
    # Private keys have public_key(); public keys do not.
    half = getattr(key, "public_key", None)
    return half() if callable(half) else key


def _check_strength(alg: str, key: Any) -> None:
    if is_hmac(alg):
        if len(key) < _HMAC_MIN[alg]:
            raise ConfigurationError(f"{alg} secret must be at least {_HMAC_MIN[alg]} bytes")
        return
    ok = {
        "RS256": lambda k: isinstance(k, rsa.RSAPublicKey),
        "PS256": lambda k: isinstance(k, rsa.RSAPublicKey),
        "ES256": lambda k: isinstance(k, ec.EllipticCurvePublicKey) and k.curve.name == "secp256r1",
        "EdDSA": lambda k: isinstance(k, ed25519.Ed25519PublicKey),
    }[alg](key)
    if not ok:
        raise ConfigurationError(f"key type does not match {alg}")
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        raise ConfigurationError("RSA keys must have at least 2048 bits")


def make_key(alg: str, material: KeyMaterial, kid: Optional[str] = None) -> VerificationKey:
    """HS*: the secret's exact bytes (str is UTF-8 encoded); otherwise a PEM public
    or private key (its public half is used), or a JWK as a mapping."""
    if alg not in ALGORITHMS:
        raise ConfigurationError(f"unsupported algorithm {alg!r}")
    impl = _PYJWT.get(alg)
    if impl is None:
        raise ConfigurationError(f"{alg} needs python3-cryptography")
    try:
        if isinstance(material, Mapping):
            key = impl.from_jwk(json.dumps(dict(material)))
        else:
            raw = material.encode("utf-8") if isinstance(material, str) else bytes(material)
            key = raw if is_hmac(alg) else impl.prepare_key(raw)
    except ConfigurationError:
        raise
    except Exception as e:  # PyJWT/cryptography raise many types for bad keys
        raise ConfigurationError(f"unusable {alg} key: {type(e).__name__}") from None
    if not is_hmac(alg):
        key = _public(key)
    _check_strength(alg, key)
    return VerificationKey(alg, kid, key)


def keys_from_jwks(jwks: Union[str, bytes, Mapping[str, Any]], alg: Optional[str] = None,
                   *, skip_unusable: bool = False) -> List[VerificationKey]:
    """Keys of a JWK or a JWKS {"keys": [...]}. Each needs "alg" (or `alg`).
    With skip_unusable (remote key sets that also publish encryption keys or
    algorithms this verifier does not take), such keys are left out instead of
    failing the whole set."""
    doc = json.loads(jwks) if isinstance(jwks, (str, bytes)) else jwks
    if not isinstance(doc, Mapping):
        raise ConfigurationError("JWKS is not a JSON object")
    items = doc.get("keys") if "keys" in doc else [doc]
    if not isinstance(items, list):
        raise ConfigurationError("JWKS keys is not an array")
    out: List[VerificationKey] = []
    for jwk in items:
        try:
            if not isinstance(jwk, Mapping):
                raise ConfigurationError("a JWK is not an object")
            use = jwk.get("use", "sig")
            if use != "sig":
                raise ConfigurationError('"use" is not "sig"')
            a = jwk.get("alg", alg)
            if a is None:
                raise ConfigurationError("JWK has no alg")
            if alg is not None and a != alg:
                raise ConfigurationError(f"JWK alg {a} is not {alg}")
            kid = jwk.get("kid")
            if kid is not None and not isinstance(kid, str):
                raise ConfigurationError('"kid" is not a string')
            out.append(make_key(a, jwk, kid))
        except ConfigurationError:
            if not skip_unusable:
                raise
    return out


class KeySet:
    """Keys by kid; the same selection rules as the core's Verifier."""

    def __init__(self, keys: Iterable[VerificationKey] = ()) -> None:
        self._keys: List[VerificationKey] = []
        self.extend(keys)

    def __len__(self) -> int:
        return len(self._keys)

    def extend(self, keys: Iterable[VerificationKey]) -> None:
        fresh = list(keys)
        kids = [k.kid for k in self._keys if k.kid is not None]
        for k in fresh:
            if k.kid is not None:
                if k.kid in kids:
                    raise ConfigurationError(f"kid {k.kid!r} is already registered")
                kids.append(k.kid)
        self._keys.extend(fresh)

    def has_kid(self, kid: str) -> bool:
        return any(k.kid == kid for k in self._keys)

    def select(self, alg: str, kid: Optional[str]) -> Sequence[VerificationKey]:
        if kid is not None:
            for k in self._keys:
                if k.kid != kid:
                    continue
                if k.alg == alg:
                    return [k]
                if is_hmac(k.alg) != is_hmac(alg):
                    raise VerificationError("key_confusion", f"key {kid!r} is {k.alg}; a {alg} token cannot use it")
                raise VerificationError("alg_not_allowed", f"key {kid!r} is for {k.alg}, not {alg}")
            # A kid-less key accepts any kid: one key verifies a gateway that sets key_id.
            out = [k for k in self._keys if k.kid is None and k.alg == alg]
            if not out:
                raise VerificationError("unknown_kid", f"no key has kid {kid!r}")
            return out
        out = [k for k in self._keys if k.alg == alg]
        if out:
            return out
        if self._keys and not any(is_hmac(k.alg) == is_hmac(alg) for k in self._keys):
            raise VerificationError("key_confusion", f"a {alg} token against keys of the other kind only")
        raise VerificationError("alg_not_allowed", f"no key accepts algorithm {alg}")
