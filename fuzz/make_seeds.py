#!/usr/bin/python3
"""Writes the seed corpora in fuzz/corpus/<target>/ from the test vectors.

Tokens are minted here with PyJWT (an implementation independent of the
library under test) using the keys in test/keys and the HS256 secret and
clock of fuzz/fuzz_keys.hpp, so they verify inside the fuzzers. Run again
after changing a key or the token format; the output is deterministic
except for ECDSA/RSA-PSS signatures (randomised by design).

    fuzz/make_seeds.py            # (re)writes its seeds in fuzz/corpus/

Files it did not write are kept: fuzz/corpus/c_abi and fuzz/corpus/verify_paths
also hold inputs found by fuzzing and minimised with `build-fuzz/c_abi_fuzz -merge=1 NEW OLD...`,
which reach signing and verification far more often than random bytes.
"""
import base64
import hashlib
import json
import os
import random
import sys

import jwt
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = os.path.join(HERE, "..", "test", "keys")
OUT = os.path.join(HERE, "corpus")
SECRET = b"fuzz-hs256-secret-0123456789abcdef"  # fuzz_keys.hpp kHsSecret
NOW = 1700000000                                # fuzz_keys.hpp kNow


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sha(b):
    return b64(hashlib.sha256(b).digest())


def key(name):
    with open(os.path.join(KEYS, name), "rb") as f:
        return f.read()


