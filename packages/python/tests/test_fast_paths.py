"""The fast paths of verify() (checked-header cache, compact-JSON parse,
canonical base64url by the last character, one-shot HMAC) decide exactly as
the strict code they stand in front of."""

import base64
import json
import unittest

from support import SECRET, b64sha, claims_for, reason, token

from upstream_jwt_verify import Request, Verifier, _strict
from upstream_jwt_verify import verifier as verifier_module


def seg(obj_or_text) -> str:
    raw = obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).rstrip(b"=").decode()


GET = Request("GET", b"/orders/42", None, b64sha(b""), [])


class CompactJson(unittest.TestCase):
    def parse(self, text):
        return _strict.parse_json(text.encode("utf-8"))

    def test_compact_documents_parse(self):
        doc = {"iss": "kong", "aud": ["a", "b"], "exp": 17, "x": 1.5, "n": None, "t": True,
               "o": {"k": "v:\"q\"\n"}, "u": "\u00e9\u2028\U0001f600"}
        text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
        self.assertEqual(self.parse(text), doc)

    def test_duplicates_in_compact_form_are_refused(self):
        for text in ('{"a":1,"a":1}', '{"a":1,"a":2}', '{"o":{"b":1,"b":1}}', '[{"k":1,"k":1}]'):
            with self.assertRaises(_strict.Duplicate, msg=text):
                self.parse(text)

    def test_non_finite_numbers_are_refused(self):
        for text in ('{"a":NaN}', '{"a":Infinity}', '{"a":-Infinity}', '{"a":1e999}', '[NaN]'):
            with self.assertRaises(_strict.Syntax, msg=text):
                self.parse(text)

    def test_lone_surrogates_are_refused(self):
        for text in ('{"a":"\\ud800"}', '{"\\udc00":1}', '["x\\udbff"]'):
            with self.assertRaises(_strict.Syntax, msg=text):
                self.parse(text)
        self.assertEqual(self.parse('{"a":"\\ud83d\\ude00"}'), {"a": "\U0001f600"})

    def test_integers_beyond_64_bits_become_doubles_at_the_exact_boundaries(self):
        self.assertEqual(self.parse('{"a":18446744073709551615}'), {"a": 2**64 - 1})
        self.assertIsInstance(self.parse('{"a":18446744073709551615}')["a"], int)
        self.assertIsInstance(self.parse('{"a":18446744073709551616}')["a"], float)
        self.assertIsInstance(self.parse('{"a":-9223372036854775808}')["a"], int)
        self.assertIsInstance(self.parse('{"a":-9223372036854775809}')["a"], float)
        self.assertIsInstance(self.parse('{"a":1234567890123456789}')["a"], int)

    def test_bom_and_bad_utf8(self):
        self.assertEqual(_strict.parse_json(b'\xef\xbb\xbf{"a":1}'), {"a": 1})
        with self.assertRaises(_strict.Syntax):
            _strict.parse_json(b'{"a":"\xff"}')
        with self.assertRaises(_strict.Syntax):
            _strict.parse_json('{"a":1}'.encode("utf-16"))


class Base64url(unittest.TestCase):
    @staticmethod
    def reference(text: bytes):
        # Lenient decode, then canonical only if re-encoding gives the text back.
        try:
            out = base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
        except ValueError:
            return None
        return out if base64.urlsafe_b64encode(out).rstrip(b"=") == text else None

    def test_every_last_character_after_every_length(self):
        alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        for prefix in (b"", b"A", b"_-", b"AAAA", b"QUJD", b"QUJDR", b"QUJDRE", b"_w"):
            for c in alphabet:
                text = prefix + bytes([c])
                if len(text) % 4 == 1:
                    self.assertIsNone(_strict.b64url_decode(text), text)
                else:
                    self.assertEqual(_strict.b64url_decode(text), self.reference(text), text)
        for n in range(0, 40):
            data = bytes(range(200, 200 + n))
            self.assertEqual(_strict.b64url_decode(base64.urlsafe_b64encode(data).rstrip(b"=")), data)

    def test_padding_foreign_characters_and_lengths(self):
        for bad in (b"AA==", b"AAA=", b"AA+A", b"AA/A", b"AAAAA", b"AA A", b"AA\nA", b"A", b"AA.A"):
            self.assertIsNone(_strict.b64url_decode(bad), bad)
        self.assertEqual(_strict.b64url_decode(b""), b"")
        self.assertEqual(_strict.b64url_decode(b"-_-_"), b"\xfb\xff\xbf")


class HeaderCache(unittest.TestCase):
    def setUp(self):
        verifier_module._HEADERS.clear()

    def verifier(self, kid=None):
        return Verifier(audience="orders").add_key("HS256", SECRET, kid)

    def test_a_cached_header_still_selects_the_key_per_verifier(self):
        t = token(kid="k1")
        self.assertEqual(reason(lambda: self.verifier().verify(t, GET)), "valid")
        self.assertEqual(reason(lambda: self.verifier("k2").verify(t, GET)), "unknown_kid")
        self.assertEqual(reason(lambda: self.verifier("k1").verify(t, GET)), "valid")

    def test_a_cached_header_does_not_vouch_for_the_signature_or_the_claims(self):
        t = token()
        v = self.verifier()
        self.assertEqual(reason(lambda: v.verify(t, GET)), "valid")
        h, p, s = t.split(".")
        self.assertEqual(reason(lambda: v.verify(f"{h}.{p}.{'B' if s[0] == 'A' else 'A'}{s[1:]}", GET)), "bad_signature")
        short = base64.urlsafe_b64encode(base64.urlsafe_b64decode(s + "=")[:-1]).rstrip(b"=").decode()
        self.assertEqual(reason(lambda: v.verify(f"{h}.{p}.{short}", GET)), "bad_signature")
        self.assertEqual(reason(lambda: v.verify(f"{h}.{p}.{s[:-1]}B", GET)), "bad_base64")
        self.assertEqual(reason(lambda: v.verify(f"{h}.{seg(claims_for())}.{s}", GET)), "bad_signature")
        self.assertEqual(reason(lambda: v.verify(f"{h}.{p}.", GET)), "bad_signature")

    def test_rejected_headers_are_rejected_every_time(self):
        v = self.verifier()
        self.assertEqual(reason(lambda: v.verify(token(), GET)), "valid")
        for header, why in (('{"alg":"HS256","alg":"HS256"}', "bad_header"),
                            ('{"alg":"none"}', "alg_none"),
                            ('{"alg":"HS256","kid":7}', "bad_header"),
                            ('{"alg":"HS256","typ":"jwt"}', "bad_header"),
                            ('{"alg":"HS256","crit":["x"]}', "crit_unsupported"),
                            ('{"alg":"HS999"}', "alg_not_allowed"),
                            ('{"alg":"HS256"', "bad_header")):
            t = seg(header) + "." + seg(claims_for()) + ".AAAA"
            for _ in range(2):
                self.assertEqual(reason(lambda: v.verify(t, GET)), why, header)
        self.assertEqual(verifier_module._HEADERS.keys(), {token().split(".")[0].encode()})

    def test_bounded(self):
        v = self.verifier()
        for i in range(verifier_module._HEADERS_MAX * 2 + 3):
            self.assertEqual(reason(lambda: v.verify(token(kid=f"kid-{i}"), GET)), "valid")
            self.assertLessEqual(len(verifier_module._HEADERS), verifier_module._HEADERS_MAX)


if __name__ == "__main__":
    unittest.main()
