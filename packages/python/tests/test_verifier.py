"""Verifier behaviour beyond the conformance vectors: header binding, replay
stores, key configuration, from_env."""

import time
import unittest

from support import SECRET, b64sha, claims_for, reason, token

from upstream_jwt_verify import (ConfigurationError, InMemoryReplayStore, RedisReplayStore, Request,
                                 VerificationError, Verifier, canonical_headers, headers_sha256)


GET = Request("GET", b"/orders/42", None, b64sha(b""), [])


class HeaderBinding(unittest.TestCase):
    HEADERS = [(b"Content-Type", b"  application/json\t"), (b"X-Tag", b"a"), (b"x-tag", b"b ")]

    def test_canonical_form(self):
        self.assertEqual(canonical_headers(["content-type", "x-tag", "x-absent"], self.HEADERS),
                         b"content-type:application/json\nx-tag:a, b\nx-absent:\n")
        self.assertEqual(headers_sha256([], []), b64sha(b""))

    def verifier(self, **kw):
        return Verifier(audience="orders", **kw).add_key("HS256", SECRET)

    def bound(self, names, headers):
        return claims_for(hdrs=names, hdr_sha256=headers_sha256(names, headers))

    def test_matching_headers_verify(self):
        t = token(self.bound(["content-type", "x-tag"], self.HEADERS))
        req = Request("GET", b"/orders/42", None, b64sha(b""), self.HEADERS)
        self.assertEqual(reason(lambda: self.verifier().verify(t, req)), "valid")

    def test_changed_header_is_header_mismatch(self):
        t = token(self.bound(["content-type"], self.HEADERS))
        req = Request("GET", b"/orders/42", None, b64sha(b""), [(b"Content-Type", b"text/plain")])
        self.assertEqual(reason(lambda: self.verifier().verify(t, req)), "header_mismatch")

    def test_added_repeat_is_header_mismatch(self):
        t = token(self.bound(["x-tag"], self.HEADERS))
        req = Request("GET", b"/orders/42", None, b64sha(b""), self.HEADERS + [(b"X-Tag", b"c")])
        self.assertEqual(reason(lambda: self.verifier().verify(t, req)), "header_mismatch")

    def test_header_added_where_token_says_absent(self):
        ok = Request("POST", b"/orders/42", None, b64sha(b""), [])
        evil = Request("POST", b"/orders/42", None, b64sha(b""), [(b"X-HTTP-Method-Override", b"DELETE")])
        c = claims_for(method="POST", hdrs=["x-http-method-override"], hdr_sha256=headers_sha256(["x-http-method-override"], []))
        t = token(c)
        self.assertEqual(reason(lambda: self.verifier().verify(t, ok)), "valid")
        self.assertEqual(reason(lambda: self.verifier().verify(t, evil)), "header_mismatch")

    def test_required_header_not_bound(self):
        t = token(self.bound(["x-tag"], self.HEADERS))
        req = Request("GET", b"/orders/42", None, b64sha(b""), self.HEADERS)
        v = self.verifier(required_headers=["Content-Type"])
        self.assertEqual(reason(lambda: v.verify(t, req)), "header_mismatch")

    def test_required_headers_without_hdrs_is_missing_claim(self):
        v = self.verifier(required_headers=["content-type"])
        self.assertEqual(reason(lambda: v.verify(token(), GET)), "missing_claim")
        self.assertEqual(reason(lambda: self.verifier(check_headers=True).verify(token(), GET)), "missing_claim")

    def test_auto_mode_ignores_tokens_without_hdrs(self):
        self.assertEqual(reason(lambda: self.verifier().verify(token(), GET)), "valid")

    def test_hdrs_must_be_strings(self):
        t = token(claims_for(hdrs=["a", 1], hdr_sha256=b64sha(b"")))
        self.assertEqual(reason(lambda: self.verifier().verify(t, GET)), "bad_claims")


