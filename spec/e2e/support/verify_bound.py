#!/usr/bin/python3
"""Verifies an upstream-jwt token the way a service would, with PyJWT and
hashlib only (independent of the project's library): signature, aud, iss,
then the header binding over the headers the service received.

    verify_bound.py SECRET_FILE AUDIENCE TOKEN HEADERS_JSON [REQUIRED,NAMES]

HEADERS_JSON: [[name, value], ...] in the order received. Prints the claims
as JSON and exits 0, or prints the reason (missing_claim, header_mismatch,
or PyJWT's error) and exits 1.
"""
import base64
import hashlib
import json
import sys

import jwt


def canonical(names, headers):
    out = ""
    for name in names:
        values = [v.strip(" \t") for n, v in headers if n.lower() == name]
        out += name + ":" + ", ".join(values) + "\n"
    return out


def b64url_sha256(text):
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode("latin-1")).digest()).rstrip(b"=").decode()


def main():
    secret = open(sys.argv[1], "rb").read()
    audience, token, headers = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    required = [n.lower() for n in sys.argv[5].split(",")] if len(sys.argv) > 5 and sys.argv[5] else []
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=audience, issuer="kong",
                            options={"require": ["exp", "iat", "jti"]})
    except jwt.PyJWTError as e:
        print(type(e).__name__)
        return 1
    if "hdrs" not in claims or "hdr_sha256" not in claims:
        print("missing_claim")
        return 1
    if any(n not in claims["hdrs"] for n in required):
        print("header_mismatch")
        return 1
    if b64url_sha256(canonical(claims["hdrs"], headers)) != claims["hdr_sha256"]:
        print("header_mismatch")
        return 1
    print(json.dumps(claims))
    return 0


if __name__ == "__main__":
    sys.exit(main())
