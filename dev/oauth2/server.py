#!/usr/bin/python3
"""Test-only OAuth2 authorization server and bearer-protected upstream for upstream-oauth2.

One process, two ports, shared state (so the upstream knows which tokens were issued):

token port (the authorization server):
  POST /token                      client credentials grant (RFC 6749 §4.4); authenticates the
                                   client with the method registered for it in the clients file:
                                   client_secret_basic, client_secret_post, client_secret_jwt
                                   (HS256, verified with PyJWT) or private_key_jwt (RS256/ES256/
                                   EdDSA, verified with PyJWT against the registered public key)
  POST /slow/<seconds>/token       same, answering after a delay
  POST /chunked/token              same, answering with Transfer-Encoding: chunked
  POST /garbage                    200 with a body that is not JSON
  POST /no-token                   200 with JSON lacking access_token
  POST /status/<code>              that status with an RFC 6749 §5.2 error body
  query ?expires_in=N              overrides the client's token lifetime
  GET  /stats                      counters, the last token request's form and headers
  POST /reset                      zeroes counters
  POST /revoke-all                 every issued token becomes invalid at the upstream
upstream port (the protected service):
  any path                         200 + JSON echo when the bearer token is one we issued, still
                                   valid and not revoked; 401 otherwise. ?token_header=NAME reads
                                   the token from another header. /status/<code> answers <code>
                                   after a successful check (to show which statuses purge).

--tls-port serves the token endpoint over HTTPS as well (client assertions then name the
https:// URL as audience).

Clients file (JSON): {"<client_id>": {"auth": "...", "secret": "...", "public_key": "<PEM path>",
"alg": "RS256", "expires_in": 60}}.
"""
import argparse
import base64
import json
import os
import secrets
import signal
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt  # PyJWT

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class State:
    def __init__(self, clients):
        self.lock = threading.Lock()
        self.clients = clients
        self.tokens = {}  # token -> {client_id, scope, exp, revoked}
        self.seen_jti = set()
        self.reset()

    def reset(self):
        with self.lock:
            self.token_requests = 0
            self.issued = 0
            self.auth_failures = 0
            self.by_path = {}
            self.by_client = {}
            self.upstream_ok = 0
            self.upstream_rejected = 0
            self.concurrent = 0
            self.max_concurrent = 0
            self.last_form = None
            self.last_headers = None
            self.last_auth_method = None


STATE = None


def form_decode(body):
    # keep_blank_values: an empty client_secret is a failed authentication, not a missing one
    return urllib.parse.parse_qs(body, keep_blank_values=True, strict_parsing=False)


def single(form, name):
    values = form.get(name)
    if values is None:
        return None
    if len(values) != 1:
        raise ValueError("parameter %s repeated" % name)
    return values[0]


class TokenHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "test-oauth2"

    def log_message(self, fmt, *args):
        if os.environ.get("OAUTH2_TEST_VERBOSE"):
            sys.stderr.write("token: " + (fmt % args) + "\n")

    def send_json(self, status, doc, extra_headers=None):
        body = json.dumps(doc).encode()
        self.send_raw(status, body, "application/json", extra_headers)

    def send_raw(self, status, body, ctype, extra_headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if getattr(self, "chunked", False):
            # two chunks and a trailer, to exercise the client's chunked decoding
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            half = len(body) // 2
            for part in (body[:half], body[half:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\nX-Trailer: done\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8", "replace") if length else ""

    def do_GET(self):
        if self.path == "/stats":
            with STATE.lock:
                doc = {
                    "token_requests": STATE.token_requests,
                    "issued": STATE.issued,
                    "auth_failures": STATE.auth_failures,
                    "by_path": STATE.by_path,
                    "by_client": STATE.by_client,
                    "upstream_ok": STATE.upstream_ok,
                    "upstream_rejected": STATE.upstream_rejected,
                    "max_concurrent": STATE.max_concurrent,
                    "last_form": STATE.last_form,
                    "last_headers": STATE.last_headers,
                    "last_auth_method": STATE.last_auth_method,
                }
            return self.send_json(200, doc)
        self.send_json(404, {"error": "not_found"})

    def do_POST(self):
        body = self.read_body()
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path == "/reset":
            STATE.reset()
            return self.send_json(200, {"ok": True})
        if path == "/revoke-all":
            with STATE.lock:
                for t in STATE.tokens.values():
                    t["revoked"] = True
            return self.send_json(200, {"ok": True})

        with STATE.lock:
            STATE.token_requests += 1
            STATE.by_path[path] = STATE.by_path.get(path, 0) + 1
            STATE.concurrent += 1
            STATE.max_concurrent = max(STATE.max_concurrent, STATE.concurrent)
        try:
            self.token_request(url, path, body)
        finally:
            with STATE.lock:
                STATE.concurrent -= 1

    def token_request(self, url, path, body):
        parts = path.strip("/").split("/")
        self.chunked = False
        if parts[0] == "slow" and len(parts) == 3 and parts[2] == "token":
            time.sleep(float(parts[1]))
        elif path == "/chunked/token":
            self.chunked = True
        elif path == "/garbage":
            return self.send_raw(200, b"<html>gateway error page</html>", "text/html")
        elif path == "/no-token":
            return self.send_json(200, {"token_type": "Bearer", "expires_in": 60})
        elif parts[0] == "status" and len(parts) == 2:
            return self.send_json(int(parts[1]), {"error": "server_error",
                                                  "error_description": "as requested"})
        elif path != "/token":
            return self.send_json(404, {"error": "not_found"})

        try:
            form = form_decode(body)
            grant = single(form, "grant_type")
        except ValueError as e:
            return self.send_json(400, {"error": "invalid_request", "error_description": str(e)})
        with STATE.lock:
            STATE.last_form = {k: v if len(v) > 1 else v[0] for k, v in form.items()}
            STATE.last_headers = {k.lower(): v for k, v in self.headers.items()}
        if self.headers.get("Content-Type", "").split(";")[0].strip() != \
                "application/x-www-form-urlencoded":
            return self.send_json(400, {"error": "invalid_request",
                                        "error_description": "form body expected"})
        if grant != "client_credentials":
            return self.send_json(400, {"error": "unsupported_grant_type"})

        try:
            client_id, method = self.authenticate(form)
        except AuthError as e:
            with STATE.lock:
                STATE.auth_failures += 1
            hdrs = {"WWW-Authenticate": 'Basic realm="test"'} \
                if self.headers.get("Authorization") else None
            return self.send_json(401, {"error": "invalid_client",
                                        "error_description": str(e)}, hdrs)

        client = STATE.clients[client_id]
        query = urllib.parse.parse_qs(url.query)
        expires_in = int(query.get("expires_in", [client.get("expires_in", 60)])[0])
        token = secrets.token_urlsafe(32)
        scope = single(form, "scope")
        with STATE.lock:
            STATE.tokens[token] = {"client_id": client_id, "scope": scope,
                                   "exp": time.time() + expires_in, "revoked": False}
            STATE.issued += 1
            STATE.by_client[client_id] = STATE.by_client.get(client_id, 0) + 1
            STATE.last_auth_method = method
        doc = {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}
        if scope:
            doc["scope"] = scope
        self.send_json(200, doc)

    def authenticate(self, form):
        header = self.headers.get("Authorization")
        assertion_type = single(form, "client_assertion_type")
        methods = [m for m, present in (
            ("client_secret_basic", header is not None),
            ("client_secret_post", "client_secret" in form),
            ("jwt", assertion_type is not None or "client_assertion" in form),
        ) if present]
        # RFC 6749 §2.3: the client MUST NOT use more than one authentication method per request
        if len(methods) != 1:
            raise AuthError("exactly one client authentication method expected, got %d"
                            % len(methods))
        method = methods[0]
        if method == "client_secret_basic":
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "basic":
                raise AuthError("Basic expected")
            try:
                decoded = base64.b64decode(value, validate=True).decode()
            except Exception:
                raise AuthError("bad base64 in Basic credentials")
            cid_enc, sep, secret_enc = decoded.partition(":")
            if not sep:
                raise AuthError("no colon in Basic credentials")
            # RFC 6749 §2.3.1: both parts are form-urlencoded before base64
            client_id = urllib.parse.unquote_plus(cid_enc)
            secret = urllib.parse.unquote_plus(secret_enc)
            client = self.client(client_id, method)
            if not secrets.compare_digest(secret.encode(), client["secret"].encode()):
                raise AuthError("wrong secret")
            return client_id, method
        if method == "client_secret_post":
            client_id = single(form, "client_id")
            client = self.client(client_id, method)
            if not secrets.compare_digest(single(form, "client_secret").encode(),
                                          client["secret"].encode()):
                raise AuthError("wrong secret")
            return client_id, method

        if assertion_type != ASSERTION_TYPE:
            raise AuthError("client_assertion_type must be " + ASSERTION_TYPE)
        assertion = single(form, "client_assertion")
        if not assertion:
            raise AuthError("client_assertion missing")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as e:
            raise AuthError("client_assertion unreadable: %s" % e)
        client_id = unverified.get("iss")
        client = self.client(client_id, None)
        method = client["auth"]
        if method == "client_secret_jwt":
            key, algs = client["secret"].encode(), ["HS256"]
        elif method == "private_key_jwt":
            with open(client["public_key"], "rb") as f:
                key = f.read()
            algs = [client["alg"]]
        else:
            raise AuthError("client is not registered for JWT authentication")
        scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
        audience = "%s://%s%s" % (scheme, self.headers.get("Host"), self.path)
        try:
            claims = jwt.decode(assertion, key, algorithms=algs, audience=audience,
                                options={"require": ["iss", "sub", "aud", "exp", "jti"]})
        except jwt.PyJWTError as e:
            raise AuthError("client_assertion rejected: %s" % e)
        # RFC 7523 §3: iss and sub are the client_id; a client_id parameter must agree
        if claims["sub"] != client_id:
            raise AuthError("sub must equal iss (the client_id)")
        form_client = single(form, "client_id")
        if form_client is not None and form_client != client_id:
            raise AuthError("client_id parameter differs from the assertion")
        if claims["exp"] - claims.get("iat", time.time()) > 3600:
            raise AuthError("assertion lifetime too long")
        with STATE.lock:
            if claims["jti"] in STATE.seen_jti:
                raise AuthError("assertion replayed (jti seen before)")
            STATE.seen_jti.add(claims["jti"])
        header = jwt.get_unverified_header(assertion)
        if client.get("kid") and header.get("kid") != client["kid"]:
            raise AuthError("unexpected kid")
        return client_id, method

    @staticmethod
    def client(client_id, method):
        client = STATE.clients.get(client_id)
        if client is None:
            raise AuthError("unknown client")
        if method is not None and client["auth"] != method:
            raise AuthError("client registered for %s, not %s" % (client["auth"], method))
        return client


class AuthError(Exception):
    pass


class UpstreamHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "test-upstream"

    def log_message(self, fmt, *args):
        if os.environ.get("OAUTH2_TEST_VERBOSE"):
            sys.stderr.write("upstream: " + (fmt % args) + "\n")

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        header_name = query.get("token_header", ["Authorization"])[0]
        value = self.headers.get(header_name) or ""
        scheme, _, token = value.partition(" ")
        with STATE.lock:
            info = STATE.tokens.get(token) if scheme.lower() == "bearer" else None
            valid = info is not None and not info["revoked"] and info["exp"] > time.time()
            if valid:
                STATE.upstream_ok += 1
            else:
                STATE.upstream_rejected += 1
        if not valid:
            body = json.dumps({"error": "invalid_token"}).encode()
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Bearer error="invalid_token"')
        else:
            status = 200
            parts = url.path.strip("/").split("/")
            if len(parts) == 2 and parts[0] == "status":
                status = int(parts[1])
            body = json.dumps({
                "client_id": info["client_id"], "scope": info["scope"], "path": url.path,
                "method": self.command,
                "headers": {k.lower(): v for k, v in self.headers.items()},
            }).encode()
            self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any


def main():
    global STATE
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--token-port", type=int, required=True)
    ap.add_argument("--upstream-port", type=int, required=True)
    ap.add_argument("--clients", required=True, help="clients JSON file")
    ap.add_argument("--tls-port", type=int, help="also serve the token endpoint over TLS here")
    ap.add_argument("--tls-cert", help="PEM certificate chain for --tls-port")
    ap.add_argument("--tls-key", help="PEM private key for --tls-port")
    args = ap.parse_args()
    with open(args.clients) as f:
        STATE = State(json.load(f))

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 256
    servers = [ThreadingHTTPServer(("127.0.0.1", args.token_port), TokenHandler),
               ThreadingHTTPServer(("127.0.0.1", args.upstream_port), UpstreamHandler)]
    if args.tls_port:
        tls = ThreadingHTTPServer(("127.0.0.1", args.tls_port), TokenHandler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        servers.append(tls)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    for s in servers:
        s.shutdown()


if __name__ == "__main__":
    main()
