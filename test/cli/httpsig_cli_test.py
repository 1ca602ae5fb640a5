#!/usr/bin/env python3
"""Behaviour tests for `upstream-jwt httpsig` (registered with ctest).

Exit codes 0/1/2, the RFC 9421 B.2.6 vector through the CLI, RFC 9530
digests of a file and of stdin, sign -> verify with --body, the one-line
reason on stderr, key sets, and usage errors.

usage: httpsig_cli_test.py --cli build/upstream-jwt --keys test/keys
"""
import argparse
import os
import subprocess
import sys
import tempfile

RESULTS = {"passed": 0, "failed": 0}
URL = "http://example.com/foo?param=Value&Pet=dog"
RFC_HEADERS = ["Host: example.com", "Date: Tue, 20 Apr 2021 02:07:55 GMT",
               "Content-Type: application/json", "Content-Length: 18"]


def check(name, cond, detail=""):
    RESULTS["passed" if cond else "failed"] += 1
    if not cond:
        print(f"FAIL {name}: {detail}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--keys", required=True)
    a = ap.parse_args()
    rfc = os.path.join(a.keys, "rfc9421")

    def run(*args, stdin=b""):
        p = subprocess.run([a.cli, "httpsig", *args], input=stdin, capture_output=True, timeout=30)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def headers_args(lines):
        out = []
        for h in lines:
            out += ["--header", h]
        return out

    # RFC 9421 B.2.6, reproduced byte for byte.
    rc, out, err = run("sign", "--alg", "ed25519", "--key", os.path.join(rfc, "test-key-ed25519.pem"),
                       "--keyid", "test-key-ed25519", "--label", "sig-b26", "--created", "1618884473",
                       "--components", '("date" "@method" "@path" "@authority" "content-type" "content-length")',
                       "--method", "POST", "--url", URL, *headers_args(RFC_HEADERS))
    check("B.2.6 exit", rc == 0, err)
    check("B.2.6 signature", "Signature: sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:\n" in out, out)

    with tempfile.TemporaryDirectory() as d:
        body = os.path.join(d, "body")
        with open(body, "wb") as f:
            f.write(b'{"hello": "world"}\n')
        # RFC 9530 examples, from a file and from stdin.
        rc, out, _ = run("digest", body)
        check("digest file", rc == 0 and out == "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:\n", out)
        rc, out, _ = run("digest", "--digest", "sha-512", stdin=b'{"hello": "world"}\n')
        check("digest stdin sha-512", out == "sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCs"
                                              "yRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:\n", out)
        rc, out, _ = run("digest", "--digest", "both", stdin=b"")
        check("digest empty both", out.startswith("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:, sha-512=:"), out)
        rc, _, err = run("digest", "--digest", "md5", body)
        check("digest bad alg is usage", rc == 2 and "usage:" in err, err)

        # sign with --body, verify with --body; then a changed body and method.
        hdrs = os.path.join(d, "hdrs")
        rc, out, err = run("sign", "--alg", "ecdsa-p256-sha256", "--key", os.path.join(rfc, "test-key-ecc-p256.pem"),
                           "--keyid", "gw", "--components", '("@method" "@target-uri" "content-digest")',
                           "--method", "POST", "--url", URL, "--body", body, "--ttl", "30", "--random-nonce")
        check("sign with body", rc == 0 and out.startswith("Content-Digest: sha-256="), err)
        with open(hdrs, "w") as f:
            f.write(out)
        verify = ["verify", "--alg", "ecdsa-p256-sha256", "--key", os.path.join(rfc, "test-key-ecc-p256.pub.pem"),
                  "--keyid", "gw", "--url", URL, "--headers", hdrs]
        rc, out, err = run(*verify, "--method", "POST", "--body", body, "--max-age", "30", "--require-expires")
        check("verify ok", rc == 0 and '"keyid":"gw"' in out, err)
        rc, out, err = run(*verify, "--method", "GET")
        check("verify changed method", rc == 1 and err.startswith("invalid signature: bad_signature:"), err)
        other = os.path.join(d, "other")
        with open(other, "wb") as f:
            f.write(b"something else")
        rc, out, err = run(*verify, "--method", "POST", "--body", other)
        check("verify changed body", rc == 1 and "digest_mismatch" in err, err)
        rc, out, err = run(*verify, "--method", "POST", "--now", "1")
        check("verify created in future", rc == 1 and "created_in_future" in err, err)
        rc, out, err = run(*verify, "--method", "POST", "--require", '("content-type")')
        check("verify required component", rc == 1 and "missing_component" in err, err)
        rc, out, err = run(*verify, "--method", "POST", "--tag", "x")
        check("verify tag", rc == 1 and "tag_mismatch" in err, err)
        rc, out, err = run("verify", "--alg", "ecdsa-p256-sha256", "--key", os.path.join(rfc, "test-key-ecc-p256.pub.pem"),
                           "--keyid", "old", "--key", os.path.join(rfc, "test-key-ecc-p256.pub.pem"), "--keyid", "gw",
                           "--url", URL, "--headers", hdrs, "--method", "POST")
        check("verify key set", rc == 0, err)
        rc, out, err = run("verify", "--alg", "ecdsa-p256-sha256", "--key", os.path.join(rfc, "test-key-ecc-p256.pub.pem"),
                           "--keyid", "old", "--url", URL, "--headers", hdrs, "--method", "POST")
        check("verify unknown keyid", rc == 1 and "unknown_key" in err, err)
        rc, out, err = run(*verify, "--method", "POST", "--header", "Signature: gw=:AAAA")
        check("verify malformed", rc == 1 and "invalid signature: malformed:" in err, err)

    # Usage and configuration errors: exit 2.
    for name, args in [
        ("no subcommand", []),
        ("unknown subcommand", ["frobnicate"]),
        ("sign without key", ["sign", "--alg", "ed25519", "--components", "()", "--method", "GET", "--url", URL]),
        ("unknown alg", ["sign", "--alg", "HS256", "--key", os.path.join(rfc, "test-key-ed25519.pem"),
                         "--components", "()", "--method", "GET", "--url", URL]),
        ("wrong key type", ["sign", "--alg", "rsa-v1_5-sha256", "--key", os.path.join(rfc, "test-key-ed25519.pem"),
                            "--components", "()", "--method", "GET", "--url", URL]),
        ("bad components", ["sign", "--alg", "ed25519", "--key", os.path.join(rfc, "test-key-ed25519.pem"),
                            "--components", "(@method)", "--method", "GET", "--url", URL]),
        ("uncoverable component", ["sign", "--alg", "ed25519", "--key", os.path.join(rfc, "test-key-ed25519.pem"),
                                   "--components", '("x-absent")', "--method", "GET", "--url", URL]),
        ("request and response", ["sign", "--alg", "ed25519", "--key", os.path.join(rfc, "test-key-ed25519.pem"),
                                  "--components", "()", "--method", "GET", "--url", URL, "--status", "200"]),
        ("bad header", ["sign", "--alg", "ed25519", "--key", os.path.join(rfc, "test-key-ed25519.pem"),
                        "--components", "()", "--method", "GET", "--url", URL, "--header", "novalue"]),
        ("missing key file", ["verify", "--alg", "ed25519", "--key", "/nonexistent", "--method", "GET", "--url", URL]),
        ("unknown option", ["verify", "--bogus"]),
    ]:
        rc, out, err = run(*args)
        check(f"usage: {name}", rc == 2 and "usage: upstream-jwt httpsig" in err and out == "", f"{rc} {err!r}")
    rc, out, _ = run("--help")
    check("help", rc == 0 and "usage:" in out, out)

    print(f"httpsig cli: {RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
