"""ASGI middleware (Starlette, FastAPI, any ASGI 3 app): verifies before the app
runs; the app then receives the same body (spooled while it was hashed) and
finds the claims in scope["upstream_jwt.claims"]."""

from __future__ import annotations

import asyncio
import tempfile
from typing import Any, Awaitable, Callable, Dict, Iterable, List, MutableMapping, Optional, Tuple
from urllib.parse import quote

from ._http import (CLAIMS_KEY, DEFAULT_HEADER, DEFAULT_MAX_BODY, SPOOL_IN_MEMORY, error_reply,
                    log_rejection, token_from)
from .errors import VerificationError
from .request import BodyHasher, Request
from .verifier import Verifier

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
REPLAY_CHUNK = 64 * 1024


def raw_path(scope: Scope) -> bytes:
    """The path as received. uvicorn and hypercorn give raw_path; without it the
    decoded path is re-encoded, which can differ from what was sent (the request
    then fails closed with path_mismatch)."""
    rp = scope.get("raw_path")
    if rp:
        return bytes(rp).partition(b"?")[0]
    return quote(scope.get("root_path", "") + scope["path"], safe="/:@!$&'()*+,;=-._~").encode("ascii")


class ASGIMiddleware:
    """app = ASGIMiddleware(app, verifier=verifier), or with Starlette/FastAPI
    app.add_middleware(ASGIMiddleware, verifier=verifier). Options as
    WSGIMiddleware. verify() runs in a worker thread: a Redis replay store or a
    JWKS refresh does network I/O and must not stall the event loop."""

    def __init__(self, app: ASGIApp, verifier: Verifier, *, header: str = DEFAULT_HEADER,
                 max_body_size: int = DEFAULT_MAX_BODY, exempt: Iterable[bytes] = (),
                 on_reject: Optional[Callable[[VerificationError], None]] = None) -> None:
        self.app = app
        self.verifier = verifier
        self.header = header.lower().encode("latin-1")
        self.max_body_size = max_body_size
        self.exempt = frozenset(exempt)
        self.on_reject = on_reject

    async def _read_body(self, receive: Receive) -> Tuple[Any, BodyHasher, Optional[Message]]:
        hasher = BodyHasher()
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return spool, hasher, msg
            chunk = msg.get("body", b"")
            if chunk:
                hasher.update(chunk)
                if hasher.size > self.max_body_size:
                    raise VerificationError("body_too_large", "body exceeds max_body_size")
                spool.write(chunk)
            if not msg.get("more_body", False):
                spool.seek(0)
                return spool, hasher, None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        path = raw_path(scope)
        if path in self.exempt:
            await self.app(scope, receive, send)
            return
        headers: List[Tuple[bytes, bytes]] = [(bytes(n), bytes(v)) for n, v in scope.get("headers", [])]
        qs = scope.get("query_string", b"")
        try:
            token = token_from([v for n, v in headers if n.lower() == self.header])
            spool, hasher, disconnect = await self._read_body(receive)
            if disconnect is not None:
                return  # the client went away; nothing to answer
            request = Request(method, path, bytes(qs) if qs else None, hasher.b64(), headers)
            claims = await asyncio.get_running_loop().run_in_executor(None, self.verifier.verify, token, request)
        except VerificationError as e:
            log_rejection(method, path, e)
            if self.on_reject is not None:
                self.on_reject(e)
            status, hdrs, body = error_reply(e)
            await send({"type": "http.response.start", "status": status,
                        "headers": [(k.lower().encode(), v.encode()) for k, v in hdrs]})
            await send({"type": "http.response.body", "body": body})
            return
        scope[CLAIMS_KEY] = claims
        await self.app(scope, _replay(spool, receive), send)


def _replay(spool: Any, receive: Receive) -> Receive:
    done = False

    async def replayed() -> Message:
        nonlocal done
        if done:
            return await receive()  # http.disconnect, when it comes
        chunk = spool.read(REPLAY_CHUNK)
        more = bool(chunk) and spool.tell() < _size(spool)
        if not more:
            done = True
            spool.close()
        return {"type": "http.request", "body": chunk, "more_body": more}

    return replayed


def _size(spool: Any) -> int:
    pos = spool.tell()
    spool.seek(0, 2)
    end = spool.tell()
    spool.seek(pos)
    return end


def claims_of(scope: Dict[str, Any]) -> Dict[str, Any]:
    return scope[CLAIMS_KEY]
