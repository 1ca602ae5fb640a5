"""The conformance vectors generated from the C++ core: this package must reach
the core's verdict on every one (conformance/README.md)."""

import base64
import json
import os
import unittest
from pathlib import Path

from upstream_jwt_verify import (BodyHasher, ConfigurationError, InMemoryReplayStore, Request,
                                 VerificationError, Verifier, make_key)

VECTORS = Path(os.environ.get("UPSTREAM_JWT_VECTORS",
                              Path(__file__).resolve().parents[3] / "conformance" / "vectors.json"))


def load():
    doc = json.loads(VECTORS.read_text(encoding="utf-8"))
    assert doc["version"] == 1, "unsupported vectors version"
    return doc


def verdict(doc, v):
    keys = []
    for k in doc["keysets"][v["keyset"]]:
        material = k["pem"].encode() if "pem" in k else base64.b64decode(k["secret_b64"])
        keys.append(make_key(k["alg"], material, k["kid"]))
    o = v["options"]
    store = None
    if o["replay"] is not None:
        store = InMemoryReplayStore(o["replay"]["capacity"])
        for s in o["replay"]["seen"]:
            try:
                store.check_and_insert(s["jti"], s["expires_at"], v["now"])
            except VerificationError:
                pass
    verifier = Verifier(keys, issuer=o["issuer"], audience=o["audience"], leeway=o["leeway"],
                        max_lifetime=o["max_lifetime"], max_token_length=o["max_token_length"],
                        bind=o["bind"], check_headers=o["check_headers"],
                        required_headers=o["required_headers"], replay_store=store)
    r = v["request"]
    body = BodyHasher()
    unit = base64.b64decode(r["body_b64"])
    for _ in range(r.get("body_repeat", 1)):
        body.update(unit)
    request = Request(r["method"].encode(), r["path"].encode("utf-8"),
                      None if r["query"] is None else r["query"].encode("utf-8"), body.b64(),
                      [(n.encode(), val.encode()) for n, val in r["headers"]])
    try:
        verifier.verify(v["token"], request, now=v["now"])
        return ""
    except VerificationError as e:
        return e.reason


class Conformance(unittest.TestCase):
    def test_every_vector_matches_the_core(self):
        doc = load()
        failures = []
        for v in doc["vectors"]:
            want = "" if v["expect"]["valid"] else v["expect"]["reason"]
            try:
                got = verdict(doc, v)
            except ConfigurationError as e:
                got = f"error: {e}"
            if got != want:
                failures.append(f'{v["name"]}: core says {want or "valid"}, python says {got or "valid"}')
        self.assertEqual(failures, [], "\n".join(failures))
        self.assertGreater(len(doc["vectors"]), 100)


if __name__ == "__main__":
    unittest.main()
