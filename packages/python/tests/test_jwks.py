"""Keys from a JWKS URL: a local JWKS server, a key rotation at the gateway with
no verifier restart, the rate limit on refreshes for unknown kids, fail closed
without any key set."""

import base64
import json
import os
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from support import b64sha, claims_for

from upstream_jwt_verify import JwksSource, Request, VerificationError, Verifier

GET = Request("GET", b"/orders/42", None, b64sha(b""), [])


def jwk(private, kid):
    # RFC 7518 section 6.2.1.2: x and y are the full 32 bytes of the P-256 coordinate.
    # PyJWT 2.6's to_jwk drops leading zero bytes (about 1 key in 128), which the
    # verifier rightly refuses; build the JWK by the RFC instead.
    numbers = private.public_key().public_numbers()
    coord = lambda n: base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()
    return {"kty": "EC", "crv": "P-256", "x": coord(numbers.x), "y": coord(numbers.y),
            "kid": kid, "alg": "ES256", "use": "sig"}


class JwksServer:
    def __init__(self):
        self.doc = {"keys": []}
        self.hits = 0
        # what it answers with, and what conditional requests it saw
        self.status = 200
        self.headers = {}
        self.if_none_match = []
        self.not_modified = 0
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits += 1
                body = json.dumps(outer.doc).encode()
                status = outer.status
                inm = self.headers.get("If-None-Match")
                if inm is not None:
                    outer.if_none_match.append(inm)
                    if status == 200 and inm == outer.headers.get("ETag"):
                        status, body = 304, b""
                        outer.not_modified += 1
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in outer.headers.items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def es_token(private, kid):
    return jwt.encode(claims_for(), private, algorithm="ES256", headers={"kid": kid})


class JwksUrl(unittest.TestCase):
    def setUp(self):
        self.server = JwksServer()
        self.k1 = ec.generate_private_key(ec.SECP256R1())
        self.k2 = ec.generate_private_key(ec.SECP256R1())
        self.server.doc = {"keys": [jwk(self.k1, "2024-05"),
                                    {"kty": "RSA", "use": "enc", "kid": "enc-1", "n": "AQAB", "e": "AQAB"},
                                    {"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0cw", "alg": "HS256", "kid": "hs"}]}
        self.clock = [1000.0]
        self.source = JwksSource(self.server.url, max_age=300, min_refresh_interval=30,
                                 clock=lambda: self.clock[0])
        self.verifier = Verifier(audience="orders", jwks=self.source)

    def tearDown(self):
        self.server.stop()

    def reason(self, tok):
        try:
            self.verifier.verify(tok, GET)
            return "valid"
        except VerificationError as e:
            return e.reason

    def test_rotation_without_restart(self):
        self.assertEqual(self.reason(es_token(self.k1, "2024-05")), "valid")
        self.assertEqual(self.server.hits, 1)
        self.assertEqual(self.reason(es_token(self.k1, "2024-05")), "valid")
        self.assertEqual(self.server.hits, 1, "cached")
        # the gateway rotates: the JWKS now publishes the new key
        self.server.doc = {"keys": [jwk(self.k2, "2024-06"), jwk(self.k1, "2024-05")]}
        self.clock[0] += 31
        self.assertEqual(self.reason(es_token(self.k2, "2024-06")), "valid")
        self.assertEqual(self.server.hits, 2)

    def test_concurrent_requests_with_the_new_kid_all_verify(self):
        # Two requests carrying the rotated-in kid both looked at the cached set
        # before either refreshed it; the one that finds the refresh already
        # done (rate limit) must use the refreshed set, not fail unknown_kid.
        self.assertEqual(self.reason(es_token(self.k1, "2024-05")), "valid")
        self.server.doc = {"keys": [jwk(self.k2, "2024-06"), jwk(self.k1, "2024-05")]}
        self.clock[0] += 31
        both_hold_the_old_set = threading.Barrier(2, timeout=60)  # bounds a hang only
        first_call = threading.local()
        keys = self.source.keys

        def keys_then_meet():
            got = keys()
            if not getattr(first_call, "done", False):
                first_call.done = True
                both_hold_the_old_set.wait()
            return got

        self.source.keys = keys_then_meet
        tok = es_token(self.k2, "2024-06")
        results = []
        threads = [threading.Thread(target=lambda: results.append(self.reason(tok))) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, ["valid", "valid"])
        self.assertEqual(self.server.hits, 2, "one refresh for both")

    def test_unknown_kid_refresh_is_rate_limited(self):
        self.assertEqual(self.reason(es_token(self.k1, "2024-05")), "valid")
        for i in range(20):
            self.assertEqual(self.reason(es_token(self.k2, f"made-up-{i}")), "unknown_kid")
        self.assertEqual(self.server.hits, 1, "no refetch within min_refresh_interval")
        self.clock[0] += 30
        self.assertEqual(self.reason(es_token(self.k2, "made-up")), "unknown_kid")
        self.assertEqual(self.server.hits, 2)

    def test_stale_set_is_refetched_after_max_age(self):
        self.reason(es_token(self.k1, "2024-05"))
        self.clock[0] += 300
        self.reason(es_token(self.k1, "2024-05"))
        self.assertEqual(self.server.hits, 2)

    def test_shared_secrets_in_a_jwks_url_are_ignored(self):
        tok = jwt.encode(claims_for(), b"secretsecretsecretsecretsecrets", algorithm="HS256", headers={"kid": "hs"})
        self.assertEqual(self.reason(tok), "unknown_kid")  # the secret was never registered

    def test_unreachable_without_a_cached_set_fails_closed(self):
        self.server.stop()
        self.assertEqual(self.reason(es_token(self.k1, "2024-05")), "jwks_unavailable")

    def test_unreachable_later_keeps_the_last_good_set(self):
        self.assertEqual(self.reason(es_token(self.k1, "2024-05")), "valid")
        self.server.stop()
        self.clock[0] += 400
        self.assertEqual(self.reason(es_token(self.k1, "2024-05")), "valid")


if __name__ == "__main__":
    unittest.main()
