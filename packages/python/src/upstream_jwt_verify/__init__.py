"""Verify Kong upstream-jwt tokens in Python services.

    from upstream_jwt_verify import Verifier
    verifier = Verifier.from_env(audience="orders")     # UPSTREAM_JWT_SECRET etc.
    app.wsgi_app = WSGIMiddleware(app.wsgi_app, verifier)   # or ASGIMiddleware, Flask/Starlette helpers
"""

from .errors import CORE_REASONS, ConfigurationError, VerificationError
from .jwks import JwksSource
from .keys import ALGORITHMS, KeySet, VerificationKey, keys_from_jwks, make_key
from .replay import InMemoryReplayStore, RedisReplayStore, ReplayStore
from .request import BodyHasher, Request, body_sha256, canonical_headers, headers_sha256
from .verifier import BINDINGS, Claims, Verifier

__all__ = [
    "ALGORITHMS", "BINDINGS", "BodyHasher", "CORE_REASONS", "Claims", "ConfigurationError",
    "InMemoryReplayStore", "JwksSource", "KeySet", "RedisReplayStore", "ReplayStore", "Request",
    "VerificationError", "VerificationKey", "Verifier", "body_sha256", "canonical_headers",
    "headers_sha256", "keys_from_jwks", "make_key",
]
__version__ = "0.1.0"
