"""Verifier.from_env / SignatureVerifier.from_env: every UPSTREAM_JWT_*
variable, its default, an empty value, and every malformed value. The cases
live in env_cases.json, which the Node package's test/env.test.js runs too,
so both packages read the environment the same way."""

import json
import os
import unittest

from upstream_jwt_verify import ConfigurationError, Verifier
from upstream_jwt_verify.httpsig import SignatureVerifier

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "env_cases.json")) as f:
    DOC = json.load(f)
SECRET = "s" * 32


def environment(case):
    env = dict(DOC["base"], **case["env"])
    return {k: SECRET if v == "SECRET" else v for k, v in env.items()}


def settings(v, wanted):
    got = {}
    for name in wanted:
        if name == "keys":
            got[name] = sorted([k.keyid, k.alg] for k in v._keys.values())
        else:
            got[name] = getattr(v, name)
    return got


class FromEnvCases(unittest.TestCase):
    def test_cases(self):
        for case in DOC["cases"]:
            with self.subTest(case["name"]):
                env = environment(case)
                if "error" in case:
                    with self.assertRaises(ConfigurationError) as cm:
                        Verifier.from_env(env)
                    self.assertTrue(str(cm.exception).startswith(case["error"]), str(cm.exception))
                    continue
                v = Verifier.from_env(env)
                httpsig = (env.get("UPSTREAM_JWT_FORMAT") or "jwt") == "http-message-signature"
                self.assertIsInstance(v, SignatureVerifier if httpsig else Verifier)
                expect = dict(case["expect"])
                if expect.get("required_components") == "gateway_components":
                    expect["required_components"] = DOC["gateway_components"]
                self.assertEqual(settings(v, expect), expect)

    def test_the_format_variables_directly(self):
        # SignatureVerifier.from_env reads the same variables without UPSTREAM_JWT_FORMAT.
        v = SignatureVerifier.from_env({"UPSTREAM_JWT_SECRET": SECRET, "UPSTREAM_JWT_SIGNATURE_TAG": "orders",
                                        "UPSTREAM_JWT_REQUIRED_COMPONENTS": "@method"})
        self.assertEqual((v.tag, v.required_components), ("orders", ['"@method"']))
        with self.assertRaises(ConfigurationError):
            SignatureVerifier.from_env({"UPSTREAM_JWT_SECRET": SECRET, "UPSTREAM_JWT_MAX_AGE": "1e3"})

    def test_keyword_arguments_override_the_environment(self):
        v = Verifier.from_env(dict(environment({"env": {}}), UPSTREAM_JWT_LEEWAY="9"), leeway=1)
        self.assertEqual(v.leeway, 1)
        # but a malformed variable is still refused: it is read before the overrides apply
        with self.assertRaises(ConfigurationError):
            Verifier.from_env(dict(environment({"env": {}}), UPSTREAM_JWT_LEEWAY="x"), leeway=1)


if __name__ == "__main__":
    unittest.main()
