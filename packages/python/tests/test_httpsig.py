"""RFC 9421 verification: Appendix B, the component rules of Section 2, every
rejection reason of the core at its boundary, keys, Content-Digest, replay."""

import base64
import json
import unittest

from httpsig_support import (BODY, GATEWAY_COMPONENTS, NOW, content_digest, gateway_request, private_of,
                             public_of, raw_sign, rfc_key, signed)
from upstream_jwt_verify import ConfigurationError, InMemoryReplayStore, VerificationError, Verifier
from upstream_jwt_verify.httpsig import (ContentDigest, Message, SignatureVerifier, components_from,
                                         make_signature_key, signature_base, signature_keys_from_jwks)

DIGEST_512 = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
RFC_CREATED = 1618884473


def rfc_request(extra=()):
    """RFC 9421 Appendix B.2 test-request."""
    return Message("POST", "http://example.com/foo?param=Value&Pet=dog", [
        ("Host", "example.com"), ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"),
        ("Content-Type", "application/json"), ("Content-Digest", DIGEST_512), ("Content-Length", "18"),
        *extra])


def rfc_verifier(alg, pub, keyid, **kw):
    opts = dict(required_components=(), require_expires=False, check_digest=False, leeway=0)
    opts.update(kw)
    return SignatureVerifier(**opts).add_key(alg, rfc_key(pub), keyid)


B21 = ('sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"',
       "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxb"
       "tRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2Vj"
       "BqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+"
       "s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:")
B22 = ('sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473'
       ';keyid="test-key-rsa-pss";tag="header-example"',
       "sig-b22=:LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQEdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKtjvuJ"
       "yE5qH7KT8UCMkSowOB4+ECxCmT8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17SARYh"
       "pTlaqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd4je2U/lankenQ99PZfB4jY3I5rSV2DSB"
       "VkSFsURIjYErOs0tFTQosMTAoxk//0RoKUqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==:")
B23 = ('sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" '
       '"content-length");created=1618884473;keyid="test-key-rsa-pss"',
       "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+q"
       "RpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFk"
       "h/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896"
       "+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:")
B25 = ('sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
       "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:")
B26 = ('sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473'
       ';keyid="test-key-ed25519"',
       "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:")


class AppendixB(unittest.TestCase):
    def verify_rfc(self, pair, alg, pub, keyid, **kw):
        msg = rfc_request([("Signature-Input", pair[0]), ("Signature", pair[1])])
        return rfc_verifier(alg, pub, keyid, **kw).verify(msg, now=RFC_CREATED)

    def test_b21_minimal_rsa_pss(self):
        r = self.verify_rfc(B21, "rsa-pss-sha512", "test-key-rsa-pss.pub.pem", "test-key-rsa-pss")
        self.assertEqual(r.base, '"@signature-params": ();created=1618884473;keyid="test-key-rsa-pss"'
                                 ';nonce="b3k2pp5k7z-50gnwp.yemd"')
        self.assertEqual((r.nonce, r.keyid, r.alg), ("b3k2pp5k7z-50gnwp.yemd", "test-key-rsa-pss", "rsa-pss-sha512"))

    def test_b22_selective_rsa_pss(self):
        r = self.verify_rfc(B22, "rsa-pss-sha512", "test-key-rsa-pss.pub.pem", "test-key-rsa-pss",
                            tag="header-example")
        self.assertEqual(r.base, '"@authority": example.com\n"content-digest": ' + DIGEST_512 +
                         '\n"@query-param";name="Pet": dog\n"@signature-params": ("@authority" "content-digest" '
                         '"@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"')

    def test_b23_full_coverage_rsa_pss(self):
        r = self.verify_rfc(B23, "rsa-pss-sha512", "test-key-rsa-pss.pem", "test-key-rsa-pss")
        self.assertEqual(r.base, '"date": Tue, 20 Apr 2021 02:07:55 GMT\n"@method": POST\n"@path": /foo\n'
                         '"@query": ?param=Value&Pet=dog\n"@authority": example.com\n'
                         '"content-type": application/json\n"content-digest": ' + DIGEST_512 +
                         '\n"content-length": 18\n"@signature-params": ("date" "@method" "@path" "@query" '
                         '"@authority" "content-type" "content-digest" "content-length");created=1618884473'
                         ';keyid="test-key-rsa-pss"')

    def test_b24_response_ecdsa(self):
        res = Message(status=200, headers=[
            ("Date", "Tue, 20 Apr 2021 02:07:56 GMT"), ("Content-Type", "application/json"),
            ("Content-Digest", "sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJ"
                               "uahq4l5aGgfLQ==:"),
            ("Content-Length", "23"),
            ("Signature-Input", 'sig-b24=("@status" "content-type" "content-digest" "content-length")'
                                ';created=1618884473;keyid="test-key-ecc-p256"'),
            ("Signature", "sig-b24=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEk"
                          "LIj+32oiasw==:")])
        r = rfc_verifier("ecdsa-p256-sha256", "test-key-ecc-p256.pub.pem", "test-key-ecc-p256").verify(
            res, now=RFC_CREATED)
        self.assertEqual(r.alg, "ecdsa-p256-sha256")
        self.assertTrue(r.base.startswith('"@status": 200\n'))

    def test_b25_hmac_base_and_signature_reproduced(self):
        r = self.verify_rfc(B25, "hmac-sha256", "test-shared-secret.bin", "test-shared-secret")
        base = ('"date": Tue, 20 Apr 2021 02:07:55 GMT\n"@authority": example.com\n'
                '"content-type": application/json\n"@signature-params": ("date" "@authority" '
                '"content-type");created=1618884473;keyid="test-shared-secret"')
        self.assertEqual(r.base, base)
        sig = raw_sign("hmac-sha256", rfc_key("test-shared-secret.bin"), base.encode())
        self.assertEqual("sig-b25=:" + base64.b64encode(sig).decode() + ":", B25[1])

    def test_b26_ed25519_base_and_signature_reproduced(self):
        r = self.verify_rfc(B26, "ed25519", "test-key-ed25519.pub.pem", "test-key-ed25519")
        base = ('"date": Tue, 20 Apr 2021 02:07:55 GMT\n"@method": POST\n"@path": /foo\n'
                '"@authority": example.com\n"content-type": application/json\n"content-length": 18\n'
                '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" '
                '"content-length");created=1618884473;keyid="test-key-ed25519"')
        self.assertEqual(r.base, base)
        sig = raw_sign("ed25519", rfc_key("test-key-ed25519.pem"), base.encode())
        self.assertEqual("sig-b26=:" + base64.b64encode(sig).decode() + ":", B26[1])

    def test_rfc_signature_with_one_changed_byte_fails(self):
        tampered = rfc_request([("Signature-Input", B26[0]), ("Signature", B26[1])])
        tampered.headers[1] = ("Date", "Tue, 20 Apr 2021 02:07:56 GMT")
        with self.assertRaises(VerificationError) as cm:
            rfc_verifier("ed25519", "test-key-ed25519.pub.pem", "test-key-ed25519").verify(tampered, now=RFC_CREATED)
        self.assertEqual(cm.exception.reason, "bad_signature")

    def test_b22_content_digest_matches_the_rfc_body(self):
        d = ContentDigest()
        d.update(b'{"hello": "world"}')
        d.check(DIGEST_512)


