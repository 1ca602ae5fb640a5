"""Flask: `UpstreamJWT(app, verifier)` verifies every request; views read the
claims with `upstream_claims()` (JWT format) or the verified signature with
`upstream_signature()` (format http-message-signature)."""

from __future__ import annotations

from typing import Any, Dict, Optional, Union

from ._http import CLAIMS_KEY, SIGNATURE_KEY
from .httpsig import SignatureVerifier, Verified
from .verifier import Verifier
from .wsgi import WSGIMiddleware


class UpstreamJWT:
    def __init__(self, app: Any = None, verifier: Optional[Union[Verifier, SignatureVerifier]] = None,
                 **options: Any) -> None:
        self.verifier = verifier
        self.options = options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Any) -> None:
        # from_env: UPSTREAM_JWT_FORMAT picks the format.
        verifier = self.verifier or Verifier.from_env()
        app.wsgi_app = WSGIMiddleware(app.wsgi_app, verifier, **self.options)


def raw_target_request_handler() -> Any:
    """A werkzeug request handler that hands the middleware the request target
    and the header field lines (in order, repeats kept) exactly as received. Python's http.server, under werkzeug's dev server,
    rewrites a leading "//" to "/" before any WSGI code runs, so `//x` could
    never match its token. app.run(request_handler=raw_target_request_handler())
    or werkzeug.serving.make_server(..., request_handler=...)."""
    from werkzeug.serving import WSGIRequestHandler

    from .wsgi import _RAW_TARGET_KEY, RAW_HEADERS_KEY

    class RawTargetRequestHandler(WSGIRequestHandler):
        def make_environ(self) -> Dict[str, Any]:
            environ = super().make_environ()
            parts = self.raw_requestline.split(b" ")
            if len(parts) == 3:
                environ["RAW_URI"] = parts[1].decode("latin-1")
                environ[_RAW_TARGET_KEY] = True
            # http.server decodes header lines as latin-1: encoding back gives the bytes sent.
            environ[RAW_HEADERS_KEY] = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in self.headers.items()]
            return environ

    return RawTargetRequestHandler


def upstream_claims() -> Dict[str, Any]:
    """The verified claims of the current request."""
    from flask import request

    return request.environ[CLAIMS_KEY]


def upstream_signature() -> Verified:
    """The verified RFC 9421 signature of the current request: .keyid,
    .header(name) / .consumer (only headers the signature covers), .nonce ..."""
    from flask import request

    return request.environ[SIGNATURE_KEY]  # type: ignore[no-any-return]
