"""Per-token CPU time of the Python verifier package against raw PyJWT on the
same token (bench only; bench/run section 6).

    python3 bench/verifiers/bench_python.py SPEC.json

SPEC: {"token", "secret", "audience", "method", "path", "query", "body_sha256",
"now", "reps", "target_ms"}. Prints one JSON line: per repetition, microseconds
per verification for "ours" (upstream_jwt_verify.Verifier.verify: signature,
claims, lifetime, iss, aud, method/path/query/body binding) and "raw"
(jwt.decode: signature, lifetime, iss, aud), in alternating order.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "packages", "python", "src"))

import jwt  # noqa: E402  (PyJWT)
from upstream_jwt_verify import Request, Verifier  # noqa: E402


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    token, secret, now = spec["token"], spec["secret"].encode(), spec["now"]
    verifier = Verifier(audience=spec["audience"]).add_key("HS256", secret)
    request = Request(method=spec["method"], path=spec["path"], query=spec["query"],
                      body_sha256=spec["body_sha256"])

    def ours():
        return verifier.verify(token, request, now=now)

    # PyJWT takes the clock from time.time(); the token is minted just before
    # this runs, so it is valid for its 60 s.
    def raw():
        return jwt.decode(token, secret, algorithms=["HS256"], audience=spec["audience"],
                          issuer="kong")

    assert ours()["jti"] == raw()["jti"]

    def sample(fn):
        n, t0 = 0, time.process_time()
        deadline = t0 + spec["target_ms"] / 1000.0
        while True:
            for _ in range(100):
                fn()
            n += 100
            t = time.process_time()
            if t >= deadline:
                return (t - t0) / n * 1e6

    # Warm-up: caches, the allocator, lazily imported code.
    sample(ours)
    sample(raw)
    res = {"ours": [], "raw": []}
    for i in range(spec["reps"]):
        pair = (("ours", ours), ("raw", raw)) if i % 2 == 0 else (("raw", raw), ("ours", ours))
        for name, fn in pair:
            res[name].append(sample(fn))
    print(json.dumps(res))


main()
