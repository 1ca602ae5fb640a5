"""CPU time per RFC 9421 verification in this package, on the gateway-shaped
requests of conformance/httpsig_vectors.json (signed by the core the gateway
signs with), against the raw signature check of the same base.

    /usr/bin/python3 packages/python/bench_httpsig.py [SAMPLES]

"verify": SignatureVerifier.verify (parse Signature-Input/Signature, key and
parameter checks, signature base, signature, Content-Digest of the body
already hashed as the middleware hashes it while streaming); "raw": only the
cryptographic check of the finished base. Median of SAMPLES (default 9) runs
of ~200 ms each, microseconds per call.
"""

import base64
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "src"))

from upstream_jwt_verify.httpsig import (ContentDigest, Message, SignatureVerifier,  # noqa: E402
                                         make_signature_key)

VECTORS = os.path.join(HERE, "..", "..", "conformance", "httpsig_vectors.json")


def per_call(fn, budget=0.2):
    n, t0 = 0, time.process_time()
    while True:
        for _ in range(50):
            fn()
        n += 50
        elapsed = time.process_time() - t0
        if elapsed >= budget:
            return elapsed / n * 1e6


def main():
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    with open(VECTORS, encoding="utf-8") as f:
        doc = json.load(f)
    seen = set()
    for v in doc["vectors"]:
        e = v["expect"]
        if not e["valid"] or e["alg"] in seen or v["options"]["label"] is None:
            continue
        seen.add(e["alg"])
        keys = [make_signature_key(k["alg"], k["pem"].encode() if "pem" in k else base64.b64decode(k["secret_b64"]),
                                   k["keyid"]) for k in doc["keysets"][v["keyset"]]]
        o = v["options"]
        verifier = SignatureVerifier(keys, label=o["label"], leeway=o["leeway"], tag=o["tag"],
                                     required_components=o["required_components"])
        r = v["request"]
        body = base64.b64decode(r["body_b64"]) * r.get("body_repeat", 1)
        msg = Message(r["method"].encode(), r["url"].encode(), [(n.encode(), x.encode()) for n, x in r["headers"]])
        digest = ContentDigest(("sha-256",))
        digest.update(body)
        result = verifier.verify(msg, content=digest, now=v["now"])
        key = next(k for k in keys if k.keyid == result.keyid)
        sig = [x for n, x in r["headers"] if n.lower() == "signature"][0]
        raw_sig = base64.b64decode(sig.split("=:", 1)[1].rstrip(":"))
        base = result.base.encode()

        def ours():
            verifier.verify(msg, content=digest, now=v["now"])

        def raw():
            key.verify(base, raw_sig)

        a = [per_call(ours) for _ in range(samples)]
        b = [per_call(raw) for _ in range(samples)]
        ma, mb = statistics.median(a), statistics.median(b)
        print(json.dumps({"alg": e["alg"], "components": len(e["components"]), "verify_us": round(ma, 1),
                          "raw_us": round(mb, 1), "overhead_us": round(ma - mb, 1)}))


if __name__ == "__main__":
    main()
