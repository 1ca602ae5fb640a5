"""Starlette and FastAPI: `install(app, verifier)` (or
`app.add_middleware(ASGIMiddleware, verifier=...)`); handlers read the claims
with `upstream_claims(request)`, or in FastAPI `claims: dict = Depends(upstream_claims)`."""

from __future__ import annotations

from typing import Any, Dict, Optional

from starlette.requests import Request

from ._http import CLAIMS_KEY
from .asgi import ASGIMiddleware
from .verifier import Verifier


def install(app: Any, verifier: Optional[Verifier] = None, **options: Any) -> None:
    app.add_middleware(ASGIMiddleware, verifier=verifier or Verifier.from_env(), **options)


def upstream_claims(request: Request) -> Dict[str, Any]:
    """Works as a FastAPI dependency: FastAPI passes the Request."""
    return request.scope[CLAIMS_KEY]
