"""WSGI (Flask on werkzeug) and ASGI (Starlette and FastAPI on uvicorn)
middleware over real sockets: raw paths, bodies, reasons and statuses."""

import hashlib
import json
import unittest

from support import SECRET, ServerThread, b64sha, claims_for, raw_request, token

from upstream_jwt_verify import InMemoryReplayStore, Verifier

H = "X-Upstream-JWT"


def verifier(**kw):
    return Verifier(audience="orders", **kw).add_key("HS256", SECRET)


def flask_app(v, **opts):
    from flask import Flask, jsonify, request

    from upstream_jwt_verify.flask import UpstreamJWT, upstream_claims

    app = Flask("t")
    UpstreamJWT(app, v, **opts)

    @app.route("/", defaults={"p": ""}, methods=["GET", "POST"])
    @app.route("/<path:p>", methods=["GET", "POST"])
    def echo(p):
        body = request.get_data()
        return jsonify(sub=upstream_claims()["sub"], body_len=len(body), body_sha=hashlib.sha256(body).hexdigest())

    return app


def starlette_app(v, **opts):
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from upstream_jwt_verify.starlette import install, upstream_claims

    async def echo(request):
        body = await request.body()
        return JSONResponse({"sub": upstream_claims(request)["sub"], "body_len": len(body),
                             "body_sha": hashlib.sha256(body).hexdigest()})

    app = Starlette(routes=[Route("/{p:path}", echo, methods=["GET", "POST"])])
    install(app, v, **opts)
    return app


def fastapi_app(v, **opts):
    from fastapi import Depends, FastAPI, Request

    from upstream_jwt_verify.starlette import install, upstream_claims

    app = FastAPI()

    @app.api_route("/{p:path}", methods=["GET", "POST"])
    async def echo(request: Request, claims: dict = Depends(upstream_claims)):
        body = await request.body()
        return {"sub": claims["sub"], "body_len": len(body), "body_sha": hashlib.sha256(body).hexdigest()}

    install(app, v, **opts)
    return app


