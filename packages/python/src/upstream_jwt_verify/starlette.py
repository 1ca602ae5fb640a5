"""Starlette and FastAPI: `install(app, verifier)` (or
`app.add_middleware(ASGIMiddleware, verifier=...)`); handlers read the claims
with `upstream_claims(request)`, or in FastAPI `claims: dict = Depends(upstream_claims)`;
with format http-message-signature, `upstream_signature(request)` (or
`Depends(upstream_signature)`) gives the verified signature."""

from __future__ import annotations

from typing import Any, Dict, Optional, Union

from starlette.requests import Request

from ._http import CLAIMS_KEY, SIGNATURE_KEY
from .httpsig import SignatureVerifier, Verified
from .asgi import ASGIMiddleware
from .verifier import Verifier


def install(app: Any, verifier: Optional[Union[Verifier, SignatureVerifier]] = None, **options: Any) -> None:
    app.add_middleware(ASGIMiddleware, verifier=verifier or Verifier.from_env(), **options)


def upstream_claims(request: Request) -> Dict[str, Any]:
    """Works as a FastAPI dependency: FastAPI passes the Request."""
    return request.scope[CLAIMS_KEY]


def upstream_signature(request: Request) -> Verified:
    """The verified RFC 9421 signature (format http-message-signature)."""
    return request.scope[SIGNATURE_KEY]  # type: ignore[no-any-return]
