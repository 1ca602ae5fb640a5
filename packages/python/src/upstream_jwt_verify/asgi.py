"""ASGI middleware (Starlette, FastAPI, any ASGI 3 app): verifies before the app
runs; the app then receives the same body (spooled while it was hashed) and
finds the claims in scope["upstream_jwt.claims"]."""

from __future__ import annotations

import asyncio
import tempfile
from typing import Any, Awaitable, Callable, Dict, Iterable, List, MutableMapping, Optional, Tuple, Union
from urllib.parse import quote

from ._http import (CLAIMS_KEY, DEFAULT_HEADER, DEFAULT_MAX_BODY, SIGNATURE_KEY, SPOOL_IN_MEMORY, error_reply,
                    log_rejection, target_uri, token_from, uncovered_consumer_headers)
from .errors import VerificationError
from .httpsig import ContentDigest, Message, SignatureVerifier
from .request import BodyHasher, Request, as_bytes
from .verifier import Verifier

Scope = MutableMapping[str, Any]
ASGIMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[ASGIMessage]]
Send = Callable[[ASGIMessage], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
REPLAY_CHUNK = 64 * 1024
_HTTP_SCHEME = {"ws": "http", "wss": "https"}


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
    WSGIMiddleware (a SignatureVerifier's result goes to
    scope["upstream_jwt.signature"]). verify() runs in a worker thread: a
    Redis replay store or a JWKS refresh does network I/O and must not stall
    the event loop. ASGI gives no way to tell "/p?" from "/p": with an
    empty query an RFC 9421 signature over either spelling is accepted."""

    def __init__(self, app: ASGIApp, verifier: Union[Verifier, SignatureVerifier], *,
                 header: str = DEFAULT_HEADER, max_body_size: int = DEFAULT_MAX_BODY,
                 exempt: Iterable[bytes] = (), on_reject: Optional[Callable[[VerificationError], None]] = None,
                 scheme: Optional[str] = None) -> None:
        self.app = app
        self.verifier = verifier
        self.http_signature = isinstance(verifier, SignatureVerifier)
        self.scheme = scheme
        self.header = header.lower().encode("latin-1")
        self.max_body_size = max_body_size
        self.exempt = frozenset(exempt)
        self.on_reject = on_reject

    async def _read_body(self, receive: Receive, spool: Any, hasher: Any) -> Optional[ASGIMessage]:
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return msg
            chunk = msg.get("body", b"")
            if chunk:
                hasher.update(chunk)
                if hasher.size > self.max_body_size:
                    raise VerificationError("body_too_large", "body exceeds max_body_size")
                spool.write(chunk)
            if not msg.get("more_body", False):
                spool.seek(0)
                return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":  # lifespan
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        path = raw_path(scope)
        if path in self.exempt:
            await self.app(scope, receive, send)
            return
        headers: List[Tuple[bytes, bytes]] = [(bytes(n), bytes(v)) for n, v in scope.get("headers", [])]
        qs = scope.get("query_string", b"")
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            try:
                if self.http_signature:
                    message = self._message(scope, method, path, qs, headers)
                    digest = ContentDigest.for_field(b", ".join(v for n, v in headers if n.lower() == b"content-digest"))
                    if await self._read_body(receive, spool, digest) is not None:
                        return  # the client went away; nothing to answer
                    key = SIGNATURE_KEY
                    result = await asyncio.get_running_loop().run_in_executor(
                        None, self._verify_signature, message, digest, qs)
                else:
                    token = token_from([v for n, v in headers if n.lower() == self.header])
                    hasher = BodyHasher()
                    if await self._read_body(receive, spool, hasher) is not None:
                        return
                    request = Request(method, path, bytes(qs) if qs else None, hasher.b64(), headers)
                    key = CLAIMS_KEY
                    result = await asyncio.get_running_loop().run_in_executor(
                        None, self.verifier.verify, token, request)
            except VerificationError as e:
                log_rejection(method, path, e)
                if self.on_reject is not None:
                    self.on_reject(e)
                status, hdrs, body = error_reply(e, self.http_signature)
                await send({"type": "http.response.start", "status": status,
                            "headers": [(k.lower().encode(), v.encode()) for k, v in hdrs]})
                await send({"type": "http.response.body", "body": body})
                return
            _store_result(scope, key, result)
            await self.app(scope, _replay(spool, receive), send)

    def _verify_signature(self, message: Message, digest: ContentDigest, qs: bytes) -> Any:
        verifier: SignatureVerifier = self.verifier  # type: ignore[assignment]
        try:
            return verifier.verify(message, content=digest)
        except VerificationError as e:
            # ASGI gives "/p?" and "/p" the same scope (an empty query_string),
            # while Kong forwards, and the gateway signs, the bare "?" a client
            # sent. Both name the same resource with the same (empty) query, so
            # the other spelling is tried before refusing.
            if e.reason != "bad_signature" or qs:
                raise
            alternative = Message(message.method, as_bytes(message.target_uri) + b"?", message.headers)
            try:
                return verifier.verify(alternative, content=digest)
            except VerificationError:
                raise e from None

    def _message(self, scope: Scope, method: str, path: bytes, qs: bytes,
                 headers: List[Tuple[bytes, bytes]]) -> Message:
        hosts = [v for n, v in headers if n.lower() == b"host"]
        host: Optional[bytes] = hosts[0] if len(hosts) == 1 else None
        if host is None and not hosts and scope.get("server"):
            server_host, port = scope["server"]
            host = f"{server_host}:{port}".encode("latin-1")
        # A WebSocket handshake is an http(s) request (the gateway signs it so):
        # ASGI names its scheme ws/wss.
        scheme = self.scheme or _HTTP_SCHEME.get(scope.get("scheme", "http"), scope.get("scheme", "http"))
        uri = target_uri(scheme, host, path, bytes(qs) if qs else None)
        return Message(method, uri, headers)


    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket handshake is a GET the gateway signed like any other (no
        body): verified the same way, refused (close before accept: 403) when
        it fails, so no route escapes the check."""
        path = raw_path(scope)
        if path in self.exempt:
            await self.app(scope, receive, send)
            return
        headers: List[Tuple[bytes, bytes]] = [(bytes(n), bytes(v)) for n, v in scope.get("headers", [])]
        qs = scope.get("query_string", b"")
        try:
            if self.http_signature:
                message = self._message(scope, "GET", path, qs, headers)
                digest = ContentDigest()
                key = SIGNATURE_KEY
                result = await asyncio.get_running_loop().run_in_executor(
                    None, self._verify_signature, message, digest, qs)
            else:
                token = token_from([v for n, v in headers if n.lower() == self.header])
                request = Request("GET", path, bytes(qs) if qs else None, BodyHasher().b64(), headers)
                key = CLAIMS_KEY
                result = await asyncio.get_running_loop().run_in_executor(None, self.verifier.verify, token, request)
        except VerificationError as e:
            log_rejection("GET", path, e)
            if self.on_reject is not None:
                self.on_reject(e)
            await send({"type": "websocket.close", "code": 1008})
            return
        _store_result(scope, key, result)
        await self.app(scope, receive, send)


def _store_result(scope: Scope, key: str, result: Any) -> None:
    scope[key] = result
    if key == SIGNATURE_KEY:
        drop = uncovered_consumer_headers(result)
        if drop:
            scope["headers"] = [(n, v) for n, v in scope.get("headers", []) if bytes(n).lower() not in drop]


def _replay(spool: Any, receive: Receive) -> Receive:
    done = False

    async def replayed() -> ASGIMessage:
        nonlocal done
        if done:
            return await receive()  # http.disconnect, when it comes
        chunk = spool.read(REPLAY_CHUNK)
        more = bool(chunk) and spool.tell() < _size(spool)
        done = not more
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