class Base:
    KIND = "wsgi"
    APP = staticmethod(flask_app)

    @classmethod
    def setUpClass(cls):
        cls.store = InMemoryReplayStore(1000)
        cls.srv = ServerThread(cls.APP(verifier(replay_store=cls.store), max_body_size=4 << 20), cls.KIND)
        cls.tiny = ServerThread(cls.APP(verifier(replay_store=InMemoryReplayStore(1)), exempt=[b"/healthz"]), cls.KIND)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.tiny.stop()

    def send(self, method, target: bytes, tok=None, body=b"", headers=(), srv=None):
        hs = list(headers) + ([(H, tok)] if tok is not None else [])
        status, data = raw_request((srv or self.srv).port, method, target, hs, body)
        return status, json.loads(data) if data else None

    def signed(self, method, target: bytes, body=b"", **kw):
        path, _, query = target.partition(b"?")
        return token(claims_for(method=method, path=path.decode("utf-8"), query=query, body=body, **kw))

    def ok(self, method, target, body=b""):
        status, out = self.send(method, target, self.signed(method, target, body), body)
        self.assertEqual((status, out.get("error")), (200, None), target)
        return out

    def test_get(self):
        self.assertEqual(self.ok("GET", b"/orders/42")["sub"], "alice-id")

    def test_non_ascii_raw_path(self):
        self.ok("GET", "/café/€".encode("utf-8"))

    def test_double_slash_path(self):
        self.ok("GET", b"//x")

    def test_percent_encoded_path_compared_raw(self):
        self.ok("GET", b"/files/a%2Fb%20c")
        tok = self.signed("GET", b"/files/a/b")
        self.assertEqual(self.send("GET", b"/files/a%2Fb", tok), (401, {"error": "path_mismatch"}))

    def test_query_raw_and_bare_question_mark(self):
        self.ok("GET", b"/q?a=1&b=%2F+x")
        tok = self.signed("GET", b"/q")
        self.assertEqual(self.send("GET", b"/q?", tok)[0], 200)

    def test_large_body_reaches_the_app_intact(self):
        body = bytes(range(256)) * (3 * 4096 + 7)  # 3 MiB + 1792 bytes, spooled to a file
        out = self.ok("POST", b"/upload", body)
        self.assertEqual((out["body_len"], out["body_sha"]), (len(body), hashlib.sha256(body).hexdigest()))

    def test_reasons(self):
        self.assertEqual(self.send("GET", b"/x"), (401, {"error": "missing_token"}))
        self.assertEqual(self.send("GET", b"/x", "Bearer " + self.signed("GET", b"/x"))[0], 200)
        expired = self.signed("GET", b"/x", now=1000)
        self.assertEqual(self.send("GET", b"/x", expired), (401, {"error": "expired"}))
        tok = self.signed("POST", b"/x", b"original")
        self.assertEqual(self.send("POST", b"/x", tok, b"tampered"), (401, {"error": "body_mismatch"}))
        self.assertEqual(self.send("POST", b"/x", self.signed("GET", b"/x")), (401, {"error": "method_mismatch"}))
        self.assertEqual(self.send("GET", b"/x", "a.b")[1], {"error": "malformed"})

    def test_two_token_headers_refused(self):
        tok = self.signed("GET", b"/x")
        status, _ = self.send("GET", b"/x", tok, headers=[(H, tok)])
        self.assertEqual(status, 401)

    def test_replay_refused(self):
        tok = self.signed("GET", b"/r")
        self.assertEqual(self.send("GET", b"/r", tok)[0], 200)
        self.assertEqual(self.send("GET", b"/r", tok), (401, {"error": "replayed"}))

    def test_body_over_limit_is_413(self):
        body = b"x" * ((4 << 20) + 1)
        self.assertEqual(self.send("POST", b"/big", self.signed("POST", b"/big", body), body),
                         (413, {"error": "body_too_large"}))

    def test_full_replay_cache_is_503_and_exempt_paths_skip(self):
        self.assertEqual(self.send("GET", b"/a", self.signed("GET", b"/a"), srv=self.tiny)[0], 200)
        self.assertEqual(self.send("GET", b"/b", self.signed("GET", b"/b"), srv=self.tiny),
                         (503, {"error": "replay_cache_full"}))
        status, _ = raw_request(self.tiny.port, "GET", b"/healthz")
        self.assertNotIn(status, (401, 503))


class FlaskWSGI(Base, unittest.TestCase):
    pass


class StarletteASGI(Base, unittest.TestCase):
    KIND = "asgi"
    APP = staticmethod(starlette_app)

    def test_non_ascii_raw_path(self):
        # uvicorn's h11 parser answers 400 to raw non-ASCII bytes in the request
        # line before any app runs; the middleware itself compares raw_path bytes.
        import asyncio

        from upstream_jwt_verify.asgi import ASGIMiddleware

        path = "/café/€".encode("utf-8")
        seen = {}

        async def app(scope, receive, send):
            seen["claims"] = scope["upstream_jwt.claims"]

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(msg):
            seen.setdefault("sent", []).append(msg)

        def run(tok):
            seen.clear()
            scope = {"type": "http", "method": "GET", "path": path.decode("utf-8"), "raw_path": path,
                     "query_string": b"", "headers": [(b"x-upstream-jwt", tok.encode())]}
            asyncio.run(ASGIMiddleware(app, verifier())(scope, receive, send))
            return seen

        self.assertIn("claims", run(self.signed("GET", path)))
        self.assertEqual(run(self.signed("GET", b"/caf%C3%A9/%E2%82%AC"))["sent"][0]["status"], 401)
        self.ok("GET", b"/caf%C3%A9/%E2%82%AC")


class FastAPIASGI(StarletteASGI):
    APP = staticmethod(fastapi_app)


if __name__ == "__main__":
    unittest.main()
