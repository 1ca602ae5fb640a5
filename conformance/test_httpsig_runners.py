#!/usr/bin/python3
"""The RFC 9421 runners can fail: given a copy of httpsig_vectors.json in which
a verdict, a reason and one reported field were changed, the core's
`httpsig-check` and `run_cli_httpsig.py` must each exit 1 and name exactly the
changed vectors.

    test_httpsig_runners.py build/upstream_jwt_conformance_gen build/upstream-jwt conformance
"""

import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

GEN, CLI, DIR = sys.argv[1:4] if len(sys.argv) == 4 else (None, None, None)
HERE = os.path.dirname(os.path.abspath(__file__))


def corrupt(doc):
    """Changes three vectors, one way each; returns the new doc and their names."""
    doc = copy.deepcopy(doc)
    vs = doc["vectors"]
    valid = [v for v in vs if v["expect"]["valid"]]
    rejected = [v for v in vs if not v["expect"]["valid"]]
    valid[0]["expect"] = {"valid": False, "reason": "expired"}
    rejected[0]["expect"]["reason"] = "bad_signature" if rejected[0]["expect"]["reason"] != "bad_signature" else "malformed"
    valid[1]["expect"]["nonce"] = "not-the-nonce"
    # Only the three changed vectors: a quick run.
    doc["vectors"] = [valid[0], rejected[0], valid[1]]
    return doc, [valid[0]["name"], rejected[0]["name"], valid[1]["name"]]


class RunnersFail(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(DIR, "httpsig_vectors.json"), encoding="utf-8") as f:
            cls.doc = json.load(f)
        cls.tmp = tempfile.TemporaryDirectory()
        cls.bad, cls.names = corrupt(cls.doc)
        cls.path = os.path.join(cls.tmp.name, "bad.json")
        with open(cls.path, "w", encoding="utf-8") as f:
            json.dump(cls.bad, f)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def assert_names_exactly(self, output, expected_count):
        failed = [line for line in output.splitlines() if line.startswith("FAIL")]
        self.assertEqual(len(failed), expected_count, output)
        for name in self.names:
            self.assertIn(name, output)

    def test_core_check_fails_on_each_changed_vector(self):
        p = subprocess.run([GEN, "httpsig-check", os.path.join(DIR, "keys"), self.path], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("0/3 RFC 9421 vectors agree", p.stdout)
        self.assert_names_exactly(p.stderr, 3)

    def test_cli_runner_fails_on_each_changed_vector(self):
        p = subprocess.run([sys.executable, os.path.join(HERE, "run_cli_httpsig.py"), CLI, self.path],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("0/3 vectors agree", p.stdout)
        self.assert_names_exactly(p.stdout, 3)

    def test_core_check_fails_when_a_reason_has_no_vector(self):
        doc = copy.deepcopy(self.doc)
        doc["vectors"] = [v for v in doc["vectors"] if v["expect"].get("reason") != "ambiguous"]
        path = os.path.join(self.tmp.name, "no-ambiguous.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        p = subprocess.run([GEN, "httpsig-check", os.path.join(DIR, "keys"), path], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("MISSING reason ambiguous", p.stderr)

    def test_up_to_date_fails_on_a_changed_case(self):
        doc = copy.deepcopy(self.doc)
        doc["vectors"][0]["now"] += 1
        path = os.path.join(self.tmp.name, "stale.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        p = subprocess.run([GEN, "httpsig-up-to-date", os.path.join(DIR, "keys"), path], capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(doc["vectors"][0]["name"], p.stderr)


if __name__ == "__main__":
    if GEN is None:
        sys.exit(__doc__)
    unittest.main(argv=[sys.argv[0]])