def base_line(msg, component):
    items = components_from([component])
    return signature_base(msg, items, "()").split("\n")[0]


class Components(unittest.TestCase):
    """RFC 9421 Section 2 examples."""

    FIELDS = Message("GET", "https://www.example.com/path?param=value", [
        ("Host", "www.example.com"), ("Date", "Tue, 20 Apr 2021 02:07:56 GMT"),
        ("X-OWS-Header", "   Leading and trailing whitespace.   "),
        ("X-Obs-Fold-Header", "Obsolete\r\n    line folding."),
        ("Cache-Control", "max-age=60"), ("Cache-Control", "   must-revalidate"),
        ("Example-Dict", " a=1,    b=2;x=1;y=2,   c=(a   b   c)"),
        ("Example-Header", "value, with, lots"), ("Example-Header", "of, commas")])

    def test_fields(self):
        for comp, line in [
                ("x-ows-header", '"x-ows-header": Leading and trailing whitespace.'),
                ("x-obs-fold-header", '"x-obs-fold-header": Obsolete line folding.'),
                ("cache-control", '"cache-control": max-age=60, must-revalidate'),
                ("example-dict", '"example-dict": a=1,    b=2;x=1;y=2,   c=(a   b   c)'),
                ("example-dict;sf", '"example-dict";sf: a=1, b=2;x=1;y=2, c=(a b c)'),
                ('example-dict;key="a"', '"example-dict";key="a": 1'),
                ('example-dict;key="b"', '"example-dict";key="b": 2;x=1;y=2'),
                ('example-dict;key="c"', '"example-dict";key="c": (a b c)'),
                ("example-header", '"example-header": value, with, lots, of, commas'),
                ("example-header;bs", '"example-header";bs: :dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:')]:
            with self.subTest(component=comp):
                self.assertEqual(base_line(self.FIELDS, comp), line)

    def test_derived(self):
        m = Message("POST", "https://www.example.com/path?param=value", [("Host", "www.example.com")])
        for comp, line in [("@method", '"@method": POST'),
                           ("@target-uri", '"@target-uri": https://www.example.com/path?param=value'),
                           ("@authority", '"@authority": www.example.com'), ("@scheme", '"@scheme": https'),
                           ("@request-target", '"@request-target": /path?param=value'),
                           ("@path", '"@path": /path'), ("@query", '"@query": ?param=value')]:
            with self.subTest(component=comp):
                self.assertEqual(base_line(m, comp), line)
        bare = Message("GET", "HTTP://WWW.Example.COM:80", [])
        self.assertEqual(base_line(bare, "@authority"), '"@authority": www.example.com')
        self.assertEqual(base_line(bare, "@path"), '"@path": /')
        self.assertEqual(base_line(bare, "@query"), '"@query": ?')
        self.assertEqual(base_line(bare, "@scheme"), '"@scheme": http')
        self.assertEqual(base_line(Message("GET", "https://h:8443/?", []), "@authority"), '"@authority": h:8443')
        self.assertEqual(base_line(Message("GET", "https://h:443/a?", []), "@request-target"),
                         '"@request-target": /a?')

    def test_query_param(self):
        m = Message("GET", "https://example.com/parameters?var=this%20is%20a%20big%0Avalue"
                           "&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something", [])
        self.assertEqual(base_line(m, '@query-param;name="var"'),
                         '"@query-param";name="var": this%20is%20a%20big%0Avalue')
        self.assertEqual(base_line(m, '@query-param;name="bar"'),
                         '"@query-param";name="bar": with%20plus%20whitespace')
        self.assertEqual(base_line(m, '@query-param;name="fa%C3%A7ade%22%3A%20"'),
                         '"@query-param";name="fa%C3%A7ade%22%3A%20": something')

    def test_components_list_has_no_parameters_of_its_own(self):
        from upstream_jwt_verify.httpsig import parse_components

        self.assertEqual([i.value for i in parse_components('("@method" "@query-param";name="id")')],
                         ["@method", "@query-param"])
        for text in ('("@method");p=1', '("@method");keyid="gw"', '()' + ";a"):
            with self.assertRaisesRegex(ConfigurationError, "no parameters after"):
                parse_components(text)
        for text in ('("@method" 1)', '(@method)'):
            with self.assertRaises(ConfigurationError):
                parse_components(text)
        # an identifier cannot close the list early to smuggle parameters in
        for ids in (['@method;x=1);p=2'], ["a", 'b;x=1);y'], ['@method";p=1']):
            with self.assertRaises(ConfigurationError):
                components_from(ids)

    def test_components_that_cannot_be_derived(self):
        m = Message("GET", "https://example.com/a?x=1&x=2&y", [("Example-Dict", "a=1"), ("Bad", "caf\xe9"),
                                                                 ("Line", "a\nb")])
        for comp in ["@query-param;name=\"x\"", "@query-param;name=\"z\"", "@query-param", "@unknown",
                     "@status", "absent-header", "example-dict;key=\"b\"", "bad", "line", "example-dict;bs;sf",
                     "date;sf", "example-dict;tr", "@method;name=\"x\"", "example-dict;req", "example-dict;sf=?0",
                     "@query-param;name=x"]:
            with self.subTest(component=comp):
                with self.assertRaises(VerificationError) as cm:
                    base_line(m, comp)
                self.assertEqual(cm.exception.reason, "bad_component")
        self.assertEqual(base_line(m, "bad;bs"), '"bad";bs: :Y2Fm6Q==:')
        for uri in ["https://example.com/a b", "https://example.com/caf\xe9", "/relative", "https:///p",
                    "https://u@h/", "https://h/#f"]:
            with self.subTest(uri=uri):
                with self.assertRaises(VerificationError) as cm:
                    base_line(Message("GET", uri, []), "@path")
                self.assertEqual(cm.exception.reason, "bad_component")
        with self.assertRaises(VerificationError) as cm:
            signature_base(m, components_from(["@method", "@method"]), "()")
        self.assertEqual(cm.exception.reason, "bad_component")