def claims(**over):
    c = {"iss": "kong", "aud": "orders", "iat": NOW, "nbf": NOW, "exp": NOW + 60,
         "jti": b64(bytes(range(16))), "sub": "c-1",
         "consumer": {"id": "c-1", "username": "alice", "custom_id": "a-1"},
         "htm": "GET", "htu": "/42", "query_sha256": sha(b""), "body_sha256": sha(b"")}
    c.update(over)
    return c


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    ec, ed, rsa = key("ec256.pem"), key("ed25519.pem"), key("rsa2048.pem")
    tokens = {
        "hs256": jwt.encode(claims(), SECRET, "HS256"),
        "hs256_kid": jwt.encode(claims(), SECRET, "HS256", headers={"kid": "k1"}),
        "es256": jwt.encode(claims(), ec, "ES256", headers={"kid": "ec-1"}),
        "eddsa": jwt.encode(claims(), ed, "EdDSA"),
        "rs256": jwt.encode(claims(), rsa, "RS256", headers={"kid": "rsa-1"}),
        "expired": jwt.encode(claims(exp=NOW - 100), SECRET, "HS256"),
        "aud_array": jwt.encode(claims(aud=["x", "orders"]), SECRET, "HS256"),
        "no_binding": jwt.encode({"iss": "kong", "exp": NOW + 60, "jti": "j"}, SECRET, "HS256"),
    }
    hs = tokens["hs256"]
    h, p, s = hs.split(".")
    tokens.update({
        "alg_none": b64(b'{"alg":"none","typ":"JWT"}') + "." + p + ".",
        "two_segments": h + "." + p,
        "padded": hs + "==",
        "bad_b64": h + "." + p + "." + s[:-1] + "+",
        "crit": jwt.encode(claims(), SECRET, "HS256", headers={"crit": ["x"], "x": 1}),
        "hs_vs_rsa": jwt.encode(claims(), SECRET, "HS256", headers={"kid": "rsa-1"}),
    })
    # token_verify: [options byte][mode byte][token] for raw tokens,
    # [options][mode 2|3][header JSON]\0[payload JSON] for signed-here inputs.
    for name, tok in tokens.items():
        for opts in (0x00, 0x07, 0x7F):
            write("token_verify", "%s_%02x" % (name, opts), bytes([opts, 0]) + tok.encode())
    good = json.dumps(claims(), separators=(",", ":"))
    pairs = {
        "good": ('{"alg":"HS256","typ":"JWT"}', good),
        "dup_claim": ('{"alg":"HS256"}', good[:-1] + ',"exp":1}'),
        "dup_header": ('{"alg":"HS256","alg":"HS256"}', good),
        "deep": ('{"alg":"HS256"}', '{"exp":%d,"x":%s}' % (NOW + 60, "[" * 64 + "]" * 64)),
        "bignum": ('{"alg":"HS256"}', '{"exp":1e400,"iat":-9223372036854775809}'),
        "exp_string": ('{"alg":"HS256"}', '{"exp":"%d"}' % (NOW + 60)),
        "not_object": ('{"alg":"HS256"}', '[1,2,3]'),
        "utf8": ('{"alg":"HS256"}', '{"exp":%d,"sub":"\\ud800"}' % (NOW + 60)),
        "typ_bad": ('{"alg":"HS256","typ":7}', good),
    }
    for name, (hdr, pl) in pairs.items():
        write("token_verify", "signed_hs_" + name, bytes([0x1F, 2]) + hdr.encode() + b"\0" + pl.encode())
    es_hdr = '{"alg":"ES256","kid":"ec-1"}'
    write("token_verify", "signed_es_good", bytes([0x1F, 3]) + es_hdr.encode() + b"\0" + good.encode())

    # verify_paths: [options][mode | cap<<2][...]; mode 0 raw token, 1 header
    # \0 payload, 2 payload alone, 3 header alone (verify_paths_fuzz.cpp).
    # Usual tokens (which the scanner reads) and every shape it declines.
    for name, tok in tokens.items():
        write("verify_paths", "token_" + name, bytes([0x1F, 0x08]) + tok.encode())
    for name, (hdr, pl) in pairs.items():
        write("verify_paths", "pair_" + name, bytes([0x1F, 0x09]) + hdr.encode() + b"\0" + pl.encode())
    usual = claims(hdrs=["host"], hdr_sha256="x", extra={"n": [1, {"m": None}], "t": True})
    variants = {
        "usual": json.dumps(usual, separators=(",", ":")),
        "spaced": json.dumps(usual, indent=2),
        "escaped": json.dumps(claims(sub="a\"b\\c\u00e9")),
        "utf8_raw": json.dumps(claims(sub="caf\u00e9"), ensure_ascii=False),
        "float_exp": json.dumps(claims(exp=NOW + 60.5)),
        "int16": json.dumps(claims(exp=1234567890123456)),
        "neg_zero": json.dumps(claims()).replace('"exp": %d' % (NOW + 60), '"exp": -0'),
        "aud_mixed": json.dumps(claims(aud=["orders", 1])),
        "hdrs_bad": json.dumps(claims(hdrs=["host", "Host", 1])),
        "dup_nested": json.dumps(claims())[:-1] + ',"o":{"a":1,"a":2}}',
        "deep9": json.dumps(claims())[:-1] + ',"d":' + "[" * 9 + "]" * 9 + "}",
        "trailing": json.dumps(claims()) + " x",
    }
    for name, pl in variants.items():
        write("verify_paths", "payload_" + name, bytes([0x7F, 0x0A]) + pl.encode())
    for name, hdr in {"usual": '{"alg":"HS256","typ":"JWT"}', "kid": '{"alg":"HS256","kid":"hs-1"}',
                      "kid_other": '{"alg":"HS256","kid":"ec-1"}', "typ_lower": '{"alg":"HS256","typ":"jwt"}',
                      "escaped": '{"alg":"HS\\u0032\\u0035\\u0036"}', "none": '{"alg":"nOnE"}',
                      "crit": '{"alg":"HS256","crit":["b64"]}', "nested": '{"alg":"HS256","x":{"y":[1]}}'}.items():
        write("verify_paths", "header_" + name, bytes([0x07, 0x0B]) + hdr.encode())

    # base64url: segments of real tokens plus the strictness edge cases.
    for i, seg in enumerate(hs.split(".") + tokens["es256"].split(".")[2:]):
        write("base64url", "segment_%d" % i, seg)
    for name, text in {"empty": "", "one": "QQ", "two": "QUI", "three": "QUJD",
                       "noncanon": "QR", "pad": "QQ==", "plus": "a+b/", "len1mod4": "QUJDR"}.items():
        write("base64url", name, text)

    # jwk: [alg selector][JSON]; selector 0 = take alg from the JWK.
    def pub_jwk(algo, pem, alg, kid):
        j = json.loads(algo.to_jwk(algo.prepare_key(pem)))
        j.update({"alg": alg, "kid": kid, "use": "sig"})
        return j
    rsa_j = pub_jwk(RSAAlgorithm(RSAAlgorithm.SHA256), rsa, "RS256", "rsa-1")
    ec_j = pub_jwk(ECAlgorithm(ECAlgorithm.SHA256), ec, "ES256", "ec-1")
    ed_j = pub_jwk(OKPAlgorithm(), ed, "EdDSA", "ed-1")
    for j in (ec_j, ed_j, rsa_j):
        j.pop("d", None)
        for k in ("p", "q", "dp", "dq", "qi"):
            j.pop(k, None)
    oct_j = {"kty": "oct", "alg": "HS256", "kid": "h", "k": b64(SECRET)}
    write("jwk", "jwks_all", b"\0" + json.dumps({"keys": [ec_j, ed_j, rsa_j, oct_j]}).encode())
    write("jwk", "ec", b"\0" + json.dumps(ec_j).encode())
    write("jwk", "ed", bytes([7]) + json.dumps(ed_j).encode())
    write("jwk", "rsa_ps", bytes([5]) + json.dumps(rsa_j).encode())
    write("jwk", "oct", bytes([1]) + json.dumps(oct_j).encode())
    priv = dict(ec_j, d=b64(b"\1" * 32))
    write("jwk", "ec_with_d", b"\0" + json.dumps(priv).encode())
    write("jwk", "use_enc", b"\0" + json.dumps(dict(ec_j, use="enc")).encode())
    write("jwk", "crv_bad", b"\0" + json.dumps(dict(ec_j, crv="P-384")).encode())

    # pem_key: [alg selector][PEM]; 0..6 = HS256 HS384 HS512 RS256 PS256 ES256 EdDSA.
    for name in sorted(os.listdir(KEYS)):
        if not name.endswith(".pem"):
            continue
        sel = 5 if name.startswith("ec") else 6 if ("ed25519" in name) else 3
        write("pem_key", name, bytes([sel]) + key(name))
        write("pem_key", "hs_" + name, bytes([0]) + key(name))
    write("pem_key", "truncated", bytes([5]) + ec[: len(ec) // 2])
    write("pem_key", "encrypted_hdr", bytes([3]) + b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")

    # c_abi: FuzzedDataProvider input, so arbitrary bytes are meaningful;
    # a spread of lengths and a fixed seed keeps the corpus reproducible.
    rnd = random.Random(6)
    for i, n in enumerate((16, 64, 200, 400, 800, 1600, 3000)):
        write("c_abi", "random_%d" % i, bytes(rnd.getrandbits(8) for _ in range(n)))
    for i, tok in enumerate((hs, tokens["es256"])):
        write("c_abi", "token_%d" % i, tok.encode() * 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