class InMemoryReplay(unittest.TestCase):
    def test_never_forgets_a_live_jti(self):
        # issue 11 item 3: capacity 3, a captured token, then 3 fresh ones: the
        # captured one must still be refused, and the fresh overflow gets 503.
        store = InMemoryReplayStore(3)
        now = 1000
        store.check_and_insert("captured", now + 60, now)
        store.check_and_insert("f1", now + 60, now)
        store.check_and_insert("f2", now + 60, now)
        with self.assertRaises(VerificationError) as full:
            store.check_and_insert("f3", now + 60, now)
        self.assertEqual((full.exception.reason, full.exception.status), ("replay_cache_full", 503))
        with self.assertRaises(VerificationError) as again:
            store.check_and_insert("captured", now + 60, now + 59)
        self.assertEqual(again.exception.reason, "replayed")

    def test_expired_entries_make_room(self):
        store = InMemoryReplayStore(2)
        store.check_and_insert("a", 1010, 1000)
        store.check_and_insert("b", 1100, 1000)
        store.check_and_insert("c", 1100, 1010)  # a expires exactly now: dropped, c fits
        self.assertEqual(len(store), 2)
        with self.assertRaises(VerificationError) as e:
            store.check_and_insert("d", 1100, 1010)  # b and c are live
        self.assertEqual(e.exception.reason, "replay_cache_full")

    def test_expired_jti_is_accepted_again(self):
        store = InMemoryReplayStore(5)
        store.check_and_insert("a", 1010, 1000)
        store.check_and_insert("a", 1100, 1010)
        with self.assertRaises(VerificationError):
            store.check_and_insert("a", 1100, 1050)

    def test_verifier_records_exp_plus_leeway(self):
        store = InMemoryReplayStore(10)
        v = Verifier(audience="orders", leeway=5, replay_store=store).add_key("HS256", SECRET)
        now = int(time.time())
        t = token(claims_for(now=now))
        v.verify(t, GET, now=now)
        self.assertEqual(reason(lambda: v.verify(t, GET, now=now + 64)), "replayed")
        self.assertEqual(store._expiry[next(iter(store._expiry))], now + 65)


class Unreachable:
    def set(self, *a, **kw):
        raise ConnectionRefusedError()


class RecordingRedis:
    def __init__(self):
        self.calls = []
        self.keys = set()

    def set(self, name, value, nx, px):
        self.calls.append((name, nx, px))
        if name in self.keys:
            return None
        self.keys.add(name)
        return True


class RedisStoreUnit(unittest.TestCase):
    def test_set_nx_px_remaining_lifetime(self):
        r = RecordingRedis()
        store = RedisReplayStore(r, prefix="p:")
        store.check_and_insert("j", 1065, 1000)
        self.assertEqual(r.calls, [("p:j", True, 65000)])
        with self.assertRaises(VerificationError) as e:
            store.check_and_insert("j", 1065, 1001)
        self.assertEqual(e.exception.reason, "replayed")

    def test_unreachable_fails_closed_with_503(self):
        with self.assertRaises(VerificationError) as e:
            RedisReplayStore(Unreachable()).check_and_insert("j", 1065, 1000)
        self.assertEqual((e.exception.reason, e.exception.status), ("replay_store_unavailable", 503))

    def test_fail_open_is_explicit(self):
        RedisReplayStore(Unreachable(), fail_open=True).check_and_insert("j", 1065, 1000)


class Keys(unittest.TestCase):
    def test_short_hmac_secret_refused(self):
        with self.assertRaises(ConfigurationError):
            Verifier().add_key("HS256", b"x" * 31)
        with self.assertRaises(ConfigurationError):
            Verifier().add_key("HS512", b"x" * 63)

    def test_duplicate_kid_refused(self):
        v = Verifier().add_key("HS256", SECRET, "a")
        with self.assertRaises(ConfigurationError):
            v.add_key("HS256", b"t" * 32, "a")

    def test_key_type_must_match_alg(self):
        from pathlib import Path

        pem = (Path(__file__).resolve().parents[3] / "conformance" / "keys" / "ec.pub.pem").read_bytes()
        Verifier().add_key("ES256", pem)
        with self.assertRaises(ConfigurationError):
            Verifier().add_key("RS256", pem)
        with self.assertRaises(ConfigurationError):
            Verifier().add_key("RS512", pem)

    def test_from_env_quick_start(self):
        # examples/kong.yml sets key_id: a kid-less key from the environment verifies it.
        v = Verifier.from_env({"UPSTREAM_JWT_SECRET": SECRET.decode(), "UPSTREAM_JWT_AUDIENCE": "orders"})
        self.assertEqual(reason(lambda: v.verify(token(kid="demo-1"), GET)), "valid")
        with self.assertRaises(ConfigurationError):
            Verifier.from_env({})

    def test_request_required_when_bound(self):
        v = Verifier(audience="orders").add_key("HS256", SECRET)
        with self.assertRaises(ConfigurationError):
            v.verify(token())
        self.assertEqual(reason(lambda: Verifier(audience="orders", bind=()).add_key("HS256", SECRET).verify(token())),
                         "valid")


if __name__ == "__main__":
    unittest.main()