def verifier(**kw):
    return SignatureVerifier(**kw).add_key("ed25519", public_of("ed25519"), "gw")


class Reasons(unittest.TestCase):
    """Every reason of the core, in the core's order, at its exact boundary."""

    def assertReason(self, reason, msg, v=None, now=NOW, content=BODY):
        with self.assertRaises(VerificationError) as cm:
            (v or verifier()).verify(msg, now=now, content=content)
        self.assertEqual(cm.exception.reason, reason, cm.exception.message)
        self.assertEqual(cm.exception.status, 401)

    def test_valid_gateway_request_and_what_it_exposes(self):
        r = verifier(tag=None).verify(signed(gateway_request(), GATEWAY_COMPONENTS), now=NOW, content=BODY)
        self.assertEqual((r.label, r.keyid, r.alg, r.created, r.expires, r.nonce), ("kong", "gw", "ed25519",
                                                                                     NOW, NOW + 60, "n-1"))
        self.assertEqual(r.consumer, {"id": "alice-id", "username": "alice", "credential": None})
        self.assertEqual(r.header("X-Consumer-ID"), "alice-id")
        self.assertEqual(r.components[:2], ['"@method"', '"@target-uri"'])

    def test_uncovered_headers_are_not_exposed(self):
        msg = signed(gateway_request(extra=[("X-Credential-Identifier", "forged")]),
                     ["@method", "@target-uri", "@authority", "content-digest", "x-consumer-id"])
        r = verifier().verify(msg, now=NOW, content=BODY)
        self.assertEqual(r.consumer, {"id": "alice-id", "username": None, "credential": None})
        self.assertIsNone(r.header("x-credential-identifier"))
        self.assertIsNone(r.header("x-consumer-username"))

    def test_missing_signature(self):
        good = signed(gateway_request(), GATEWAY_COMPONENTS)
        without = lambda name: Message(good.method, good.target_uri, [h for h in good.headers if h[0] != name])
        self.assertReason("missing_signature", without("Signature"))
        self.assertReason("missing_signature", without("Signature-Input"))
        self.assertReason("missing_signature", good, v=verifier(label="other"))
        empty = Message(good.method, good.target_uri, list(without("Signature-Input").headers)
                        + [("Signature-Input", "")])
        self.assertReason("missing_signature", empty)

    def test_malformed(self):
        good = signed(gateway_request(), GATEWAY_COMPONENTS)
        si = dict(good.headers)["Signature-Input"]
        sig = dict(good.headers)["Signature"]

        def with_fields(si_value, sig_value):
            rest = [h for h in good.headers if h[0] not in ("Signature", "Signature-Input")]
            return Message(good.method, good.target_uri, rest + [("Signature-Input", si_value), ("Signature", sig_value)])

        unpadded = sig.rstrip(":").rstrip("=") + ":"
        for si_value, sig_value in [
                (si + ",", sig), (si, sig[:-1]), (si, unpadded), ("kong=\"x\"", sig), ("kong=(a)", sig),
                (si, "kong=\"sig\""), (si, "kong=(:aGk=:)"), (si.replace(f"created={NOW}", "created=\"1\""), sig),
                (si.replace('keyid="gw"', "keyid=gw"), sig), (si.replace('nonce="n-1"', "nonce=1"), sig),
                (si.replace(f"expires={NOW + 60}", f"expires={NOW + 60}.0"), sig), (si + ';tag=?1', sig),
                (si.replace('alg="ed25519"', "alg=ed25519"), sig), ("kong=(\"@method\");created=@1", sig),
                (si.replace("kong=", "kong=", 1) + ", other=\xe9", sig),
                # a repeated parameter, though the last value re-serializes to what was signed
                (si + f";created={NOW}", sig),
                (si.replace(f"created={NOW}", f"created={NOW - 86400};created={NOW}"), sig),
                (si.replace('"@method"', '"@method";x;x'), sig), (si + ', other=("@method");a=1;a=1', sig)]:
            with self.subTest(si=si_value, sig=sig_value):
                self.assertReason("malformed", with_fields(si_value, sig_value))

    def test_ambiguous(self):
        good = signed(gateway_request(), GATEWAY_COMPONENTS)
        two = signed(good, ["@method"], label="other")
        self.assertReason("ambiguous", two)
        self.assertEqual(verifier(label="kong").verify(two, now=NOW, content=BODY).label, "kong")

    def test_unknown_key_and_alg_mismatch(self):
        p = {"created": NOW, "expires": NOW + 60, "keyid": "other", "nonce": "n"}
        self.assertReason("unknown_key", signed(gateway_request(), GATEWAY_COMPONENTS, params=p))
        del p["keyid"]
        self.assertReason("unknown_key", signed(gateway_request(), GATEWAY_COMPONENTS, params=p))
        p.update(keyid="gw", alg="ecdsa-p256-sha256")
        self.assertReason("alg_mismatch", signed(gateway_request(), GATEWAY_COMPONENTS, params=p))
        # The key decides: without alg, an ECDSA signature is checked as ed25519 and fails.
        del p["alg"]
        msg = signed(gateway_request(), GATEWAY_COMPONENTS, params=p, alg="ecdsa-p256-sha256")
        self.assertReason("bad_signature", msg)
        # a key without keyid takes signatures without keyid only
        v = SignatureVerifier().add_key("ed25519", public_of("ed25519"))
        del p["keyid"]
        v.verify(signed(gateway_request(), GATEWAY_COMPONENTS, params=p), now=NOW, content=BODY)
        self.assertReason("unknown_key", signed(gateway_request(), GATEWAY_COMPONENTS), v=v)
        # keyid="" is a keyid, not its absence: signed by the key without keyid, still unknown_key
        p["keyid"] = ""
        empty = signed(gateway_request(), GATEWAY_COMPONENTS, params=p)
        self.assertTrue(dict(empty.headers)["Signature-Input"].endswith(';keyid=""'))
        self.assertReason("unknown_key", empty, v=v)

    def test_missing_component_and_tag(self):
        msg = signed(gateway_request(), ["@method", "@target-uri", "@authority"])
        self.assertReason("missing_component", msg)
        msg = signed(gateway_request(), GATEWAY_COMPONENTS)
        self.assertReason("missing_component", msg, v=verifier(required_components=GATEWAY_COMPONENTS + ["@path"]))
        self.assertReason("missing_component", msg, v=verifier(required_components=["content-digest;sf"]))
        self.assertReason("tag_mismatch", msg, v=verifier(tag="orders"))
        p = {"created": NOW, "expires": NOW + 60, "keyid": "gw", "tag": "orders"}
        tagged = signed(gateway_request(), GATEWAY_COMPONENTS, params=p)
        verifier(tag="orders").verify(tagged, now=NOW, content=BODY)
        self.assertReason("tag_mismatch", tagged, v=verifier(tag="Orders"))
        qp = signed(gateway_request(), GATEWAY_COMPONENTS + ['@query-param;name="id"'])
        verifier(required_components=['@query-param;name="id"']).verify(qp, now=NOW, content=BODY)

    def test_missing_parameter(self):
        no_created = signed(gateway_request(), GATEWAY_COMPONENTS, params={"expires": NOW + 60, "keyid": "gw"})
        self.assertReason("missing_parameter", no_created)
        verifier(require_created=False).verify(no_created, now=NOW, content=BODY)
        self.assertReason("missing_parameter", no_created, v=verifier(require_created=False, max_age=60))
        no_expires = signed(gateway_request(), GATEWAY_COMPONENTS, params={"created": NOW, "keyid": "gw"})
        self.assertReason("missing_parameter", no_expires)
        verifier(require_expires=False).verify(no_expires, now=NOW, content=BODY)

    def test_time_boundaries(self):
        msg = signed(gateway_request(), GATEWAY_COMPONENTS)  # created NOW, expires NOW + 60
        v = verifier(leeway=5, max_age=30)
        v.verify(msg, now=NOW - 5, content=BODY)
        self.assertReason("created_in_future", msg, v=v, now=NOW - 6)
        v.verify(msg, now=NOW + 35, content=BODY)
        self.assertReason("too_old", msg, v=v, now=NOW + 36)
        v = verifier(leeway=5)
        v.verify(msg, now=NOW + 65, content=BODY)
        self.assertReason("expired", msg, v=v, now=NOW + 66)
        v = verifier(leeway=0)
        v.verify(msg, now=NOW + 60, content=BODY)
        self.assertReason("expired", msg, v=v, now=NOW + 61)

    def test_bad_signature_for_every_change(self):
        msg = signed(gateway_request(), GATEWAY_COMPONENTS)
        for i, (n, v) in enumerate(msg.headers):
            # Host is not covered as a field: the middleware builds the target URI from it.
            if n in ("Signature", "Signature-Input", "Content-Digest", "Host"):
                continue
            changed = list(msg.headers)
            changed[i] = (n, v + "x")
            with self.subTest(header=n):
                self.assertReason("bad_signature", Message(msg.method, msg.target_uri, changed))
        for uri in ["http://orders.internal:8080/v1/orders?id=8", "http://orders.internal:8080/v1/orders",
                    "https://orders.internal:8080/v1/orders?id=7", "http://orders.internal:8081/v1/orders?id=7",
                    "http://orders.internal:8080/v1/Orders?id=7", "http://orders.internal:8080/v1/orders/?id=7"]:
            with self.subTest(uri=uri):
                self.assertReason("bad_signature", Message(msg.method, uri, msg.headers))
        self.assertReason("bad_signature", Message("PUT", msg.target_uri, msg.headers))
        short = signed(gateway_request(), GATEWAY_COMPONENTS, signature=b"\0" * 63)
        self.assertReason("bad_signature", short)

    def test_digest(self):
        msg = signed(gateway_request(), GATEWAY_COMPONENTS)
        self.assertReason("digest_mismatch", msg, content=BODY + b" ")
        self.assertReason("digest_mismatch", msg, content=b"")
        # not covered, the digest is still checked against the body
        unsigned_digest = gateway_request()
        unsigned_digest.headers = [h for h in unsigned_digest.headers if h[0] != "Content-Digest"]
        no_digest = signed(unsigned_digest, ["@method", "@target-uri", "@authority"])
        self.assertReason("missing_digest", no_digest, v=verifier(required_components=[]))
        verifier(required_components=[], check_digest=False).verify(no_digest, now=NOW)
        other = signed(gateway_request(extra=[]), ["@method"])
        other.headers = [(n, "md5=:AAAAAAAAAAAAAAAAAAAAAA==:" if n == "Content-Digest" else v)
                         for n, v in other.headers]
        self.assertReason("missing_digest", other, v=verifier(required_components=[]))
        bad_digest = signed(gateway_request(), ["@method"])
        bad_digest.headers = [(n, "sha-256=x" if n == "Content-Digest" else v) for n, v in bad_digest.headers]
        self.assertReason("malformed", bad_digest, v=verifier(required_components=[]))
        with self.assertRaises(ConfigurationError):
            verifier().verify(msg, now=NOW)

    def test_content_digest_both_algorithms_and_streaming(self):
        d = ContentDigest()
        for chunk in (b'{"item"', b": 42}"):
            d.update(chunk)
        field = d.field()
        self.assertTrue(field.startswith(content_digest(BODY) + ", sha-512=:"))
        for value in (field, content_digest(BODY), field.split(", ")[1], "md5=:AAAA:, " + field):
            e = ContentDigest()
            e.update(BODY)
            e.check(value)
        wrong = field.split(", ")[0] + ", sha-512=:" + base64.b64encode(b"\0" * 64).decode() + ":"
        e = ContentDigest()
        e.update(BODY)
        with self.assertRaises(VerificationError) as cm:
            e.check(wrong)
        self.assertEqual(cm.exception.reason, "digest_mismatch")
        self.assertEqual(ContentDigest.for_field("sha-512=:x:")._h.keys(), {"sha-512"})

    def test_replay(self):
        store = InMemoryReplayStore()
        v = verifier(replay_store=store, leeway=5)
        msg = signed(gateway_request(), GATEWAY_COMPONENTS)
        v.verify(msg, now=NOW, content=BODY)
        with self.assertRaises(VerificationError) as cm:
            v.verify(msg, now=NOW + 65, content=BODY)
        self.assertEqual(cm.exception.reason, "replayed")
        # a rejected request does not use up its nonce
        fresh = signed(gateway_request(), GATEWAY_COMPONENTS, params={"created": NOW, "expires": NOW + 60,
                                                                      "keyid": "gw", "nonce": "n-2"})
        self.assertReason("digest_mismatch", fresh, v=v, content=b"x")
        v.verify(fresh, now=NOW, content=BODY)
        no_nonce = signed(gateway_request(), GATEWAY_COMPONENTS, params={"created": NOW, "expires": NOW + 60,
                                                                         "keyid": "gw"})
        self.assertReason("missing_parameter", no_nonce, v=v)
        # remembered through the last second the signature is accepted (expires
        # + leeway, not expired while now <= 65), under the nonce alone
        self.assertEqual(store._expiry["n-1"], NOW + 66)
        self.assertReason("expired", signed(gateway_request(), GATEWAY_COMPONENTS, params={
            "created": NOW, "expires": NOW + 60, "keyid": "gw", "nonce": "n-3"}), v=v, now=NOW + 66)

    def test_redis_key_and_ttl(self):
        """The exact SET the Node package sends for the same signature."""
        from upstream_jwt_verify import NONCE_PREFIX, RedisReplayStore

        calls = []

        class Client:
            def set(self, name, value, nx, px):
                calls.append((name, value, nx, px))
                return True

        v = verifier(replay_store=RedisReplayStore(Client(), prefix=NONCE_PREFIX), leeway=5)
        v.verify(signed(gateway_request(), GATEWAY_COMPONENTS), now=NOW + 10, content=BODY)
        self.assertEqual(calls, [("upstream-jwt:nonce:n-1", b"1", True, 56_000)])

    def test_every_algorithm(self):
        for alg in ("hmac-sha256", "ed25519", "ecdsa-p256-sha256", "rsa-pss-sha512", "rsa-v1_5-sha256"):
            with self.subTest(alg=alg):
                v = SignatureVerifier().add_key(alg, public_of(alg), "gw")
                p = {"created": NOW, "expires": NOW + 60, "keyid": "gw", "alg": alg}
                msg = signed(gateway_request(), GATEWAY_COMPONENTS, alg=alg, params=p)
                self.assertEqual(v.verify(msg, now=NOW, content=BODY).alg, alg)
                tampered = Message("PATCH", msg.target_uri, msg.headers)
                with self.assertRaises(VerificationError) as cm:
                    v.verify(tampered, now=NOW, content=BODY)
                self.assertEqual(cm.exception.reason, "bad_signature")


