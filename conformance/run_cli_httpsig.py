#!/usr/bin/python3
"""Runs conformance/httpsig_vectors.json through `upstream-jwt httpsig verify`
(the C ABI, as a service's shell script would use it) and compares the verdict,
the reason and, on success, every field of the JSON summary with `expect`.
Exit 1 when the CLI disagrees with the core on any vector.

    run_cli_httpsig.py build/upstream-jwt conformance/httpsig_vectors.json

Every vector is expressible on the command line: key sets become repeated
--alg/--key/--keyid triples (`--keyid=` for the key-less key), headers
--header lines in order, check_digest --body, max_age <= 0 no --max-age.
The CLI trims each --header value of spaces and tabs; the core trims the same
before it uses a value, so the vectors with padded values mean the same.
"""

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

REASON = re.compile(r"^invalid signature: ([a-z_]+): ", re.M)
FIELDS = ("label", "keyid", "alg", "created", "expires", "nonce", "tag", "components")


def inner_list(identifiers):
    """["@method", '@query-param;name="id"'] -> ("@method" "@query-param";name="id")"""
    out = []
    for ident in identifiers:
        name, sep, params = ident.partition(";")
        out.append(f'"{name}"' + (sep + params if sep else ""))
    return "(" + " ".join(out) + ")"


def args_for(doc, v, tmp):
    o, r = v["options"], v["request"]
    args = ["httpsig", "verify"]
    for i, k in enumerate(doc["keysets"][v["keyset"]]):
        path = os.path.join(tmp, f"key{i}")
        with open(path, "wb") as f:
            f.write(k["pem"].encode() if "pem" in k else base64.b64decode(k["secret_b64"], validate=True))
        args += ["--alg", k["alg"], "--key", path, "--keyid=" + k["keyid"]]
    args += ["--method", r["method"], "--url", r["url"]]
    for name, value in r["headers"]:
        args += ["--header", f"{name}: {value}"]
    if o["check_digest"]:
        body = os.path.join(tmp, "body")
        with open(body, "wb") as f:
            f.write(base64.b64decode(r["body_b64"], validate=True) * r["body_repeat"])
        args += ["--body", body]
    if o["label"] is not None:
        args += ["--label", o["label"]]
    args += ["--now", str(v["now"]), "--leeway", str(o["leeway"])]
    if o["max_age"] > 0:
        args += ["--max-age", str(o["max_age"])]
    if o["required_components"]:
        args += ["--require", inner_list(o["required_components"])]
    if o["tag"] is not None:
        args += ["--tag", o["tag"]]
    if o["require_expires"]:
        args.append("--require-expires")
    if not o["require_created"]:
        args.append("--allow-missing-created")
    return args


def verdict(p):
    """The CLI's answer in the vectors' terms: a dict like `expect`, or a string
    describing an unexpected exit."""
    err = p.stderr.decode(errors="replace")
    if p.returncode == 0:
        summary = json.loads(p.stdout)
        got = {"valid": True}
        for k in FIELDS:
            got[k] = summary.get(k)
        return got
    m = REASON.search(err)
    if p.returncode == 1 and m:
        return {"valid": False, "reason": m.group(1)}
    return f"exit {p.returncode}: {err.strip()}"


def main(cli, vectors):
    with open(vectors, encoding="utf-8") as f:
        doc = json.load(f)
    if doc.get("format") != "upstream-jwt httpsig conformance vectors" or doc.get("version") != 1:
        sys.exit("not a version 1 httpsig vectors file")
    def run(indexed):
        i, v = indexed
        # Each vector its own directory: vectors run in parallel.
        tmp = os.path.join(top, str(i))
        os.mkdir(tmp)
        p = subprocess.run([cli] + args_for(doc, v, tmp), capture_output=True)
        got, want = verdict(p), v["expect"]
        if got == want:
            return None
        return f'{v["name"]}:\n  core: {json.dumps(want)}\n  CLI:  {got if isinstance(got, str) else json.dumps(got)}'

    with tempfile.TemporaryDirectory() as top, ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        failures = [f for f in pool.map(run, enumerate(doc["vectors"])) if f is not None]
    for f in failures:
        print("FAIL", f)
    ran = len(doc["vectors"])
    print(f"CLI httpsig: {ran - len(failures)}/{ran} vectors agree with the core; 0 skipped")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
