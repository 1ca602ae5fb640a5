"""Verify Kong upstream-jwt tokens in Python services.

    from upstream_jwt_verify import Verifier
    verifier = Verifier.from_env(audience="orders")     # UPSTREAM_JWT_SECRET etc.
    app.wsgi_app = WSGIMiddleware(app.wsgi_app, verifier)   # or ASGIMiddleware, Flask/Starlette helpers

RFC 9421 HTTP Message Signatures (the plugin's format http-message-signature):
    verifier = SignatureVerifier.from_env()   # or Verifier.from_env(format="http-message-signature")
"""

from .errors import CORE_REASONS, ConfigurationError, VerificationError
from .httpsig import ContentDigest, Message, SignatureKey, SignatureVerifier, Verified, make_signature_key
from .jwks import JwksResponse, JwksSource
from .keys import ALGORITHMS, KeySet, VerificationKey, keys_from_jwks, make_key
from .replay import JTI_PREFIX, NONCE_PREFIX, InMemoryReplayStore, RedisReplayStore, ReplayStore
from .request import BodyHasher, Request, body_sha256, canonical_headers, headers_sha256
from .verifier import BINDINGS, Claims, Verifier

__all__ = [
    "ALGORITHMS", "BINDINGS", "BodyHasher", "CORE_REASONS", "Claims", "ConfigurationError", "ContentDigest",
    "InMemoryReplayStore", "JTI_PREFIX", "JwksResponse", "JwksSource", "KeySet", "Message", "NONCE_PREFIX", "RedisReplayStore", "ReplayStore", "Request",
    "SignatureKey", "SignatureVerifier", "VerificationError", "VerificationKey", "Verified", "Verifier",
    "body_sha256", "canonical_headers", "headers_sha256", "keys_from_jwks", "make_key", "make_signature_key",
]
__version__ = "0.1.0"
