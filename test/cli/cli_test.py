#!/usr/bin/env python3
"""Behaviour tests for the `upstream-jwt` CLI (registered with ctest).

Drives the built binary as a service developer would: exit codes 0/1/2, the
one-line reason on stderr, digests of stdin vs file, JWKS shape, request
binding, rotation and the exact-bytes rule for HS secret files.

usage: cli_test.py --cli build/upstream-jwt --keys test/keys
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile

NOW = 1700000000
RESULTS = {"passed": 0, "failed": 0}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def sha_b64(data: bytes) -> str:
    return b64url(hashlib.sha256(data).digest())


class Cli:
    def __init__(self, path):
        self.path = path

    def run(self, *args, stdin=b""):
        p = subprocess.run([self.path, *args], input=stdin, capture_output=True, timeout=30)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def check(name, cond, detail=""):
    if cond:
        RESULTS["passed"] += 1
    else:
        RESULTS["failed"] += 1
        print(f"FAIL {name}: {detail}")


def expect_exit(name, result, code):
    rc, out, err = result
    check(name, rc == code, f"exit {rc}, want {code}; stdout={out!r} stderr={err!r}")
    return rc == code


def expect_usage(name, result):
    rc, out, err = result
    ok = rc == 2 and "usage: upstream-jwt" in err and out == ""
    check(name, ok, f"exit {rc}; stdout={out!r} stderr={err!r}")


def expect_invalid(name, result, reason):
    rc, out, err = result
    lines = err.splitlines()
    ok = (rc == 1 and out == "" and len(lines) == 1 and err.endswith("\n")
          and lines[0].startswith(f"invalid token: {reason}: "))
    check(name, ok, f"exit {rc}, want 1 with reason {reason}; stdout={out!r} stderr={err!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--keys", required=True)
    a = ap.parse_args()
    cli = Cli(a.cli)
    keys = a.keys

    def key(name):
        return os.path.join(keys, name)

    tmp = tempfile.TemporaryDirectory(prefix="ujwt-cli-")
    d = tmp.name

    def write(name, data: bytes):
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    secret = bytes(range(65, 65 + 40))  # 40 printable bytes
    hs = write("hs.key", secret)

    def sign(*extra, alg="HS256", k=hs, stdin=b""):
        return cli.run("sign", "--alg", alg, "--key", k, "--now", str(NOW), *extra, stdin=stdin)

    def verify(token, *extra, alg="HS256", k=hs, now=NOW, stdin=b""):
        return cli.run("verify", "--alg", alg, "--key", k, "--now", str(now), *extra, token, stdin=stdin)

    # ---- help and usage errors ---------------------------------------------
    rc, out, err = cli.run("--help")
    check("help exits 0", rc == 0 and all(c in out for c in ("sign", "verify", "digest", "jwks")), out)
    for cmd in ("sign", "verify", "digest", "jwks"):
        rc, out, err = cli.run(cmd, "--help")
        check(f"{cmd} --help", rc == 0 and f"usage: upstream-jwt {cmd}" in out, out + err)
    expect_usage("no command", cli.run())
    expect_usage("unknown command", cli.run("mint"))
    expect_usage("unknown flag", sign("--bogus", "1"))
    expect_usage("unknown short flag", sign("-x"))
    expect_usage("missing value at end", cli.run("sign", "--alg", "HS256", "--key"))
    expect_usage("missing value before flag", cli.run("sign", "--alg", "HS256", "--key", "--kid", "a"))
    expect_usage("missing --alg", cli.run("sign", "--key", hs))
    expect_usage("missing --key", cli.run("sign", "--alg", "HS256"))
    expect_usage("unreadable key file", sign(k=os.path.join(d, "nope.key")))
    expect_usage("key is a directory", sign(k=d))
    expect_usage("flag given twice", sign("--ttl", "5", "--ttl", "6"))
    expect_usage("non-integer ttl", sign("--ttl", "abc"))
    expect_usage("ttl with trailing junk", sign("--ttl", "60s"))
    expect_usage("ttl out of range", sign("--ttl", "0"))
    expect_usage("stray positional on sign", sign("extra"))
    expect_usage("short HS secret", sign(k=write("short.key", b"x" * 31)))
    expect_usage("unknown algorithm", sign(alg="HS999"))
    expect_usage("extra claims override iss", sign("--claims", '{"iss":"evil"}'))
    expect_usage("extra claims not JSON", sign("--claims", "not json"))
    expect_usage("key type does not fit alg", sign(alg="ES256", k=key("rsa2048.pem")))
    expect_usage("verify without token", cli.run("verify", "--alg", "HS256", "--key", hs))
    expect_usage("verify with two tokens", cli.run("verify", "--alg", "HS256", "--key", hs, "a", "b"))
    expect_usage("verify without key", cli.run("verify", "--alg", "HS256", "x.y.z"))
    expect_usage("verify negative leeway", verify("x.y.z", "--leeway", "-1"))
    expect_usage("verify with wrong key type", verify("x.y.z", alg="ES256", k=key("rsa2048.pub.pem")))
    expect_usage("more kids than keys", verify("x.y.z", "--kid", "a", "--kid", "b"))
    expect_usage("digest of missing file", cli.run("digest", os.path.join(d, "missing")))
    expect_usage("digest of two files", cli.run("digest", hs, hs))
    expect_usage("jwks without key", cli.run("jwks"))
    expect_usage("jwks of an HMAC secret", cli.run("jwks", "--key", hs))

    # ---- sign / verify --------------------------------------------------------
    rc, out, err = sign("--aud", "orders", "--kid", "k1")
    token = out.strip()
    check("sign prints one newline-terminated token",
          rc == 0 and out.endswith("\n") and out.count("\n") == 1 and token.count(".") == 2 and err == "",
          repr((rc, out, err)))
    header = json.loads(b64url_decode(token.split(".")[0]))
    check("sign header", header == {"alg": "HS256", "typ": "JWT", "kid": "k1"}, header)
    rc, out, err = verify(token, "--aud", "orders", "--iss", "kong")
    check("verify valid token", rc == 0 and err == "" and out.endswith("\n"), repr((rc, out, err)))
    claims = json.loads(out) if rc == 0 else {}
    check("verify prints claims JSON",
          claims.get("iss") == "kong" and claims.get("aud") == "orders" and claims.get("iat") == NOW
          and claims.get("exp") == NOW + 60 and len(claims.get("jti", "")) == 22, claims)
    check("claims are the payload bytes", out.rstrip("\n").encode() == b64url_decode(token.split(".")[1]), out)
    expect_invalid("expired", verify(token, now=NOW + 61), "expired")
    rc, out, err = verify(token, "--leeway", "5", now=NOW + 62)
    check("leeway accepts slightly late token", rc == 0, err)
    expect_invalid("bad audience", verify(token, "--aud", "billing"), "bad_audience")
    expect_invalid("bad issuer", verify(token, "--iss", "other"), "bad_issuer")
    parts = token.split(".")
    sig = bytearray(b64url_decode(parts[2]))
    sig[0] ^= 1
    expect_invalid("bad signature", verify(parts[0] + "." + parts[1] + "." + b64url(bytes(sig))), "bad_signature")
    expect_invalid("malformed", verify("abc.def"), "malformed")
    expect_invalid("bad base64", verify(token + "="), "bad_base64")
    expect_invalid("token too long", verify(token, "--max-token-length", "20"), "token_too_long")
    rc, out, err = verify("-", stdin=(token + "\n").encode())
    check("token from stdin", rc == 0 and json.loads(out)["aud"] == "orders", repr((rc, out, err)))
    expect_invalid("garbage from stdin", verify("-", stdin=b"garbage\n"), "malformed")
    rc, out, err = cli.run("verify", "--alg", "HS256", "--key", "-", "--now", str(NOW), token, stdin=secret)
    check("key from stdin", rc == 0, err)
    expect_usage("two inputs from stdin", cli.run("verify", "--alg", "HS256", "--key", "-", "-", stdin=secret))
    expect_usage("token and body from stdin", verify("-", "--body", "-", stdin=b""))
    expect_usage("sign key and body from stdin", cli.run("sign", "--alg", "HS256", "--key", "-", "--body", "-"))

    # --ttl and --max-lifetime
    rc, out, _ = sign("--ttl", "7200")
    expect_invalid("lifetime too long by default", verify(out.strip()), "lifetime_too_long")
    expect_exit("max-lifetime 0 is unlimited", verify(out.strip(), "--max-lifetime", "0"), 0)
    expect_exit("max-lifetime large enough", verify(out.strip(), "--max-lifetime", "7200"), 0)

    # Exact bytes of the secret file: a trailing newline is part of it.
    nl = write("hs_nl.key", secret + b"\n")
    rc, out, _ = sign(k=nl)
    expect_invalid("secret file newline is significant", verify(out.strip(), k=hs), "bad_signature")
    expect_exit("same file with newline verifies", verify(out.strip(), k=nl), 0)
    # Verified independently: HMAC over the signing input with the exact bytes.
    import hmac as _hmac
    t = out.strip().split(".")
    mac = _hmac.new(secret + b"\n", (t[0] + "." + t[1]).encode(), hashlib.sha256).digest()
    check("HS256 MAC computed over the exact file bytes", b64url(mac) == t[2], t)

    # Request binding.
    body = write("body.json", b'{"amount": 100}\n')
    other = write("other.json", b'{"amount": 1000}\n')
    rc, out, err = sign("--body", body, "--method", "POST", "--path", "/v1/pay", "--query", "a=1&b=2")
    bound = out.strip()
    c = json.loads(b64url_decode(bound.split(".")[1]))
    check("binding claims", c.get("htm") == "POST" and c.get("htu") == "/v1/pay"
          and c.get("query_sha256") == sha_b64(b"a=1&b=2")
          and c.get("body_sha256") == sha_b64(b'{"amount": 100}\n'), c)
    same = ("--body", body, "--method", "POST", "--path", "/v1/pay", "--query", "a=1&b=2")
    expect_exit("binding verifies", verify(bound, *same), 0)
    expect_invalid("body mismatch", verify(bound, "--body", other), "body_mismatch")
    expect_invalid("method mismatch", verify(bound, "--method", "GET"), "method_mismatch")
    expect_invalid("path mismatch", verify(bound, "--path", "/v1/pay/"), "path_mismatch")
    expect_invalid("query mismatch", verify(bound, "--query", "a=1&b=3"), "query_mismatch")
    expect_invalid("empty query mismatch", verify(bound, "--query", ""), "query_mismatch")
    expect_exit("body digest given directly", verify(bound, "--body-sha256", sha_b64(b'{"amount": 100}\n')), 0)
    rc, out, _ = cli.run("verify", "--alg", "HS256", "--key", hs, "--now", str(NOW), "--body", "-", bound,
                         stdin=b'{"amount": 100}\n')
    check("body from stdin", rc == 0, out)
    expect_invalid("binding claim missing", verify(token, "--method", "GET"), "missing_claim")
    rc, out, _ = sign("--query", "")
    c = json.loads(b64url_decode(out.strip().split(".")[1]))
    check('--query "" binds the empty query', c.get("query_sha256") == sha_b64(b""), c)
    expect_exit('verify --query ""', verify(out.strip(), "--query", ""), 0)
    check("no body flag, no body_sha256", "body_sha256" not in c and "htm" not in c, c)

    # Header binding: hdrs + hdr_sha256, recomputed here from the canonical text.
    rc, out, err = sign("--bind-headers", "Content-Type,X-HTTP-Method-Override,X-Absent",
                        "--header", "content-type: \tapplication/json ", "--header", "Accept: */*",
                        "--header", "X-HTTP-Method-Override: POST", "--header", "x-http-method-override:PUT")
    hb = out.strip()
    c = json.loads(b64url_decode(hb.split(".")[1])) if rc == 0 else {}
    canonical = b"content-type:application/json\nx-http-method-override:POST, PUT\nx-absent:\n"
    check("sign --bind-headers claims",
          c.get("hdrs") == ["content-type", "x-http-method-override", "x-absent"]
          and c.get("hdr_sha256") == sha_b64(canonical) and list(c)[-2:] == ["hdrs", "hdr_sha256"],
          repr((rc, c, err)))
    same_headers = ("--header", "X-Http-Method-Override: POST", "--header", "Content-Type: application/json",
                    "--header", "x-http-method-override: PUT", "--header", "Cookie: x=1")
    expect_exit("verify --header", verify(hb, *same_headers), 0)
    expect_exit("verify --require-headers", verify(hb, *same_headers, "--require-headers", "content-type"), 0)
    expect_exit("headers not checked without --header", verify(hb), 0)
    expect_invalid("header value changed",
                   verify(hb, "--header", "Content-Type: application/json",
                          "--header", "X-HTTP-Method-Override: DELETE"), "header_mismatch")
    expect_invalid("header order of repeats matters",
                   verify(hb, "--header", "Content-Type: application/json",
                          "--header", "X-HTTP-Method-Override: PUT", "--header", "X-HTTP-Method-Override: POST"),
                   "header_mismatch")
    expect_invalid("absent header now present",
                   verify(hb, *same_headers, "--header", "X-Absent: 1"), "header_mismatch")
    expect_invalid("required header not bound",
                   verify(hb, *same_headers, "--require-headers", "content-type,authorization"), "header_mismatch")
    expect_invalid("--require-headers alone checks (no headers received)",
                   verify(hb, "--require-headers", "content-type"), "header_mismatch")
    expect_invalid("headers checked, token binds none", verify(token, "--header", "A: 1"), "missing_claim")
    expect_usage("--header without --bind-headers", sign("--header", "A: 1"))
    expect_usage("--header without colon", sign("--bind-headers", "a", "--header", "A 1"))
    expect_usage("--header with empty name", verify(hb, "--header", ": 1"))
    expect_usage("--bind-headers with a space", sign("--bind-headers", "a, b"))
    expect_usage("--bind-headers empty", sign("--bind-headers", ""))
    expect_usage("--bind-headers repeated name", sign("--bind-headers", "a,A"))
    expect_usage("--require-headers not a token", verify(hb, "--header", "A: 1", "--require-headers", "a b"))
    rc, out, _ = sign("--bind-headers", "X-A")
    c = json.loads(b64url_decode(out.strip().split(".")[1]))
    check("bound header given by no --header is empty", c.get("hdr_sha256") == sha_b64(b"x-a:\n"), c)

    # Consumer identity, extra claims, escaping.
    rc, out, err = sign("--sub", "c-1", "--consumer-id", "c-1", "--consumer-username", 'al"ice\n',
                        "--credential-id", "cr-1", "--claims", '{"tier":"gold"}')
    c = json.loads(b64url_decode(out.strip().split(".")[1]))
    check("consumer claims", c.get("consumer") == {"id": "c-1", "username": 'al"ice\n'}
          and c.get("credential") == {"id": "cr-1"} and c.get("tier") == "gold"
          and list(c)[-1] == "tier", c)

    # Every algorithm, and the private PEM also verifies.
    for alg, priv, pub in (("HS384", None, None), ("HS512", None, None),
                           ("RS256", "rsa2048.pem", "rsa2048.pub.pem"),
                           ("PS256", "rsa2048.pem", "rsa2048.pub.pem"),
                           ("ES256", "ec256.pem", "ec256.pub.pem"),
                           ("EdDSA", "ed25519.pem", "ed25519.pub.pem")):
        if priv is None:
            sk = vk = write(f"{alg}.key", bytes(range(1, 65)))
        else:
            sk, vk = key(priv), key(pub)
        rc, out, err = sign(alg=alg, k=sk)
        check(f"{alg} sign", rc == 0, err)
        expect_exit(f"{alg} verify", verify(out.strip(), alg=alg, k=vk), 0)
        expect_exit(f"{alg} verify with private key", verify(out.strip(), alg=alg, k=sk), 0)

    # Key confusion: HS256 MAC keyed with the RSA public key's PEM text.
    rc, out, _ = sign(alg="HS256", k=key("rsa2048.pub.pem"))
    expect_invalid("key confusion", verify(out.strip(), alg="RS256", k=key("rsa2048.pub.pem")), "key_confusion")
    # alg none.
    none_tok = b64url(b'{"alg":"none","typ":"JWT"}') + "." + b64url(b'{"exp":1700000060}') + "."
    expect_invalid("alg none", verify(none_tok), "alg_none")

    # Rotation: repeated --key/--kid pairs, and a JWKS file.
    rc, a_tok, _ = sign("--kid", "2024-01", alg="ES256", k=key("ec256.pem"))
    rc, b_tok, _ = sign("--kid", "2024-02", alg="ES256", k=key("ec256_b.pem"))
    rc, c_tok, _ = sign("--kid", "2023-12", alg="ES256", k=key("ec256.pem"))
    rot = ("verify", "--alg", "ES256", "--now", str(NOW), "--key", key("ec256.pub.pem"), "--kid", "2024-01",
           "--key", key("ec256_b.pub.pem"), "--kid", "2024-02")
    expect_exit("rotation old key", cli.run(*rot, a_tok.strip()), 0)
    expect_exit("rotation new key", cli.run(*rot, b_tok.strip()), 0)
    expect_invalid("rotation unknown kid", cli.run(*rot, c_tok.strip()), "unknown_kid")
    rc, hs_tok, _ = sign("--kid", "hs")
    mixed = ("verify", "--now", str(NOW), "--alg", "ES256", "--key", key("ec256.pub.pem"), "--kid", "2024-01",
             "--alg", "HS256", "--key", hs, "--kid", "hs")
    expect_exit("one --alg per --key", cli.run(*mixed, hs_tok.strip()), 0)
    expect_exit("one --alg per --key (ES256)", cli.run(*mixed, a_tok.strip()), 0)

    # ---- jwks -------------------------------------------------------------
    for name, kty, alg in (("rsa2048.pem", "RSA", "RS256"), ("rsa2048.pub.pem", "RSA", "RS256"),
                           ("ec256.pem", "EC", "ES256"), ("ed25519.pem", "OKP", "EdDSA")):
        rc, out, err = cli.run("jwks", "--key", key(name), "--kid", "k-" + kty)
        ok = rc == 0
        doc = json.loads(out) if ok else {}
        k0 = (doc.get("keys") or [{}])[0]
        check(f"jwks {name}", ok and list(doc) == ["keys"] and len(doc["keys"]) == 1 and k0.get("kty") == kty
              and k0.get("alg") == alg and k0.get("use") == "sig" and k0.get("kid") == "k-" + kty
              and "d" not in k0 and out.endswith("\n"), out + err)
    rc, out, _ = cli.run("jwks", "--key", key("rsa2048.pem"), "--alg", "PS256")
    check("jwks --alg PS256", rc == 0 and json.loads(out)["keys"][0]["alg"] == "PS256", out)
    expect_usage("jwks --alg that does not fit", cli.run("jwks", "--key", key("ec256.pem"), "--alg", "RS256"))
    rc, out, _ = cli.run("jwks", "--key", key("ec256.pem"), "--kid", "2024-01")
    jwks_file = write("jwks.json", out.encode())
    expect_exit("verify with --jwks", cli.run("verify", "--jwks", jwks_file, "--now", str(NOW), a_tok.strip()), 0)
    expect_invalid("verify with --jwks, unknown kid",
                   cli.run("verify", "--jwks", jwks_file, "--now", str(NOW), c_tok.strip()), "unknown_kid")

    # ---- digest ---------------------------------------------------------------
    big = bytes((i * 7 + 3) % 256 for i in range(3 * 1024 * 1024 + 17))
    big_file = write("big.bin", big)
    rc, out_file, _ = cli.run("digest", big_file)
    rc2, out_stdin, _ = cli.run("digest", stdin=big)
    rc3, out_dash, _ = cli.run("digest", "-", stdin=big)
    want = sha_b64(big) + "\n"
    check("digest of file", rc == 0 and out_file == want, out_file)
    check("digest of stdin", rc2 == 0 and out_stdin == want, out_stdin)
    check("digest of -", rc3 == 0 and out_dash == want, out_dash)
    rc, out, _ = cli.run("digest", stdin=b"")
    check("digest of empty stdin", rc == 0 and out == "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU\n", out)
    rc, out, _ = cli.run("digest", write("abc.txt", b"abc"))
    check("digest abc", rc == 0 and out == "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0\n", out)
    rc, out, _ = sign("--body", big_file)
    c = json.loads(b64url_decode(out.strip().split(".")[1]))
    check("sign --body streams a large file", c.get("body_sha256") == sha_b64(big), c)

    tmp.cleanup()
    print(f"cli: {RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 0 if RESULTS["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