class Keys(unittest.TestCase):
    def test_gateway_algorithm_names(self):
        for jws, alg in (("HS256", "hmac-sha256"), ("RS256", "rsa-v1_5-sha256"), ("PS256", "rsa-pss-sha512"),
                         ("ES256", "ecdsa-p256-sha256"), ("EdDSA", "ed25519")):
            with self.subTest(jws=jws):
                v = SignatureVerifier().add_key(jws, public_of(alg), "gw")
                self.assertEqual(v.verify(signed(gateway_request(), GATEWAY_COMPONENTS, alg=alg,
                                                 material=private_of(alg)), now=NOW, content=BODY).alg, alg)
        for jws in ("HS384", "HS512"):
            with self.assertRaisesRegex(ConfigurationError, f"^{jws} has no RFC 9421 algorithm"):
                make_signature_key(jws, b"s" * 64)
        for bad in ("hs256", "RS384", "hmac-sha512", ""):
            with self.assertRaisesRegex(ConfigurationError, "unsupported HTTP signature algorithm"):
                make_signature_key(bad, b"s" * 64)

    def test_key_rules(self):
        with self.assertRaises(ConfigurationError):
            make_signature_key("hmac-sha256", b"s" * 31)
        make_signature_key("HS256", b"s" * 32)
        with self.assertRaises(ConfigurationError):
            make_signature_key("ed25519", public_of("ecdsa-p256-sha256"))
        with self.assertRaises(ConfigurationError):
            make_signature_key("rsa-pss-sha384", public_of("rsa-pss-sha512"))
        with self.assertRaises(ConfigurationError):
            make_signature_key("ed25519", b"not a pem")
        from cryptography.hazmat.primitives.asymmetric import rsa
        small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
        with self.assertRaises(ConfigurationError):
            make_signature_key("rsa-v1_5-sha256", small)
        self.assertEqual(make_signature_key("EdDSA", private_of("ed25519")).alg, "ed25519")
        from cryptography.hazmat.primitives.asymmetric import ed25519
        obj = make_signature_key("ed25519", ed25519.Ed25519PrivateKey.generate(), "o")
        self.assertIsInstance(obj.key, ed25519.Ed25519PublicKey)
        v = SignatureVerifier().add_key("ed25519", public_of("ed25519"), "a")
        with self.assertRaises(ConfigurationError):
            v.add_key("ed25519", public_of("ed25519"), "a")

    def test_jwk_algorithms_map_as_the_gateway_signs(self):
        from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
        from cryptography.hazmat.primitives import serialization

        def pub(alg):
            return serialization.load_pem_public_key(public_of(alg))
        jwks = {"keys": [
            dict(json.loads(OKPAlgorithm.to_jwk(pub("ed25519"))), kid="e", alg="EdDSA"),
            dict(json.loads(RSAAlgorithm.to_jwk(pub("rsa-v1_5-sha256"))), kid="r", alg="RS256"),
            dict(json.loads(RSAAlgorithm.to_jwk(pub("rsa-v1_5-sha256"))), kid="p", alg="PS256"),
            dict(json.loads(ECAlgorithm.to_jwk(pub("ecdsa-p256-sha256"))), kid="es", alg="ES256"),
            {"kty": "oct", "k": base64.urlsafe_b64encode(b"k" * 32).rstrip(b"=").decode(), "alg": "HS256"}]}
        keys = {k.keyid: k.alg for k in signature_keys_from_jwks(jwks)}
        self.assertEqual(keys, {"e": "ed25519", "r": "rsa-v1_5-sha256", "p": "rsa-pss-sha512",
                                "es": "ecdsa-p256-sha256", "": "hmac-sha256"})
        with self.assertRaises(ConfigurationError):
            signature_keys_from_jwks({"keys": [dict(jwks["keys"][1], alg="RS512")]})
        self.assertEqual(signature_keys_from_jwks({"keys": [dict(jwks["keys"][1], alg="HS384")]},
                                                  skip_unusable=True), [])

    def test_from_env(self):
        env = {"UPSTREAM_JWT_FORMAT": "http-message-signature", "UPSTREAM_JWT_ALG": "EdDSA",
               "UPSTREAM_JWT_PUBLIC_KEY": public_of("ed25519").decode(), "UPSTREAM_JWT_KEY_ID": "gw",
               "UPSTREAM_JWT_SIGNATURE_TAG": "orders", "UPSTREAM_JWT_LEEWAY": "2"}
        v = Verifier.from_env(env)
        self.assertIsInstance(v, SignatureVerifier)
        self.assertEqual((v.tag, v.leeway, v.required_components),
                         ("orders", 2, ['"@method"', '"@target-uri"', '"@authority"', '"content-digest"']))
        p = {"created": NOW, "expires": NOW + 60, "keyid": "gw", "tag": "orders"}
        v.verify(signed(gateway_request(), GATEWAY_COMPONENTS, params=p), now=NOW, content=BODY)
        self.assertIsInstance(Verifier.from_env({"UPSTREAM_JWT_SECRET": "s" * 32}), Verifier)
        self.assertIsInstance(Verifier.from_env({"UPSTREAM_JWT_SECRET": "s" * 32}, format="http-message-signature"),
                              SignatureVerifier)
        # the JWT format's options are ignored, so switching the format by environment works
        switched = Verifier.from_env(dict(env), audience="orders", issuer="kong", tag="other")
        self.assertIsInstance(switched, SignatureVerifier)
        self.assertEqual(switched.tag, "other")
        with self.assertRaises(ConfigurationError):
            Verifier.from_env({"UPSTREAM_JWT_SECRET": "s" * 32, "UPSTREAM_JWT_FORMAT": "cavage"})
        with self.assertRaises(ConfigurationError):
            Verifier.from_env({"UPSTREAM_JWT_FORMAT": "http-message-signature"})
        env2 = dict(env, UPSTREAM_JWT_REQUIRED_COMPONENTS='@method, @query-param;name="id"')
        self.assertEqual(Verifier.from_env(env2).required_components, ['"@method"', '"@query-param";name="id"'])


