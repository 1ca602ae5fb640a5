"""The three example services (Python/Flask, Node/Express, nginx-lua), tokens
minted by the core (`upstream-jwt sign`, as the gateway does):

- the quick start: `dev/gateway up examples/kong.yml` (which sets key_id) in
  front of each service started with nothing but $UPSTREAM_JWT_SECRET;
- the token found behind more than 100 headers;
- `//x` and raw non-ASCII request paths, as received.

    UPSTREAM_JWT_LIB=build/libupstream_jwt.so python3 -m unittest discover -s examples -p 'test_*.py'
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "packages", "python", "tests"))
from support import free_port, raw_request, wait_port  # noqa: E402
CLI = os.path.join(REPO, "build", "upstream-jwt")
SECRET = "quick-start-secret-0123456789abcdef"  # >= 32 bytes, as kong.yml's HS256 needs
SERVICES = {
    "python": ["/usr/bin/python3", "examples/python/verify_service.py"],
    "node": ["node", "examples/node/verify-service.mjs"],
    "lua": ["examples/nginx-lua/run"],
}


def raw(port, method, target: bytes, headers=()):
    status, body = raw_request(port, method, target, headers)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


class Examples(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.secret_file = os.path.join(cls.tmp.name, "secret")
        with open(cls.secret_file, "w") as f:
            f.write(SECRET)
        cls.empty = os.path.join(cls.tmp.name, "empty")
        open(cls.empty, "wb").close()
        cls.procs, cls.ports = [], {}
        env = dict(os.environ, UPSTREAM_JWT_SECRET=SECRET)
        env.setdefault("UPSTREAM_JWT_LIB", os.path.join(REPO, "build", "libupstream_jwt.so"))
        for name, cmd in SERVICES.items():
            port = free_port()
            # The key from the environment only: no --key, as in the quick start.
            p = subprocess.Popen(cmd + ["--audience", "orders", "--port", str(port), "--quiet"], cwd=REPO, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cls.procs.append(p)
            cls.ports[name] = port
        for port in cls.ports.values():
            wait_port(port, 20)

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            p.terminate()
        for p in cls.procs:
            p.wait(10)
        cls.tmp.cleanup()

    def sign(self, path, method="GET", query=""):
        out = subprocess.run([CLI, "sign", "--alg", "HS256", "--key", self.secret_file, "--kid", "demo-1",
                              "--aud", "orders", "--method", method, "--path=" + path, "--query=" + query,
                              "--body", self.empty], capture_output=True, check=True)
        return out.stdout.decode().strip()

    def test_kid_from_the_gateway_verifies_with_the_key_from_the_environment(self):
        for name, port in self.ports.items():
            with self.subTest(name):
                status, body = raw(port, "GET", b"/orders/42", [("X-Upstream-JWT", self.sign("/orders/42"))])
                self.assertEqual((status, body.get("htu")), (200, "/orders/42"))

    def test_token_behind_150_headers(self):
        # http.server (under the Python example's werkzeug dev server) refuses
        # more than 100 header lines with 431 before any app code runs.
        filler = [(f"X-Filler-{i}", "x") for i in range(150)]
        for name in ("node", "lua"):
            with self.subTest(name):
                status, body = raw(self.ports[name], "GET", b"/p", filler + [("X-Upstream-JWT", self.sign("/p"))])
                self.assertEqual(status, 200, body)

    def test_double_slash_path(self):
        for name, port in self.ports.items():
            with self.subTest(name):
                self.assertEqual(raw(port, "GET", b"//x", [("X-Upstream-JWT", self.sign("//x"))])[0], 200)
                self.assertEqual(raw(port, "GET", b"/x", [("X-Upstream-JWT", self.sign("//x"))]),
                                 (401, {"error": "path_mismatch"}))

    def test_raw_non_ascii_path(self):
        # Node's HTTP parser refuses raw non-ASCII request targets (400) itself.
        path = "/café/€"
        for name in ("python", "lua"):
            with self.subTest(name):
                status, body = raw(self.ports[name], "GET", path.encode(), [("X-Upstream-JWT", self.sign(path))])
                self.assertEqual(status, 200, body)

    def test_quick_start_through_the_gateway(self):
        with open(os.path.join(REPO, "examples", "kong.yml")) as f:
            kong = f.read()
        for name, port in self.ports.items():
            with self.subTest(name):
                cfg = os.path.join(self.tmp.name, f"kong-{name}.yml")
                with open(cfg, "w") as f:
                    f.write(kong.replace("http://127.0.0.1:9000", f"http://127.0.0.1:{port}"))
                gw_port = free_port()
                env = dict(os.environ, UPSTREAM_JWT_SECRET=SECRET)
                env.setdefault("UPSTREAM_JWT_LIB", os.path.join(REPO, "build", "libupstream_jwt.so"))
                gw = subprocess.Popen([os.path.join(REPO, "dev", "gateway"), "up", cfg, "--port", str(gw_port)],
                                      cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    wait_port(gw_port, 20)
                    status, body = raw(gw_port, "GET", b"/orders/42?status=open", [("apikey", "alice-demo-key")])
                    self.assertEqual(status, 200, body)
                    self.assertEqual((body["htu"], body["consumer"]["username"]), ("/42", "alice"))
                finally:
                    gw.terminate()
                    gw.wait(10)


if __name__ == "__main__":
    unittest.main()
