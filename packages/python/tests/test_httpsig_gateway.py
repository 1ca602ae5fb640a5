"""End to end: dev/gateway (the real upstream-jwt plugin, format
http-message-signature, on Kong's own code) in front of a Flask service that
verifies with this package, for every algorithm, with key-auth consumers."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

from httpsig_support import rfc_key
from support import REPO, ServerThread, free_port, raw_request, wait_port

from upstream_jwt_verify import InMemoryReplayStore
from upstream_jwt_verify.httpsig import SignatureVerifier
from test_httpsig_middleware import flask_app

GATEWAY = os.path.join(REPO, "dev", "gateway")
LIB = os.path.join(REPO, "build", "libupstream_jwt.so")
# plugin algorithm -> RFC 9421 name, private key (gateway), public key (service)
ALGS = [("HS256", "hmac-sha256", None, "test-shared-secret.bin"),
        ("RS256", "rsa-v1_5-sha256", "test-key-rsa.pem", "test-key-rsa.pub.pem"),
        ("PS256", "rsa-pss-sha512", "test-key-rsa-pss.pem", "test-key-rsa-pss.pub.pem"),
        ("ES256", "ecdsa-p256-sha256", "test-key-ecc-p256.pem", "test-key-ecc-p256.pub.pem"),
        ("EdDSA", "ed25519", "test-key-ed25519.pem", "test-key-ed25519.pub.pem")]
CONSUMER_ID = "5a1c3e00-0000-4000-8000-00000000a11c"
CREDENTIAL_ID = "6b3a2a4e-0000-4000-8000-0000000000c1"


def config(service_port):
    routes = []
    for alg, _, private, _ in ALGS:
        key = (f'private_key: "{{vault://env/py-httpsig-{alg.lower()}}}"' if private else
               'secret: "{vault://env/py-httpsig-secret}"\n              secret_is_base64: true')
        routes.append(f"""
      - name: {alg}
        paths: [/{alg.lower()}]
        plugins:
          - name: upstream-jwt
            config:
              format: http-message-signature
              algorithm: {alg}
              {key}
              key_id: gw-{alg.lower()}
              signature_tag: orders""")
    routes.append("""
      - name: authed
        paths: [/authed]
        plugins:
          - name: key-auth
            config:
              hide_credentials: true
          - name: upstream-jwt
            config:
              format: http-message-signature
              algorithm: EdDSA
              private_key: "{vault://env/py-httpsig-eddsa}"
              key_id: gw-eddsa
              signature_tag: orders""")
    return f"""_format_version: "3.0"
services:
  - name: orders
    url: http://127.0.0.1:{service_port}/base
    routes:{"".join(routes)}
consumers:
  - username: alice
    id: {CONSUMER_ID}
    keyauth_credentials:
      - key: k-alice
        id: {CREDENTIAL_ID}
"""


@unittest.skipUnless(os.path.exists(LIB) and os.path.exists("/usr/sbin/nginx"),
                     "needs build/libupstream_jwt.so (make build) and nginx (make deps)")
class ThroughTheGateway(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        v = SignatureVerifier(tag="orders", replay_store=InMemoryReplayStore())
        for alg, name, _, public in ALGS:
            v.add_key(name, rfc_key(public), "gw-" + alg.lower())
        cls.service = ServerThread(flask_app(v), "wsgi")
        cls.port = free_port()
        path = os.path.join(cls.tmp, "kong.yml")
        with open(path, "w") as f:
            f.write(config(cls.service.port))
        env = dict(os.environ, UPSTREAM_JWT_LIB=LIB, GATEWAY_ACCESS_LOG="off",
                   PY_HTTPSIG_SECRET=rfc_key("test-shared-secret.txt").decode().strip())
        for alg, _, private, _ in ALGS:
            if private:
                env["PY_HTTPSIG_" + alg.upper()] = rfc_key(private).decode()
        cls.log = open(os.path.join(cls.tmp, "gateway.log"), "wb")
        cls.gateway = subprocess.Popen([GATEWAY, "up", path, "--port", str(cls.port)], env=env,
                                       stdout=cls.log, stderr=subprocess.STDOUT)
        try:
            wait_port(cls.port, timeout=60)
        except RuntimeError:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.gateway.send_signal(signal.SIGTERM)
        try:
            cls.gateway.wait(20)
        except subprocess.TimeoutExpired:
            cls.gateway.kill()
            cls.gateway.wait()
        cls.log.close()
        cls.service.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def request(self, target, body=b"", method="POST", headers=(), port=None):
        status, data = raw_request(port or self.port, method, target.encode("latin-1"), headers, body)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data

    def test_every_algorithm(self):
        body = json.dumps({"item": "book", "qty": 2}).encode()
        for alg, name, _, _ in ALGS:
            with self.subTest(alg=alg):
                status, data = self.request(f"/{alg.lower()}/orders?id=7&note=a+b", body,
                                            headers=[("Content-Type", "application/json"),
                                                     ("X-Consumer-ID", "forged")])
                self.assertEqual(status, 200, data)
                self.assertEqual((data["keyid"], data["alg"]), ("gw-" + alg.lower(), name))
                self.assertEqual(data["body_sha"], hashlib.sha256(body).hexdigest())
                self.assertEqual(data["consumer"], {"id": None, "username": None, "credential": None}, "no consumer here")
                self.assertEqual(data["seen"], [None, None])

    def test_bodiless_get_and_a_large_body(self):
        status, data = self.request("/eddsa/x", method="GET")
        self.assertEqual(status, 200, data)
        body = os.urandom(3 * 1024 * 1024 + 1)  # nginx spills it to a file; the gateway hashes the file
        status, data = self.request("/es256/upload", body, method="POST")
        self.assertEqual(status, 200, data)
        self.assertEqual(data["body_sha"], hashlib.sha256(body).hexdigest())

    def test_consumer_headers_are_the_gateways_and_covered(self):
        status, data = self.request("/authed/me", method="GET",
                                    headers=[("apikey", "k-alice"), ("X-Consumer-ID", "forged"),
                                             ("X-Consumer-Username", "mallory")])
        self.assertEqual(status, 200, data)
        self.assertEqual(data["consumer"], {"id": CONSUMER_ID, "username": "alice", "credential": CREDENTIAL_ID})
        self.assertEqual(data["username"], "alice")
        self.assertEqual(data["seen"], [CONSUMER_ID, "alice"])

    def test_raw_targets_as_the_service_receives_them(self):
        # Kong forwards these as they came (a non-ASCII path percent-encoded);
        # the service rebuilds @target-uri from the raw target it received.
        for target in ("/eddsa/a%2Fb?q=caf%C3%A9&x=a+b", "/eddsa//double", "/eddsa/x?a=1&a=2",
                       "/eddsa/caf\xc3\xa9", "/eddsa/x?q=%20"):
            with self.subTest(target=target):
                status, data = self.request(target, method="GET")
                self.assertEqual(status, 200, data)

    def test_an_empty_query_kong_keeps(self):
        # Kong keeps a bare "?" on the upstream request line (runloop/handler.lua);
        # the signed @target-uri must keep it too, or every verifier that reads the
        # raw target refuses the request.
        status, data = self.request("/eddsa/x?", method="GET")
        self.assertEqual(status, 200, data)

    def test_a_request_that_bypassed_the_gateway_is_refused(self):
        status, data = self.request("/base/orders", b"{}", port=self.service.port,
                                    headers=[("X-Consumer-ID", CONSUMER_ID)])
        self.assertEqual((status, data), (401, {"error": "missing_signature"}))


if __name__ == "__main__":
    unittest.main()
