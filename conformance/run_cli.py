#!/usr/bin/python3
"""Runs conformance/vectors.json through the `upstream-jwt verify` CLI (the C
ABI, as a service shell script would use it). Vectors the CLI cannot express
(a preloaded replay store: the CLI keeps no state between runs; a header
check on a request with no headers and no required names) are counted as
skipped, by name. Exit 1 when the CLI disagrees with the core on any vector.

    run_cli.py build/upstream-jwt conformance/vectors.json
"""

import base64
import json
import os
import re
import subprocess
import sys
import tempfile

REASON = re.compile(r"invalid token: ([a-z0-9_]+):")


def args_for(doc, v, tmp):
    o, r = v["options"], v["request"]
    args = ["verify"]
    for i, k in enumerate(doc["keysets"][v["keyset"]]):
        path = os.path.join(tmp, f"key{i}")
        with open(path, "wb") as f:
            f.write(k["pem"].encode() if "pem" in k else base64.b64decode(k["secret_b64"]))
        args += ["--alg", k["alg"], "--key", path]
    kids = [k["kid"] for k in doc["keysets"][v["keyset"]]]
    named = [k for k in kids if k is not None]
    # --kid values pair with the first --key values: key sets list kid'ed keys first.
    assert kids[:len(named)] == named, f'{v["keyset"]}: kid-less keys must come last'
    for kid in named:
        args += ["--kid", kid]
    if o["issuer"] is not None:
        args += ["--iss", o["issuer"]]
    if o["audience"] is not None:
        args += ["--aud", o["audience"]]
    args += ["--leeway", str(o["leeway"]), "--max-lifetime", str(o["max_lifetime"]), "--now", str(v["now"])]
    if o["max_token_length"]:
        args += ["--max-token-length", str(o["max_token_length"])]
    if "method" in o["bind"]:
        args += ["--method", r["method"]]
    if "path" in o["bind"]:
        args += ["--path=" + r["path"]]
    if "query" in o["bind"]:
        args += ["--query=" + (r["query"] or "")]
    if "body" in o["bind"]:
        body = os.path.join(tmp, "body")
        with open(body, "wb") as f:
            f.write(base64.b64decode(r["body_b64"]) * r.get("body_repeat", 1))
        args += ["--body", body]
    if o["check_headers"]:
        for name, value in r["headers"]:
            args += ["--header", f"{name}: {value}"]
        if o["required_headers"]:
            args += ["--require-headers", ",".join(o["required_headers"])]
    return args + ["--", v["token"]]


def main(cli, vectors):
    doc = json.load(open(vectors, encoding="utf-8"))
    if doc["version"] != 1:
        sys.exit("unsupported vectors version")
    failures, skipped, ran = [], [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for v in doc["vectors"]:
            o = v["options"]
            if o["replay"] is not None:
                skipped.append(v["name"])
                continue
            if o["check_headers"] and not v["request"]["headers"] and not o["required_headers"]:
                skipped.append(v["name"])  # "check headers, the request has none" has no CLI spelling
                continue
            p = subprocess.run([cli] + args_for(doc, v, tmp), capture_output=True)
            ran += 1
            want = "" if v["expect"]["valid"] else v["expect"]["reason"]
            if p.returncode == 0:
                got = ""
            elif p.returncode == 1 and REASON.search(p.stderr.decode(errors="replace")):
                got = REASON.search(p.stderr.decode(errors="replace")).group(1)
            else:
                got = f"exit {p.returncode}: {p.stderr.decode(errors='replace').strip()}"
            if got != want:
                failures.append(f'{v["name"]}: core says {want or "valid"}, CLI says {got or "valid"}')
    for f in failures:
        print("FAIL", f)
    print(f"CLI: {ran - len(failures)}/{ran} vectors agree with the core; {len(skipped)} skipped "
          f"(a preloaded replay store, or a header check without headers): {', '.join(skipped)}")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
