"""Test helpers: plugin-shaped tokens (PyJWT), free ports, servers in threads."""

import base64
import hashlib
import http.client
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid

import logging

import jwt

logging.getLogger("werkzeug").setLevel(logging.ERROR)
logging.getLogger("upstream_jwt_verify").setLevel(logging.ERROR)

SECRET = b"s" * 32
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def b64sha(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def claims_for(method="GET", path="/orders/42", query="", body=b"", now=None, ttl=60, **extra):
    now = int(time.time()) if now is None else now
    c = {"iss": "kong", "aud": "orders", "iat": now, "nbf": now, "exp": now + ttl,
         "jti": uuid.uuid4().hex, "sub": "alice-id", "consumer": {"id": "alice-id", "username": "alice"},
         "htm": method, "htu": path, "query_sha256": b64sha(query.encode("utf-8") if isinstance(query, str) else query),
         "body_sha256": b64sha(body)}
    c.update(extra)
    return c


def token(claims=None, key=SECRET, alg="HS256", kid=None, **kw):
    return jwt.encode(claims or claims_for(**kw), key, algorithm=alg, headers={"kid": kid} if kid else None)


_handed_out = set()


def free_port() -> int:
    """A loopback port nothing listens on, for a process that binds it later.
    The kernel may give a port it just handed out and saw released again, so
    two calls before either process binds could collide: never the same twice."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


# The timeout only bounds a hang: a process starting on a loaded machine may need many seconds.
def wait_port(port, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def raw_request(port, method, target: bytes, headers=(), body=b""):
    """Sends the request line exactly as given (raw bytes: non-ASCII, //x)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        head = method.encode() + b" " + target + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        for n, v in headers:
            head += (n.encode() if isinstance(n, str) else n) + b": " + (v.encode() if isinstance(v, str) else v) + b"\r\n"
        head += b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        try:
            s.sendall(head + body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early (413) and closed: read that answer
        resp = http.client.HTTPResponse(s)
        resp.begin()
        return resp.status, resp.read()
    finally:
        s.close()


class ServerThread:
    """A werkzeug WSGI server or a uvicorn ASGI server on a free port."""

    def __init__(self, app, kind="wsgi"):
        # Both servers listen on a socket bound here to port 0, so no other
        # process can take the port between choosing it and listening on it.
        if kind == "wsgi":
            from werkzeug.serving import make_server

            from upstream_jwt_verify.flask import raw_target_request_handler

            self.server = make_server("127.0.0.1", 0, app, threaded=True,
                                      request_handler=raw_target_request_handler())
            self.port = self.server.socket.getsockname()[1]
            self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
            self.stop = self.server.shutdown
        else:
            import uvicorn

            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
            cfg = uvicorn.Config(app, log_level="error", lifespan="off")
            self.server = uvicorn.Server(cfg)
            self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

            def stop():
                self.server.should_exit = True
                self.thread.join(5)
                sock.close()

            self.stop = stop
        self.thread.start()
        wait_port(self.port)


class RedisServer:
    """Debian's redis-server on a free loopback port, no persistence."""

    def __init__(self):
        exe = shutil.which("redis-server")
        if not exe:
            raise RuntimeError("redis-server is not installed (make deps)")
        self.port = free_port()
        self.proc = subprocess.Popen([exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)


def reason(fn):
    """The VerificationError reason fn() raises, or "valid"."""
    from upstream_jwt_verify import VerificationError

    try:
        fn()
    except VerificationError as e:
        return e.reason
    return "valid"
