"""Two service processes (examples/python/verify_service.py) sharing one Debian
redis-server: a token accepted by one replica is refused by the other; with
Redis gone every request is refused with 503 (fail closed)."""

import json
import os
import subprocess
import sys
import unittest

from support import REPO, SECRET, RedisServer, b64sha, claims_for, free_port, raw_request, token, wait_port

SERVICE = os.path.join(REPO, "examples", "python", "verify_service.py")


class TwoReplicas(unittest.TestCase):
    def setUp(self):
        self.redis = RedisServer()
        self.procs = []
        self.ports = []
        for _ in range(2):
            port = free_port()
            env = dict(os.environ, UPSTREAM_JWT_SECRET=SECRET.decode())
            self.procs.append(subprocess.Popen(
                [sys.executable, SERVICE, "--audience", "orders", "--port", str(port), "--quiet",
                 "--redis-url", self.redis.url], env=env, stderr=subprocess.DEVNULL))
            self.ports.append(port)
        for p in self.ports:
            wait_port(p)

    def tearDown(self):
        for p in self.procs:
            p.terminate()
            p.wait(5)
        self.redis.stop()

    def send(self, port, tok):
        status, body = raw_request(port, "GET", b"/orders/42", [("X-Upstream-JWT", tok)])
        return status, json.loads(body)

    def test_replay_at_the_other_replica_is_refused(self):
        a, b = self.ports
        tok = token(claims_for())
        self.assertEqual(self.send(a, tok)[0], 200)
        self.assertEqual(self.send(b, tok), (401, {"error": "replayed"}))
        self.assertEqual(self.send(a, tok), (401, {"error": "replayed"}))
        # a fresh token is accepted by either
        self.assertEqual(self.send(b, token(claims_for()))[0], 200)

    def test_redis_unreachable_fails_closed(self):
        self.redis.stop()
        for port in self.ports:
            self.assertEqual(self.send(port, token(claims_for())), (503, {"error": "replay_store_unavailable"}))


if __name__ == "__main__":
    unittest.main()
