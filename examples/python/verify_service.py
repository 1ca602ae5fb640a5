#!/usr/bin/python3
"""Upstream service that trusts a request only when Kong's upstream-jwt token
proves it came through the gateway, unaltered, recently, and for this service.

Answers every request with the verified claims as JSON (200), or
401 {"error": reason} when the token is missing or invalid.

    verify_service.py --audience orders --port 9000      # HS256, secret from $UPSTREAM_JWT_SECRET
    verify_service.py --audience orders --alg ES256 --key gw-2024=gateway-pub.pem
    verify_service.py --audience orders --alg HS256 --key old=old.secret --key new=new.secret

A key given as KID=FILE only accepts tokens whose header carries that kid;
give several during a key rotation. HS* FILEs hold the secret's exact bytes,
others a PEM public key; --jwks takes a JWKS file instead.

Needs PyJWT (Debian: python3-jwt) and, for asymmetric keys, python3-cryptography.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from jwt.algorithms import get_default_algorithms

CHUNK = 64 * 1024
# The claims the gateway always sends; a token without them is not ours.
REQUIRED = ["iss", "aud", "iat", "exp", "jti", "htm", "htu", "query_sha256", "body_sha256"]


class Reject(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def b64url_sha256(data_or_hash):
    digest = data_or_hash.digest() if hasattr(data_or_hash, "digest") else hashlib.sha256(data_or_hash).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def load_keys(args):
    """[(kid or None, key object)] usable with args.alg."""
    algo = get_default_algorithms()[args.alg]
    keys = []
    for spec in args.key or []:
        kid, _, path = spec.rpartition("=")
        with open(path, "rb") as f:
            material = f.read()
        keys.append((kid or None, algo.prepare_key(material)))
    if args.jwks:
        with open(args.jwks) as f:
            for jwk in json.load(f).get("keys", []):
                if jwk.get("alg", args.alg) != args.alg:
                    continue
                keys.append((jwk.get("kid"), algo.from_jwk(json.dumps(jwk))))
    if not keys:
        secret = os.environ.get(args.secret_env)
        if not secret:
            sys.exit("verify_service: no key: give --key/--jwks or set $%s" % args.secret_env)
        keys.append((None, algo.prepare_key(secret.encode())))
    return keys


class ReplayGuard:
    """jti values seen, kept until their token expires (bounded)."""

    def __init__(self, capacity=100000):
        self.seen = {}
        self.capacity = capacity
        self.lock = threading.Lock()

    def check_and_add(self, jti, exp, leeway):
        now = time.time()
        with self.lock:
            if len(self.seen) >= self.capacity:
                self.seen = {j: e for j, e in self.seen.items() if e >= now}
                if len(self.seen) >= self.capacity:
                    self.seen.pop(min(self.seen, key=self.seen.get))
            if jti in self.seen:
                raise Reject("replayed")
            self.seen[jti] = exp + leeway


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {"requests": 0, "verified": 0, "rejected": 0}

    def add(self, ok):
        with self.lock:
            self.counts["requests"] += 1
            self.counts["verified" if ok else "rejected"] += 1

    def snapshot(self):
        with self.lock:
            return dict(self.counts)


def verify(cfg, token, method, path, query, body_digest):
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise Reject("malformed")
    if header.get("alg") != cfg.alg:  # pinned: never let the token choose
        raise Reject("alg_not_allowed")
    kid = header.get("kid")
    candidates = [k for k_kid, k in cfg.keys if k_kid == kid] if kid is not None \
        else [k for _, k in cfg.keys]
    if not candidates:
        raise Reject("unknown_kid")
    claims = None
    for key in candidates:
        try:
            claims = jwt.decode(token, key, algorithms=[cfg.alg], issuer=cfg.issuer,
                                audience=cfg.audience, leeway=cfg.leeway,
                                options={"require": REQUIRED})
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError:
            raise Reject("expired")
        except jwt.InvalidAudienceError:
            raise Reject("bad_audience")
        except jwt.InvalidIssuerError:
            raise Reject("bad_issuer")
        except jwt.MissingRequiredClaimError:
            raise Reject("missing_claim")
        except jwt.ImmatureSignatureError:
            raise Reject("not_yet_valid")
        except jwt.InvalidIssuedAtError:
            raise Reject("issued_in_future")
        except jwt.InvalidTokenError:
            raise Reject("malformed")
    if claims is None:
        raise Reject("bad_signature")
    if claims["exp"] - claims["iat"] > cfg.max_lifetime:
        raise Reject("lifetime_too_long")
    # The request binding: this token was minted for exactly this request.
    if not hmac.compare_digest(str(claims["htm"]), method):
        raise Reject("method_mismatch")
    if not hmac.compare_digest(str(claims["htu"]), path):
        raise Reject("path_mismatch")
    if not hmac.compare_digest(str(claims["query_sha256"]), b64url_sha256(query.encode("latin-1"))):
        raise Reject("query_mismatch")
    if not hmac.compare_digest(str(claims["body_sha256"]), body_digest):
        raise Reject("body_mismatch")
    if cfg.replay:
        cfg.replay.check_and_add(str(claims["jti"]), claims["exp"], cfg.leeway)
    return claims


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "verify-service-python"
    cfg = None

    def hash_body(self):
        """SHA-256 of the body as received, streamed (bodies may be large)."""
        h = hashlib.sha256()
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                remaining = size
                while remaining:
                    chunk = self.rfile.read(min(CHUNK, remaining))
                    if not chunk:
                        raise ConnectionError("body truncated")
                    h.update(chunk)
                    remaining -= len(chunk)
                self.rfile.readline()
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining:
                chunk = self.rfile.read(min(CHUNK, remaining))
                if not chunk:
                    raise ConnectionError("body truncated")
                h.update(chunk)
                remaining -= len(chunk)
        return b64url_sha256(h)

    def reply(self, status, obj):
        out = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    def handle_any(self):
        cfg = self.cfg
        path, _, query = self.path.partition("?")
        if cfg.stats and path == "/__stats" and self.command == "GET" and not self.headers.get(cfg.header):
            return self.reply(200, cfg.stats.snapshot())
        try:
            body_digest = self.hash_body()
        except (ValueError, ConnectionError):
            self.close_connection = True
            return self.reply(400, {"error": "bad_request"})
        tokens = self.headers.get_all(cfg.header) or []
        token = (tokens[0] if tokens else "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        try:
            if len(tokens) > 1:
                raise Reject("malformed")  # several token headers: refuse rather than pick one
            if not token:
                raise Reject("missing_token")
            claims = verify(cfg, token, self.command, path, query, body_digest)
        except Reject as e:
            if cfg.stats:
                cfg.stats.add(False)
            self.log_message("rejected %s %s: %s", self.command, path, e.reason)
            return self.reply(401, {"error": e.reason})
        if cfg.stats:
            cfg.stats.add(True)
        self.reply(200, claims)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_any

    def log_message(self, fmt, *args):
        if not self.cfg.quiet:
            sys.stderr.write("verify-service-python: %s\n" % (fmt % args))


def main(argv):
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=int(env("PORT", "9000")))
    ap.add_argument("--listen", default=env("LISTEN", "127.0.0.1"))
    ap.add_argument("--alg", default=env("UPSTREAM_JWT_ALG", "HS256"),
                    choices=["HS256", "HS384", "HS512", "RS256", "PS256", "ES256", "EdDSA"])
    ap.add_argument("--key", action="append", metavar="[KID=]FILE",
                    help="secret bytes (HS*) or PEM public key; repeat for rotation")
    ap.add_argument("--jwks", metavar="FILE", help="JWKS with the gateway's public keys")
    ap.add_argument("--secret-env", default="UPSTREAM_JWT_SECRET",
                    help="env var holding the HS* secret when no --key/--jwks (default %(default)s)")
    ap.add_argument("--issuer", default=env("UPSTREAM_JWT_ISSUER", "kong"))
    ap.add_argument("--audience", default=env("UPSTREAM_JWT_AUDIENCE"),
                    help="this service's name as the gateway knows it (required)")
    ap.add_argument("--leeway", type=int, default=int(env("UPSTREAM_JWT_LEEWAY", "5")))
    ap.add_argument("--max-lifetime", type=int, default=3600)
    ap.add_argument("--header", default=env("UPSTREAM_JWT_HEADER", "X-Upstream-JWT"))
    ap.add_argument("--reject-replay", action="store_true", help="accept each jti once")
    ap.add_argument("--stats", action="store_true", help="serve request counters at GET /__stats")
    ap.add_argument("--quiet", action="store_true")
    cfg = ap.parse_args(argv)
    if not cfg.audience:
        ap.error("--audience (or $UPSTREAM_JWT_AUDIENCE) is required")
    cfg.keys = load_keys(cfg)
    cfg.replay = ReplayGuard() if cfg.reject_replay else None
    cfg.stats = Stats() if cfg.stats else None
    Handler.cfg = cfg
    server = ThreadingHTTPServer((cfg.listen, cfg.port), Handler)
    server.daemon_threads = True
    sys.stderr.write("verify-service-python: listening on %s:%d\n" % (cfg.listen, cfg.port))
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    main(sys.argv[1:])
