"""Replicas in Python and Node sharing one redis-server: an RFC 9421 nonce
spent by either language's verifier is refused by the other, both with the
TTL expires + leeway, and both refuse (503) while Redis is gone. The Node side
is the real Node package (HttpSigVerifier.fromEnv), run once per request."""

import base64
import json
import os
import shutil
import subprocess
import time
import unittest
import uuid

from httpsig_support import BODY, GATEWAY_COMPONENTS, gateway_request, public_of, signed
from support import RedisServer
from upstream_jwt_verify import VerificationError
from upstream_jwt_verify.httpsig import SignatureVerifier

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "node")

# Verifies the message on stdin with the environment's settings; prints the reason or "valid".
NODE_VERIFY = r"""
import { HttpSigVerifier } from './src/index.js';
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const m = JSON.parse(Buffer.concat(chunks).toString());
const v = await HttpSigVerifier.fromEnv(process.env);
let reason = 'valid';
try {
  await v.verify({ method: m.method, targetUri: m.targetUri, headers: m.headers, body: Buffer.from(m.body, 'base64') }, { now: m.now });
} catch (e) {
  if (!e.reason) throw e;
  reason = e.reason;
}
process.stdout.write(reason);
process.exit(0);
"""


def _text(v):
    return v.decode("latin-1") if isinstance(v, bytes) else v


@unittest.skipUnless(shutil.which("node") and os.path.isdir(os.path.join(NODE_DIR, "node_modules", "redis")),
                     "node and the Node package's dependencies are needed (make deps)")
class NoncesAcrossLanguages(unittest.TestCase):
    def setUp(self):
        self.redis = RedisServer()
        self.addCleanup(lambda: self.redis.proc.poll() is None and self.redis.stop())
        self.env = {"UPSTREAM_JWT_ALG": "EdDSA", "UPSTREAM_JWT_PUBLIC_KEY": _text(public_of("ed25519")),
                    "UPSTREAM_JWT_KEY_ID": "gw", "UPSTREAM_JWT_LEEWAY": "5", "UPSTREAM_JWT_REDIS_URL": self.redis.url}
        self.python = SignatureVerifier.from_env(self.env)
        # The stores count TTLs from "now": the real clock, so Redis's TTL is real.
        self.now = int(time.time())

    def message(self):
        nonce = uuid.uuid4().hex
        p = {"created": self.now, "expires": self.now + 60, "keyid": "gw", "alg": "ed25519", "nonce": nonce}
        return nonce, signed(gateway_request(), GATEWAY_COMPONENTS, params=p)

    def node(self, msg):
        doc = {"method": _text(msg.method), "targetUri": _text(msg.target_uri),
               "headers": [[_text(n), _text(v)] for n, v in msg.headers],
               "body": base64.b64encode(BODY).decode(), "now": self.now}
        out = subprocess.run(["node", "--input-type=module", "-e", NODE_VERIFY], cwd=NODE_DIR,
                             env=dict(os.environ, **self.env), input=json.dumps(doc).encode(),
                             capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr.decode(errors="replace"))
        return out.stdout.decode()

    def py(self, msg):
        try:
            self.python.verify(msg, now=self.now, content=BODY)
        except VerificationError as e:
            return e.reason
        return "valid"

    def ttl_ms(self, nonce):
        return self.python.replay_store.client.pttl("upstream-jwt:nonce:" + nonce)

    def test_spent_by_node_refused_by_python(self):
        nonce, msg = self.message()
        self.assertEqual(self.node(msg), "valid")
        # expires + leeway + 1 s from now, less the time since Node's SET
        self.assertTrue(60_000 < self.ttl_ms(nonce) <= 66_000, self.ttl_ms(nonce))
        self.assertEqual(self.py(msg), "replayed")
        self.assertEqual(self.node(msg), "replayed")

    def test_spent_by_python_refused_by_node(self):
        nonce, msg = self.message()
        self.assertEqual(self.py(msg), "valid")
        self.assertTrue(60_000 < self.ttl_ms(nonce) <= 66_000, self.ttl_ms(nonce))
        self.assertEqual(self.node(msg), "replayed")

    def test_both_fail_closed_without_redis(self):
        self.redis.stop()
        self.assertEqual(self.node(self.message()[1]), "replay_store_unavailable")
        with self.assertRaises(VerificationError) as cm:
            self.python.verify(self.message()[1], now=self.now, content=BODY)
        self.assertEqual((cm.exception.reason, cm.exception.status), ("replay_store_unavailable", 503))


if __name__ == "__main__":
    unittest.main()
