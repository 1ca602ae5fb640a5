"""The RFC 9421 conformance vectors generated from the C++ core
(conformance/httpsig_vectors.json): this package must reach the core's
verdict and reason on every one, and on success report every field the core
reports (conformance/README.md)."""

import base64
import json
import os
import unittest
from pathlib import Path

from upstream_jwt_verify import ConfigurationError, VerificationError
from upstream_jwt_verify.httpsig import ContentDigest, Message, SignatureVerifier, make_signature_key

VECTORS = Path(os.environ.get("UPSTREAM_JWT_HTTPSIG_VECTORS",
                              Path(__file__).resolve().parents[3] / "conformance" / "httpsig_vectors.json"))


def load():
    doc = json.loads(VECTORS.read_text(encoding="utf-8"))
    assert doc["format"] == "upstream-jwt httpsig conformance vectors", "not the httpsig vectors"
    assert doc["version"] == 1, "unsupported vectors version"
    return doc


def keyset(doc, name, cache={}):
    # Keys are parsed once per set, as a service parses its keys once.
    if name not in cache:
        cache[name] = [make_signature_key(k["alg"], k["pem"].encode() if "pem" in k
                                          else base64.b64decode(k["secret_b64"]), k["keyid"])
                       for k in doc["keysets"][name]]
    return cache[name]


def outcome(doc, v):
    o = v["options"]
    verifier = SignatureVerifier(keyset(doc, v["keyset"]), label=o["label"], leeway=o["leeway"],
                                 max_age=o["max_age"], require_created=o["require_created"],
                                 require_expires=o["require_expires"],
                                 required_components=o["required_components"], tag=o["tag"],
                                 check_digest=o["check_digest"])
    r = v["request"]
    body = ContentDigest()
    unit = base64.b64decode(r["body_b64"])
    for _ in range(r.get("body_repeat", 1)):
        body.update(unit)
    # Header text as the service's server hands it over: the bytes received (UTF-8 here).
    message = Message(r["method"].encode("utf-8"), r["url"].encode("utf-8"),
                      [(n.encode("utf-8"), val.encode("utf-8")) for n, val in r["headers"]])
    try:
        got = verifier.verify(message, content=body, now=v["now"])
    except VerificationError as e:
        return {"valid": False, "reason": e.reason}
    return {"valid": True, "label": got.label, "keyid": got.keyid, "alg": got.alg, "created": got.created,
            "expires": got.expires, "nonce": got.nonce, "tag": got.tag, "components": got.components}


class HttpsigConformance(unittest.TestCase):
    def test_every_vector_matches_the_core(self):
        doc = load()
        failures = []
        for v in doc["vectors"]:
            try:
                got = outcome(doc, v)
            except ConfigurationError as e:
                got = {"error": str(e)}
            if got != v["expect"]:
                failures.append(f'{v["name"]}: core says {v["expect"]}, python says {got}')
        self.assertEqual(failures, [], "\n".join(failures))
        self.assertGreaterEqual(len(doc["vectors"]), 200)

    def test_every_reason_and_algorithm_has_vectors(self):
        from upstream_jwt_verify.httpsig import ALGORITHMS, REASONS

        vectors = load()["vectors"]
        self.assertEqual({v["expect"].get("reason") for v in vectors} - {None}, set(REASONS))
        self.assertEqual({v["expect"].get("alg") for v in vectors} - {None}, set(ALGORITHMS))


if __name__ == "__main__":
    unittest.main()
