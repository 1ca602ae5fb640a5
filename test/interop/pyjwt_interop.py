#!/usr/bin/env python3
"""Interop between the `upstream-jwt` CLI and PyJWT, in both directions.

For every algorithm: keys are generated here with `cryptography`; tokens the
CLI signs must verify in PyJWT (claims, alg, kid checked), and tokens PyJWT
signs must verify with the CLI (and fail with the wrong key). Also checks that
`upstream-jwt digest` is base64url(SHA-256) as hashlib computes it, and that
`upstream-jwt jwks` output loads as a PyJWT `PyJWKSet` whose keys verify our
tokens, and that hdr_sha256 (header binding) is what the few lines of Python
in docs/token-format.md compute, in both directions.

Run with the Debian python (python3-jwt, python3-cryptography):
  /usr/bin/python3 test/interop/pyjwt_interop.py --cli build/upstream-jwt
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

try:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
except ImportError as e:  # a clear failure, not a silent skip
    print(f"interop: missing Python module ({e}); install python3-jwt python3-cryptography")
    print("interop: 0 passed, 1 failed")
    sys.exit(1)

RESULTS = {"passed": 0, "failed": 0}
ALGS = ["HS256", "HS384", "HS512", "RS256", "PS256", "ES256", "EdDSA"]


def check(name, cond, detail=""):
    if cond:
        RESULTS["passed"] += 1
        print(f"ok   {name}")
    else:
        RESULTS["failed"] += 1
        print(f"FAIL {name}: {detail}")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sha_b64(data: bytes) -> str:
    return b64url(hashlib.sha256(data).digest())


# The service-side check of hdr_sha256, as docs/token-format.md shows it.
def hdr_sha256(names, headers):
    """names: the token's "hdrs"; headers: [(name, value), ...] as received
    (str values are the raw bytes as latin-1, as WSGI delivers them)."""
    canonical = b""
    for name in names:
        values = [v.strip(" \t") for n, v in headers if n.lower() == name]
        canonical += f"{name}:{', '.join(values)}\n".encode("latin-1")
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def pem_private(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def pem_public(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def make_keys(alg):
    """(signing material for PyJWT, verifying material for PyJWT,
    bytes for the CLI's signing key file, bytes for its verifying key file)"""
    if alg.startswith("HS"):
        secret = os.urandom({"HS256": 32, "HS384": 48, "HS512": 64}[alg] + 8)
        return secret, secret, secret, secret
    if alg in ("RS256", "PS256"):
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        # PyJWT 2.6's to_jwk drops leading zero bytes of x and y (1 key in 128), which RFC 7518
        # section 6.2.1.2 forbids and the CLI rightly refuses: the JWK check below would fail by
        # the luck of the draw. A key with full 32-byte coordinates keeps it about interop.
        while True:
            k = ec.generate_private_key(ec.SECP256R1())
            numbers = k.public_key().public_numbers()
            if numbers.x >> 248 and numbers.y >> 248:
                break
    else:
        k = ed25519.Ed25519PrivateKey.generate()
    return k, k.public_key(), pem_private(k), pem_public(k)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    cli = ap.parse_args().cli
    print(f"interop: PyJWT {jwt.__version__}")
    tmp = tempfile.TemporaryDirectory(prefix="ujwt-interop-")
    d = tmp.name

    def write(name, data: bytes):
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def run(*args, stdin=b""):
        p = subprocess.run([cli, *args], input=stdin, capture_output=True, timeout=30)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    body = b'{"order": 42, "note": "caf\xc3\xa9"}'
    body_file = write("body.json", body)
    query = "id=42&lang=fr%20CA"

    for alg in ALGS:
        py_sign, py_verify, cli_sign, cli_verify = make_keys(alg)
        sign_file = write(f"{alg}.sign", cli_sign)
        verify_file = write(f"{alg}.verify", cli_verify)

        # (1) CLI signs, PyJWT verifies.
        rc, out, err = run("sign", "--alg", alg, "--key", sign_file, "--kid", f"kid-{alg}", "--aud", "orders",
                           "--sub", "consumer-7", "--ttl", "120", "--method", "POST", "--path", "/v1/orders",
                           "--query", query, "--body", body_file, "--claims", '{"tier":"gold"}')
        token = out.strip()
        check(f"{alg}: CLI signs", rc == 0 and token.count(".") == 2, err)
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, py_verify, algorithms=[alg], audience="orders", issuer="kong",
                                options={"require": ["exp", "iat", "nbf", "iss", "aud", "jti"]})
            ok = (header.get("alg") == alg and header.get("kid") == f"kid-{alg}" and header.get("typ") == "JWT"
                  and claims["sub"] == "consumer-7" and claims["htm"] == "POST" and claims["htu"] == "/v1/orders"
                  and claims["query_sha256"] == sha_b64(query.encode())
                  and claims["body_sha256"] == sha_b64(body) and claims["tier"] == "gold"
                  and claims["exp"] - claims["iat"] == 120 and claims["nbf"] == claims["iat"]
                  and len(base64.urlsafe_b64decode(claims["jti"] + "==")) == 16)
            check(f"{alg}: PyJWT verifies CLI token", ok, (header, claims))
        except Exception as e:  # noqa: BLE001 - report any PyJWT rejection
            check(f"{alg}: PyJWT verifies CLI token", False, repr(e))
        # PyJWT must refuse it under another key: the signature really binds.
        _, other_verify, _, _ = make_keys(alg)
        try:
            jwt.decode(token, other_verify, algorithms=[alg], audience="orders")
            check(f"{alg}: PyJWT rejects CLI token under another key", False, "accepted")
        except jwt.InvalidSignatureError:
            check(f"{alg}: PyJWT rejects CLI token under another key", True)
        except Exception as e:  # noqa: BLE001 - any other error is a failure
            check(f"{alg}: PyJWT rejects CLI token under another key", False, repr(e))

        # (2) PyJWT signs, the CLI verifies.
        now = int(time.time())
        payload = {"iss": "kong", "aud": "orders", "iat": now, "nbf": now, "exp": now + 60,
                   "jti": str(uuid.uuid4()), "sub": "consumer-7", "htm": "POST", "htu": "/v1/orders",
                   "query_sha256": sha_b64(query.encode()), "body_sha256": sha_b64(body)}
        py_token = jwt.encode(payload, py_sign, algorithm=alg, headers={"kid": f"py-{alg}"})
        verify_args = ("verify", "--alg", alg, "--key", verify_file, "--kid", f"py-{alg}", "--iss", "kong",
                       "--aud", "orders", "--leeway", "5", "--method", "POST", "--path", "/v1/orders",
                       "--query", query, "--body", body_file)
        rc, out, err = run(*verify_args, py_token)
        ok = rc == 0 and json.loads(out) == payload
        check(f"{alg}: CLI verifies PyJWT token", ok, (rc, out, err))
        rc, out, err = run(*verify_args[:-2], "--body-sha256", sha_b64(body + b"x"), py_token)
        check(f"{alg}: CLI rejects PyJWT token for another body",
              rc == 1 and err.startswith("invalid token: body_mismatch: "), (rc, err))
        other_sign, _, _, _ = make_keys(alg)
        forged = jwt.encode(payload, other_sign, algorithm=alg, headers={"kid": f"py-{alg}"})
        rc, out, err = run(*verify_args, forged)
        check(f"{alg}: CLI rejects PyJWT token from another key",
              rc == 1 and err.startswith("invalid token: bad_signature: "), (rc, err))

        # (3) The CLI's JWKS loads in PyJWT and verifies the CLI's token.
        if not alg.startswith("HS"):
            rc, out, err = run("jwks", "--key", sign_file, "--kid", f"kid-{alg}", "--alg", alg)
            try:
                jwks = jwt.PyJWKSet.from_json(out)
                k = jwks.keys[0]
                claims = jwt.decode(token, k.key, algorithms=[alg], audience="orders")
                ok = (len(jwks.keys) == 1 and k.key_id == f"kid-{alg}" and k.public_key_use == "sig"
                      and json.loads(out)["keys"][0]["alg"] == alg and claims["sub"] == "consumer-7")
                check(f"{alg}: CLI JWKS loads in PyJWT and verifies", ok, out)
            except Exception as e:  # noqa: BLE001
                check(f"{alg}: CLI JWKS loads in PyJWT and verifies", False, f"{e!r} {out} {err}")
            # And PyJWT's own JWK of the key is accepted by the CLI.
            algo = jwt.get_algorithm_by_name(alg)
            jwk = json.loads(algo.to_jwk(py_verify))
            jwk.update({"alg": alg, "kid": f"py-{alg}", "use": "sig"})
            jwk_file = write(f"{alg}.jwk.json", json.dumps({"keys": [jwk]}).encode())
            rc, out, err = run("verify", "--jwks", jwk_file, "--aud", "orders", py_token)
            check(f"{alg}: CLI verifies PyJWT token with PyJWT's JWK", rc == 0, (rc, err))

    # Header binding: the CLI binds, PyJWT + a few lines of Python check it;
    # PyJWT mints a binding the same way and the CLI accepts it.
    secret = os.urandom(40)
    secret_file = write("hdr.key", secret)
    received = [("Content-Type", " application/json\t"), ("Accept", "*/*"),
                ("X-HTTP-Method-Override", "POST"), ("x-http-method-override", "PATCH")]
    names = "Content-Type,X-HTTP-Method-Override,X-Absent"
    header_flags = [arg for n, v in received for arg in ("--header", f"{n}:{v}")]
    rc, out, err = run("sign", "--alg", "HS256", "--key", secret_file, "--aud", "orders",
                       "--bind-headers", names, *header_flags)
    token = out.strip()
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience="orders")
        ok = (claims["hdrs"] == ["content-type", "x-http-method-override", "x-absent"]
              and hmac.compare_digest(claims["hdr_sha256"], hdr_sha256(claims["hdrs"], received)))
        check("header binding: PyJWT + hdr_sha256() accept the CLI token", ok, claims)
        tampered = [(n, "DELETE" if n == "X-HTTP-Method-Override" else v) for n, v in received]
        check("header binding: hdr_sha256() detects a changed header",
              claims["hdr_sha256"] != hdr_sha256(claims["hdrs"], tampered))
    except Exception as e:  # noqa: BLE001
        check("header binding: PyJWT + hdr_sha256() accept the CLI token", False, f"{e!r} {err}")
    now = int(time.time())
    bound = ["content-type", "x-http-method-override"]
    py_token = jwt.encode({"iss": "kong", "iat": now, "exp": now + 60, "jti": str(uuid.uuid4()),
                           "hdrs": bound, "hdr_sha256": hdr_sha256(bound, received)},
                          secret, algorithm="HS256")
    rc, out, err = run("verify", "--alg", "HS256", "--key", secret_file, "--require-headers",
                       "x-http-method-override", *header_flags, py_token)
    check("header binding: CLI verifies a PyJWT-minted binding", rc == 0, (rc, err))
    rc, out, err = run("verify", "--alg", "HS256", "--key", secret_file, *header_flags[:-2], py_token)
    check("header binding: CLI rejects it without the second override line",
          rc == 1 and err.startswith("invalid token: header_mismatch: "), (rc, err))

    # Digest equals hashlib's, for stdin and file, including a large body.
    for size in (0, 1, 55, 56, 64, 1000, 5 * 1024 * 1024 + 3):
        data = os.urandom(size)
        f = write("digest.bin", data)
        rc1, out1, _ = run("digest", f)
        rc2, out2, _ = run("digest", stdin=data)
        want = sha_b64(data)
        check(f"digest of {size} bytes equals hashlib", rc1 == 0 and rc2 == 0
              and out1.strip() == want and out2.strip() == want, (out1, out2, want))

    tmp.cleanup()
    print(f"interop: {RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 0 if RESULTS["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