if __name__ == "__main__":
    unittest.main()


class KeysFromJwksUrl(unittest.TestCase):
    """The gateway's JWKS (upstream-jwt-jwks) as the key source: a rotation
    needs no restart, unknown keyids are rate-limited, no key set fails closed."""

    def setUp(self):
        from test_jwks import JwksServer

        self.server = JwksServer()
        self.addCleanup(self.server.stop)

    @staticmethod
    def jwk(private_pem_or_key, kid):
        from cryptography.hazmat.primitives import serialization
        from jwt.algorithms import OKPAlgorithm

        key = private_pem_or_key
        if isinstance(key, bytes):
            key = serialization.load_pem_private_key(key, None)
        return dict(json.loads(OKPAlgorithm.to_jwk(key.public_key())), kid=kid, alg="EdDSA", use="sig")

    def test_rotation_and_unknown_keyid(self):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519

        from upstream_jwt_verify import JwksSource

        self.server.doc = {"keys": [self.jwk(private_of("ed25519"), "gw-1")]}
        v = SignatureVerifier(jwks=JwksSource(self.server.url, min_refresh_interval=0))
        p = {"created": NOW, "expires": NOW + 60, "keyid": "gw-1", "alg": "ed25519"}
        self.assertEqual(v.verify(signed(gateway_request(), GATEWAY_COMPONENTS, params=p), now=NOW,
                                  content=BODY).keyid, "gw-1")
        hits = self.server.hits
        v.verify(signed(gateway_request(), GATEWAY_COMPONENTS, params=p), now=NOW, content=BODY)
        self.assertEqual(self.server.hits, hits, "the cached key set is used")

        new = ed25519.Ed25519PrivateKey.generate()
        self.server.doc = {"keys": [self.jwk(new, "gw-2"), self.jwk(private_of("ed25519"), "gw-1")]}
        new_pem = new.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        p2 = dict(p, keyid="gw-2")
        r = v.verify(signed(gateway_request(), GATEWAY_COMPONENTS, params=p2, material=new_pem), now=NOW,
                     content=BODY)
        self.assertEqual((r.keyid, r.alg), ("gw-2", "ed25519"))

        limited = SignatureVerifier(jwks=JwksSource(self.server.url, min_refresh_interval=3600))
        limited.verify(signed(gateway_request(), GATEWAY_COMPONENTS, params=p), now=NOW, content=BODY)
        hits = self.server.hits
        for _ in range(3):
            with self.assertRaises(VerificationError) as cm:
                limited.verify(signed(gateway_request(), GATEWAY_COMPONENTS, params=dict(p, keyid="nope")),
                               now=NOW, content=BODY)
            self.assertEqual(cm.exception.reason, "unknown_key")
        self.assertEqual(self.server.hits, hits, "unknown keyids do not hammer the JWKS URL")

    def test_no_key_set_fails_closed(self):
        self.server.stop()
        from upstream_jwt_verify import JwksSource

        v = SignatureVerifier(jwks=JwksSource(self.server.url, timeout=0.5))
        with self.assertRaises(VerificationError) as cm:
            v.verify(signed(gateway_request(), GATEWAY_COMPONENTS), now=NOW, content=BODY)
        self.assertEqual((cm.exception.reason, cm.exception.status), ("jwks_unavailable", 503))


