"""Flask: `UpstreamJWT(app, verifier)` verifies every request; views read the
claims with `upstream_claims()`."""

from __future__ import annotations

from typing import Any, Dict

from ._http import CLAIMS_KEY
from .verifier import Verifier
from .wsgi import WSGIMiddleware


class UpstreamJWT:
    def __init__(self, app: Any = None, verifier: Verifier = None, **options: Any) -> None:  # type: ignore[assignment]
        self.verifier = verifier
        self.options = options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Any) -> None:
        verifier = self.verifier or Verifier.from_env()
        app.wsgi_app = WSGIMiddleware(app.wsgi_app, verifier, **self.options)


def upstream_claims() -> Dict[str, Any]:
    """The verified claims of the current request."""
    from flask import request

    return request.environ[CLAIMS_KEY]
