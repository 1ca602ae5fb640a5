"""How long a JwksSource trusts a fetched key set: the server's caching headers
within the configured bounds, jitter, conditional requests, stale-if-error.
An injected clock and fetcher, no sleeping. The header cases live in
jwks_cache_cases.json, which the Node package's test/jwks-cache.test.js runs
too, so both packages cache the same way."""

import json
import os
import random
import unittest

from cryptography.hazmat.primitives.asymmetric import ec

from test_jwks import JwksServer, jwk

from upstream_jwt_verify import ConfigurationError, JwksResponse, JwksSource, VerificationError
from upstream_jwt_verify.jwks import parse_cache_control, parse_http_date

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "jwks_cache_cases.json")) as f:
    DOC = json.load(f)

URL = "https://gw.test/.well-known/jwks.json"
EPS = 0.001
K1 = ec.generate_private_key(ec.SECP256R1())
K2 = ec.generate_private_key(ec.SECP256R1())
SET1 = json.dumps({"keys": [jwk(K1, "k1")]}).encode()
SET2 = json.dumps({"keys": [jwk(K2, "k2")]}).encode()


class Fake:
    """A scripted fetcher on an injected clock: each answer is a JwksResponse,
    an exception to raise, or a (delay, answer) pair; the last answer repeats."""

    def __init__(self, *answers, start=1000.0):
        self.now = start
        self.answers = list(answers)
        self.sent = []

    def clock(self):
        return self.now

    def __call__(self, url, timeout, request_headers):
        self.sent.append(dict(request_headers))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if type(answer) is tuple:  # (delay, answer); a JwksResponse is a tuple too
            self.now += answer[0]
            answer = answer[1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def source(self, **kw):
        kw.setdefault("jitter", 0)
        return JwksSource(URL, fetch=self, clock=self.clock, **kw)


def ok(headers=None, body=SET1):
    return JwksResponse(200, body, headers or {})


def kids(source):
    return [k.kid for k in source.keys()]


def unavailable(source):
    try:
        source.keys()
        return False
    except VerificationError as e:
        return e.reason == "jwks_unavailable"


class SharedCases(unittest.TestCase):
    def test_every_case(self):
        for c in DOC["cases"]:
            with self.subTest(c["name"]):
                self.run_case(c)

    def run_case(self, c):
        e = c["expect"]
        fake = Fake((c.get("delay", 0), ok(c["headers"])), OSError("down"))
        rng = c.get("rng", 0)
        s = fake.source(rng=lambda: rng, **{**DOC["base"], **c.get("config", {})})
        self.assertEqual(kids(s), ["k1"])
        received = 1000 + c.get("delay", 0)
        self.assertAlmostEqual(s.fresh_until - received, e["fresh"], places=9)
        self.assertAlmostEqual(s.usable_until - s.fresh_until, e["stale"], places=9)
        if "source" in e:
            self.assertEqual(s.freshness_source, e["source"])
        if e["fresh"] >= EPS:
            fake.now = s.fresh_until - EPS
            self.assertEqual(kids(s), ["k1"])
            self.assertEqual(s.fetches, 1, "fresh until the last instant")
        fake.now = s.fresh_until
        # the refetch fails: the last good set is served only within stale
        self.assertEqual(unavailable(s), e["stale"] == 0)
        self.assertEqual(s.fetches, 2, "stale at fresh_until")
        self.assertEqual(fake.sent[1].get("If-None-Match"), e["if_none_match"])
        if e["stale"] > 0:
            fake.now = s.usable_until - EPS
            self.assertEqual(kids(s), ["k1"])
            fake.now = s.usable_until
            self.assertTrue(unavailable(s))


class ConditionalRequests(unittest.TestCase):
    def test_304_keeps_the_keys_and_renews_freshness(self):
        fake = Fake(ok({"cache-control": "max-age=100", "etag": '"v1"'}),
                    JwksResponse(304, b"", {"cache-control": "max-age=200"}))
        s = fake.source()
        kids(s)
        self.assertEqual(fake.sent[0], {}, "nothing to revalidate on the first fetch")
        fake.now = 1100
        self.assertEqual(kids(s), ["k1"])
        self.assertEqual(fake.sent[1], {"If-None-Match": '"v1"'})
        self.assertEqual(s.fresh_until, 1300, "the 304's max-age")
        fake.now = 1300
        kids(s)
        self.assertEqual(fake.sent[2], {"If-None-Match": '"v1"'}, "the stored ETag stays")

    def test_a_304_without_caching_headers_keeps_the_stored_ones_but_not_their_age(self):
        fake = Fake(ok({"cache-control": "max-age=100", "age": "40", "etag": 'W/"v1"'}),
                    JwksResponse(304, b"", {}))
        s = fake.source()
        kids(s)
        self.assertEqual(s.fresh_until, 1060)
        fake.now = 1060
        kids(s)
        self.assertEqual(s.fresh_until, 1160, "max-age 100 again; the 200's Age is not the 304's")

    def test_a_304_with_a_new_etag_and_no_store(self):
        fake = Fake(ok({"cache-control": "max-age=100", "etag": '"v1"'}),
                    JwksResponse(304, b"", {"etag": '"v2"'}),
                    JwksResponse(304, b"", {"cache-control": "no-store"}), ok())
        s = fake.source()
        kids(s)
        fake.now = 1100
        kids(s)
        fake.now = 1200
        kids(s)
        self.assertEqual(fake.sent[2], {"If-None-Match": '"v2"'})
        self.assertEqual((s.fresh_until, s.usable_until), (1230, 1230), "no-store: minimum, never stale")
        fake.now = 1230
        kids(s)
        self.assertEqual(fake.sent[3], {}, "no-store drops the validator")

    def test_a_304_to_an_unconditional_request_is_a_failure(self):
        fake = Fake(JwksResponse(304, b"", {"cache-control": "max-age=100"}))
        s = fake.source()
        self.assertTrue(unavailable(s))
        fake2 = Fake(ok({"cache-control": "max-age=100"}), JwksResponse(304, b"", {}))
        s2 = fake2.source(stale_if_error=0)
        kids(s2)
        fake2.now = 1100
        self.assertTrue(unavailable(s2), "no ETag was sent, so a 304 renews nothing")

    def test_a_new_set_replaces_the_keys(self):
        fake = Fake(ok({"cache-control": "max-age=100", "etag": '"v1"'}), ok({"etag": '"v2"'}, SET2))
        s = fake.source()
        kids(s)
        fake.now = 1100
        self.assertEqual(kids(s), ["k2"])
        self.assertEqual(s.fresh_until, 1400, "no caching headers: max_age")


class FailureAndRecovery(unittest.TestCase):
    def test_stale_if_error_then_recovery_retrying_once_per_min_refresh_interval(self):
        fake = Fake(ok({"cache-control": "max-age=60"}), OSError("down"))
        s = fake.source(min_refresh_interval=10, stale_if_error=100)
        kids(s)
        # every second from the set's expiry to the end of the stale window
        for t in range(1060, 1160):
            fake.now = t
            self.assertEqual(kids(s), ["k1"], t)
        self.assertEqual(s.fetches, 1 + 10, "one attempt per 10 s: 1060, 1070, ..., 1150")
        fake.now = 1160
        self.assertTrue(unavailable(s), "stale_if_error is over: fail closed")
        self.assertEqual(s.fetches, 12)
        fake.now = 1169.999
        self.assertTrue(unavailable(s))
        self.assertEqual(s.fetches, 12, "no retry within min_refresh_interval")
        fake.answers = [ok({"cache-control": "max-age=60"}, SET2)]
        fake.now = 1170
        self.assertEqual(kids(s), ["k2"], "recovered")
        self.assertEqual((s.fresh_until, s.usable_until), (1230, 1330))

    def test_every_kind_of_failure_keeps_the_last_good_set(self):
        failures = [OSError("refused"), ValueError("JWKS larger than 1 MiB"), JwksResponse(500, b"", {}),
                    JwksResponse(200, b"not json", {}), JwksResponse(200, b"[]", {}),
                    JwksResponse(200, b'{"keys": {}}', {}), None, 42, "", JwksResponse(204, b"", {})]
        for failure in failures:
            with self.subTest(repr(failure)):
                fake = Fake(ok({"cache-control": "max-age=60"}), failure)
                s = fake.source()
                kids(s)
                fake.now = 1060
                self.assertEqual(kids(s), ["k1"])
                self.assertEqual(s.fetches, 2)
                self.assertEqual(s.fresh_until, 1060, "a failure renews nothing")

    def test_odd_header_values_from_a_fetcher_are_malformed_not_an_exception(self):
        # values that are not text are left out; names count in any case
        for headers, fresh in (({"cache-control": 5}, 300), ({"cache-control": None}, 300),
                               ({"Cache-Control": "max-age=50"}, 50), ({"age": b"5", "cache-control": "max-age=50"}, 50)):
            with self.subTest(headers):
                s = Fake(ok(headers)).source()
                self.assertEqual(kids(s), ["k1"])
                self.assertEqual(s.fresh_until, 1000 + fresh)
        s = Fake(JwksResponse(200, SET1, None)).source()
        self.assertTrue(unavailable(s), "headers that are not a mapping: a failed fetch")

    def test_never_a_good_set_fails_closed_and_retries_once_per_min_refresh_interval(self):
        fake = Fake(OSError("down"))
        s = fake.source(min_refresh_interval=30)
        self.assertTrue(unavailable(s))
        fake.now = 1029.999
        self.assertTrue(unavailable(s))
        self.assertFalse(s.refresh_for_unknown_kid())
        self.assertEqual(s.fetches, 1)
        fake.now = 1030
        fake.answers = [ok()]
        self.assertEqual(kids(s), ["k1"])
        self.assertEqual(s.fetches, 2)

    def test_must_revalidate_fails_closed_once_stale(self):
        fake = Fake(ok({"cache-control": "max-age=60, must-revalidate"}), OSError("down"))
        s = fake.source()
        kids(s)
        fake.now = 1059.999
        self.assertEqual(kids(s), ["k1"])
        fake.now = 1060
        self.assertTrue(unavailable(s))

    def test_an_unknown_kid_refresh_renews_freshness(self):
        fake = Fake(ok({"cache-control": "max-age=60"}), ok({"cache-control": "max-age=200"}, SET2))
        s = fake.source()
        kids(s)
        fake.now = 1040
        self.assertTrue(s.refresh_for_unknown_kid())
        self.assertEqual(kids(s), ["k2"])
        self.assertEqual(s.fresh_until, 1240)
        fake.now = 1069.999
        self.assertFalse(s.refresh_for_unknown_kid(), "min_refresh_interval since the last attempt")

    def test_a_plain_body_from_a_fetcher_is_a_200_without_headers(self):
        fake = Fake(SET1)
        s = fake.source()
        self.assertEqual(kids(s), ["k1"])
        self.assertEqual(s.fresh_until, 1300)
        self.assertEqual(Fake(SET1.decode()).source().keys()[0].kid, "k1")

    def test_no_cache_with_no_minimum_fetches_for_every_call(self):
        fake = Fake(ok({"cache-control": "no-cache"}))
        s = fake.source(min_refresh_interval=0)
        for i in range(3):
            self.assertEqual(kids(s), ["k1"], "the set this call fetched serves it")
        self.assertEqual(s.fetches, 3)


class Jitter(unittest.TestCase):
    def test_bounds_across_rng_values(self):
        for r in (0.0, 0.25, 0.5, 0.999999):
            with self.subTest(r):
                s = Fake(ok({"cache-control": "max-age=300"})).source(jitter=0.1, rng=lambda: r)
                kids(s)
                self.assertAlmostEqual(s.fresh_until - 1000, 300 - 30 * r, places=9)
                self.assertGreater(s.fresh_until - 1000, 270)
                self.assertLessEqual(s.fresh_until - 1000, 300)

    def test_an_rng_that_fails_means_no_jitter(self):
        for rng in (lambda: 1 / 0, lambda: float("nan"), lambda: -0.5, lambda: "0.5"):
            s = Fake(ok({"cache-control": "max-age=300"})).source(jitter=0.1, rng=rng)
            self.assertEqual(kids(s), ["k1"])
            self.assertEqual(s.fresh_until, 1300)

    def test_fifty_replicas_do_not_refetch_in_the_same_second(self):
        rng = random.Random(9111)
        times = []
        for _ in range(50):
            s = Fake(ok({"cache-control": "max-age=300"})).source(jitter=0.1, rng=rng.random)
            kids(s)
            times.append(s.fresh_until)
        self.assertTrue(all(1270 < t <= 1300 for t in times))
        # 50 draws over 30 s with seed 9111: fixed, so this cannot flake
        self.assertGreaterEqual(len({int(t) for t in times}), 20)

    def test_the_default_rng_stays_within_bounds(self):
        for _ in range(200):
            s = Fake(ok({"cache-control": "max-age=100"})).source(jitter=0.1, rng=random.random)
            kids(s)
            self.assertTrue(90 < s.fresh_until - 1000 <= 100)

    def test_defaults(self):
        s = JwksSource(URL)
        self.assertEqual((s.max_age, s.min_refresh_interval, s.stale_if_error, s.jitter), (300, 30, 3600, 0.1))


class Configuration(unittest.TestCase):
    def test_rejected_values(self):
        for kw in ({"max_age": -1}, {"min_refresh_interval": -0.5}, {"stale_if_error": float("nan")},
                   {"max_age": float("inf")}, {"max_age": "300"}, {"stale_if_error": True},
                   {"jitter": 1}, {"jitter": -0.1}, {"jitter": float("nan")}, {"jitter": "0.1"}):
            with self.subTest(kw):
                with self.assertRaises(ConfigurationError):
                    JwksSource(URL, **kw)

    def test_accepted_edges(self):
        s = JwksSource(URL, max_age=0, min_refresh_interval=0, stale_if_error=0, jitter=0.999)
        self.assertEqual((s.max_age, s.jitter), (0, 0.999))


class Parsing(unittest.TestCase):
    def test_cache_control(self):
        self.assertEqual(parse_cache_control('a, B=1,c="x\\"y" ,,d'),
                         [("a", None), ("b", "1"), ("c", 'x"y'), ("d", None)])
        self.assertEqual(parse_cache_control(""), [])
        for bad in ("a b", "a=", "=1", 'a="x', "a=1=2", "a;b", "a\n"):
            with self.subTest(bad):
                self.assertIsNone(parse_cache_control(bad))

    def test_http_date_formats_agree(self):
        want = 784111777  # RFC 9110's example instant
        self.assertEqual(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), want)
        self.assertEqual(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", this_year=2026), want)
        self.assertEqual(parse_http_date("Sun Nov  6 08:49:37 1994"), want)
        self.assertEqual(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0)
        self.assertEqual(parse_http_date("Wed, 31 Dec 1969 23:59:59 GMT"), -1)

    def test_rfc850_two_digit_years(self):
        # more than 50 years ahead: the most recent past year with those digits
        self.assertEqual(parse_http_date("Wednesday, 01-Jan-76 00:00:00 GMT", this_year=2026),
                         parse_http_date("Wed, 01 Jan 2076 00:00:00 GMT"))
        self.assertEqual(parse_http_date("Saturday, 01-Jan-77 00:00:00 GMT", this_year=2026),
                         parse_http_date("Sat, 01 Jan 1977 00:00:00 GMT"))
        self.assertIsNone(parse_http_date("Friday, 01-Jan-77 00:00:00 GMT", this_year=2026), "2077's day name")

    def test_http_date_rejects(self):
        for bad in ("Sun, 06 Nov 1994 08:49:37 gmt", "Sun, 06 Nov 1994 08:60:37 GMT", "Sun, 06 Nov 1994 08:49:61 GMT",
                    "Sun,  06 Nov 1994 08:49:37 GMT", " Sun, 06 Nov 1994 08:49:37 GMT", "Sun, 31 Nov 1994 08:49:37 GMT",
                    "Sun Nov 06 08:49:37 94", "Sun Nov  6 08:49:37 1994 ", "0", "", "Sun, 06 Nov 1994 08:49:37 +0000"):
            with self.subTest(bad):
                self.assertIsNone(parse_http_date(bad))


class OverHttp(unittest.TestCase):
    """The package's own fetcher against a local server: the headers it
    answers with reach the cache, If-None-Match goes out, a 304 comes back."""

    def setUp(self):
        self.server = JwksServer()
        self.addCleanup(self.server.stop)
        self.server.doc = {"keys": [jwk(K1, "k1")]}
        self.server.headers = {"Cache-Control": "public, max-age=120", "ETag": '"set-1"'}
        self.now = [1000.0]
        self.source = JwksSource(self.server.url, jitter=0, clock=lambda: self.now[0])

    def test_cache_control_and_revalidation(self):
        self.assertEqual(kids(self.source), ["k1"])
        self.assertEqual(self.source.fresh_until, 1000 + 120)
        self.now[0] = 1119.9
        kids(self.source)
        self.assertEqual(self.server.hits, 1)
        self.now[0] = 1120
        self.assertEqual(kids(self.source), ["k1"])
        self.assertEqual(self.server.hits, 2)
        self.assertEqual(self.server.if_none_match, ['"set-1"'])
        self.assertEqual(self.server.not_modified, 1, "answered 304")
        self.assertEqual(self.source.fresh_until, 1120 + 120)

    def test_a_server_error_keeps_the_last_good_set(self):
        kids(self.source)
        self.server.status = 500
        self.now[0] = 1120
        self.assertEqual(kids(self.source), ["k1"])
        self.assertEqual(self.source.fresh_until, 1120, "not renewed")
        self.server.status = 200
        self.server.headers = {"Cache-Control": "max-age=60"}
        self.now[0] = 1150
        kids(self.source)
        self.assertEqual((self.server.hits, self.source.fresh_until), (3, 1210))


if __name__ == "__main__":
    unittest.main()