class NoncesAcrossReplicas(unittest.TestCase):
    """Two verifiers (replicas) sharing one Debian redis-server: a request
    accepted by one is refused by the other; Redis gone fails closed."""

    def test_shared_redis_nonce_store(self):
        from support import RedisServer
        from upstream_jwt_verify import RedisReplayStore

        redis = RedisServer()
        self.addCleanup(lambda: redis.proc.poll() is None and redis.stop())
        a, b = (verifier(replay_store=RedisReplayStore.from_url(redis.url)) for _ in range(2))
        # The store's clock is Redis's: verify "now" so the TTL is real.
        import time
        now = int(time.time())
        p = {"created": now, "expires": now + 60, "keyid": "gw", "nonce": "replica-n"}
        msg = signed(gateway_request(), GATEWAY_COMPONENTS, params=p)
        a.verify(msg, now=now, content=BODY)
        with self.assertRaises(VerificationError) as cm:
            b.verify(msg, now=now, content=BODY)
        self.assertEqual(cm.exception.reason, "replayed")
        redis.stop()
        p2 = dict(p, nonce="replica-n2")
        with self.assertRaises(VerificationError) as cm:
            b.verify(signed(gateway_request(), GATEWAY_COMPONENTS, params=p2), now=now, content=BODY)
        self.assertEqual((cm.exception.reason, cm.exception.status), ("replay_store_unavailable", 503))
