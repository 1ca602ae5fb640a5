"""The three example services (Python/Flask, Node/Express, nginx-lua), tokens
minted by the core (`upstream-jwt sign`, as the gateway does):

- the quick start: `dev/gateway up examples/kong.yml` (which sets key_id) in
  front of each service started with nothing but $UPSTREAM_JWT_SECRET;
- the token found behind more than 100 headers;
- `//x` and raw non-ASCII request paths, as received;
- format http-message-signature: `dev/gateway up examples/kong-httpsig.yml`
  in front of the Python and the Node service (the consumer the signature
  covers in the answer), and a request the gateway signed, captured and sent
  again without the gateway: as signed it verifies; without its signature,
  with its body or a consumer header changed, it is refused.

    UPSTREAM_JWT_LIB=build/libupstream_jwt.so python3 -m unittest discover -s examples -p 'test_*.py'
"""

import contextlib
import http.client
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
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


def raw(port, method, target: bytes, headers=(), body=b""):
    status, body = raw_request(port, method, target, headers, body)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


def gateway_env():
    env = dict(os.environ, UPSTREAM_JWT_SECRET=SECRET)
    env.setdefault("UPSTREAM_JWT_LIB", os.path.join(REPO, "build", "libupstream_jwt.so"))
    return env


@contextlib.contextmanager
def gateway(example, upstream_port, tmp):
    """dev/gateway with examples/<example> in front of 127.0.0.1:<upstream_port>."""
    with open(os.path.join(REPO, "examples", example)) as f:
        cfg_text = f.read().replace("http://127.0.0.1:9000", f"http://127.0.0.1:{upstream_port}")
    cfg = os.path.join(tmp, f"{example}-{upstream_port}")
    with open(cfg, "w") as f:
        f.write(cfg_text)
    port = free_port()
    gw = subprocess.Popen([os.path.join(REPO, "dev", "gateway"), "up", cfg, "--port", str(port)],
                          cwd=REPO, env=gateway_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield port
    finally:
        gw.terminate()
        gw.wait(10)


class ServiceCase(unittest.TestCase):
    """Starts example services for a test class and stops them after it."""

    @classmethod
    def start(cls, services):
        """services: (name, extra arguments, environment) each."""
        cls.tmp = tempfile.TemporaryDirectory()
        cls.procs, cls.ports = [], {}
        for name, extra, env in services:
            port = free_port()
            cls.procs.append(subprocess.Popen(SERVICES[name] + extra + ["--port", str(port), "--quiet"], cwd=REPO,
                                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            cls.ports[name] = port
        for port in cls.ports.values():
            wait_port(port)

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            p.terminate()
        for p in cls.procs:
            p.wait(10)
        cls.tmp.cleanup()


class Examples(ServiceCase):
    @classmethod
    def setUpClass(cls):
        # The key from the environment only: no --key, as in the quick start.
        cls.start([(name, ["--audience", "orders"], gateway_env()) for name in SERVICES])
        cls.secret_file = os.path.join(cls.tmp.name, "secret")
        with open(cls.secret_file, "w") as f:
            f.write(SECRET)
        cls.empty = os.path.join(cls.tmp.name, "empty")
        open(cls.empty, "wb").close()

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
        for name, port in self.ports.items():
            with self.subTest(name), gateway("kong.yml", port, self.tmp.name) as gw_port:
                status, body = raw(gw_port, "GET", b"/orders/42?status=open", [("apikey", "alice-demo-key")])
                self.assertEqual(status, 200, body)
                self.assertEqual((body["htu"], body["consumer"]["username"]), ("/42", "alice"))


def send(port, method, target, headers, body=b""):
    """The request exactly as given, Host included (the one the gateway signed)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for n, v in headers:
            if n.lower() not in ("content-length", "connection", "transfer-encoding"):
                conn.putheader(n, v)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


class Capture(http.server.BaseHTTPRequestHandler):
    """An upstream that records what the gateway sends it."""
    seen = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Capture.seen.append((self.command, self.path, list(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class HttpMessageSignatureExamples(ServiceCase):
    """The Python service is configured by the environment alone, the Node
    service by its flags: the same settings either way."""

    @classmethod
    def setUpClass(cls):
        cls.start([(name, *cls.configured(name, "orders")) for name in ("python", "node")])

    @staticmethod
    def configured(name, tag):
        """(arguments, environment) for a service in the new format requiring `tag`."""
        if name == "python":
            return [], dict(gateway_env(), UPSTREAM_JWT_FORMAT="http-message-signature", UPSTREAM_JWT_KEY_ID="demo-1",
                            UPSTREAM_JWT_SIGNATURE_TAG=tag)
        return ["--format", "http-message-signature", "--key-id", "demo-1", "--tag", tag], gateway_env()

    def test_quick_start_through_the_gateway(self):
        for name, port in self.ports.items():
            with self.subTest(name), gateway("kong-httpsig.yml", port, self.tmp.name) as gw_port:
                status, body = raw(gw_port, "GET", b"/orders/42?status=open", [("apikey", "alice-demo-key")])
                self.assertEqual(status, 200, body)
                self.assertEqual((body["keyid"], body["alg"], body["tag"], body["label"]),
                                 ("demo-1", "hmac-sha256", "orders", "kong"))
                self.assertEqual((body["consumer"]["username"], body["consumer"]["id"] is not None), ("alice", True))
                self.assertIn('"x-consumer-username"', body["components"])
                self.assertEqual(body["expires"] - body["created"], 60)
                status, body = raw(gw_port, "POST", b"/orders", [("apikey", "alice-demo-key"),
                                                                 ("Content-Type", "application/json")], b'{"qty": 1}')
                self.assertEqual((status, body["consumer"]["username"]), (200, "alice"), body)
                self.assertIn('"content-type"', body["components"])

    def test_a_signed_request_sent_without_the_gateway(self):
        Capture.seen = []
        upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
        threading.Thread(target=upstream.serve_forever, daemon=True).start()
        try:
            with gateway("kong-httpsig.yml", upstream.server_address[1], self.tmp.name) as gw_port:
                status, _ = raw_request(gw_port, "POST", b"/orders/42", [("apikey", "alice-demo-key")], b'{"qty": 1}')
                self.assertEqual(status, 204)
        finally:
            upstream.shutdown()
            upstream.server_close()
        method, target, headers, body = Capture.seen[0]
        unsigned = [(n, v) for n, v in headers if n.lower() not in ("signature", "signature-input")]
        mallory = [(n, "mallory" if n.lower() == "x-consumer-username" else v) for n, v in headers]
        for name, port in self.ports.items():
            with self.subTest(name):
                status, answer = send(port, method, target, headers, body)
                self.assertEqual((status, answer["consumer"]["username"]), (200, "alice"), answer)
                self.assertEqual(send(port, method, target, unsigned, body), (401, {"error": "missing_signature"}))
                self.assertEqual(send(port, method, target, headers, b'{"qty": 9}'),
                                 (401, {"error": "digest_mismatch"}))
                self.assertEqual(send(port, method, target, mallory, body), (401, {"error": "bad_signature"}))

    def test_a_service_requiring_another_tag_refuses_it(self):
        # The tag setting is read (environment for Python, flag for Node): the
        # gateway's tag "orders" is not the "billing" these require.
        for name in ("python", "node"):
            with self.subTest(name):
                args, env = self.configured(name, "billing")
                port = free_port()
                p = subprocess.Popen(SERVICES[name] + args + ["--port", str(port), "--quiet"], cwd=REPO, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    wait_port(port)
                    with gateway("kong-httpsig.yml", port, self.tmp.name) as gw_port:
                        self.assertEqual(raw(gw_port, "GET", b"/orders/1", [("apikey", "alice-demo-key")]),
                                         (401, {"error": "tag_mismatch"}))
                finally:
                    p.terminate()
                    p.wait(10)

if __name__ == "__main__":
    unittest.main()
