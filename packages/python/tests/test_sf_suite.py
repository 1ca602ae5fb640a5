"""The httpwg structured-field-tests suite (tests/structured-field-tests/)
through the package's RFC 9651 parser and serializer: every parse case must
give the expected value and serialize to the canonical form; every
must_fail case must be refused; every serialisation case must serialize to
its canonical form or be refused when it must fail."""

import base64
import decimal
import glob
import json
import os
import unittest

from upstream_jwt_verify import sf

SUITE = os.path.join(os.path.dirname(__file__), "structured-field-tests")
PARSERS = {"item": sf.parse_item, "list": sf.parse_list, "dictionary": sf.parse_dictionary}
SERIALIZERS = {"item": sf.serialize_item, "list": sf.serialize_list, "dictionary": sf.serialize_dictionary}


def bare_to_json(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, sf.Date):
        return {"__type": "date", "value": int(v)}
    if isinstance(v, int):
        return v
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, sf.Token):
        return {"__type": "token", "value": str(v)}
    if isinstance(v, sf.DisplayString):
        return {"__type": "displaystring", "value": str(v)}
    if isinstance(v, str):
        return v
    return {"__type": "binary", "value": base64.b32encode(v).decode()}


def params_to_json(p):
    return [[k, bare_to_json(v)] for k, v in p.items()]


def member_to_json(m):
    if isinstance(m, sf.InnerList):
        return [[member_to_json(i) for i in m.items], params_to_json(m.params)]
    return [bare_to_json(m.value), params_to_json(m.params)]


def to_json(kind, v):
    if kind == "item":
        return member_to_json(v)
    if kind == "list":
        return [member_to_json(m) for m in v]
    return [[k, member_to_json(m)] for k, m in v.items()]


def bare_from_json(j):
    if isinstance(j, dict):
        t, v = j["__type"], j["value"]
        if t == "token":
            return sf.Token(v)
        if t == "binary":
            return base64.b32decode(v)
        if t == "date":
            return sf.Date(v)
        if t == "displaystring":
            return sf.DisplayString(v)
        raise ValueError(t)
    if isinstance(j, float):
        return decimal.Decimal(repr(j))
    return j


def member_from_json(j):
    value, params = j
    p = {k: bare_from_json(v) for k, v in params}
    if isinstance(value, list):
        return sf.InnerList([member_from_json(i) for i in value], p)
    return sf.Item(bare_from_json(value), p)


def from_json(kind, j):
    if kind == "item":
        return member_from_json(j)
    if kind == "list":
        return [member_from_json(m) for m in j]
    return {k: member_from_json(m) for k, m in j}


def canonical_json(v):
    # json.dumps keeps 1 and 1.0 and true apart, which == would not.
    return json.dumps(v, sort_keys=True)


def cases(pattern):
    for path in sorted(glob.glob(os.path.join(SUITE, pattern))):
        with open(path, encoding="utf-8") as f:
            for case in json.load(f):
                yield os.path.relpath(path, SUITE), case


class StructuredFieldSuite(unittest.TestCase):
    def test_parse_cases(self):
        counted = {"passed": 0, "can_fail_rejected": 0}
        for path, case in cases("*.json"):
            kind = case["header_type"]
            raw = ", ".join(case["raw"])
            with self.subTest(file=path, case=case["name"]):
                try:
                    value = PARSERS[kind](raw)
                except sf.SFError:
                    if case.get("must_fail"):
                        counted["passed"] += 1
                    elif case.get("can_fail"):
                        counted["can_fail_rejected"] += 1
                    else:
                        self.fail(f"refused {raw!r}")
                    continue
                self.assertFalse(case.get("must_fail", False), f"accepted {raw!r}")
                self.assertEqual(canonical_json(to_json(kind, value)), canonical_json(case["expected"]))
                want = case["canonical"][0] if case.get("canonical") else ("" if "canonical" in case else raw)
                self.assertEqual(SERIALIZERS[kind](value), want)
                counted["passed"] += 1
        # The suite has 1591 parse cases; the only ones refused without
        # must_fail are the two unpadded Byte Sequences (canonical base64 only).
        self.assertEqual(counted, {"passed": 1589, "can_fail_rejected": 2})

    def test_serialisation_cases(self):
        n = 0
        for path, case in cases("serialisation-tests/*.json"):
            kind = case["header_type"]
            with self.subTest(file=path, case=case["name"]):
                value = from_json(kind, case["expected"])
                if case.get("must_fail"):
                    with self.assertRaises(sf.SFError):
                        SERIALIZERS[kind](value)
                else:
                    self.assertEqual(SERIALIZERS[kind](value), case["canonical"][0])
                n += 1
        self.assertGreater(n, 0)

    def test_failure_is_for_the_whole_field(self):
        # A bad member anywhere refuses the field, not just that member.
        for bad in ('a=1, b=:aGk:, c=2', 'a=1, b="x\x01"', 'a=(1 2, b=3', "a=1,", "a=1 b=2",
                    "a=1, B=2", 'sig=:aGVsbG8=:, sig2=%"%C3%A9"', "a=\u00e9"):
            with self.subTest(field=bad):
                with self.assertRaises(sf.SFError):
                    sf.parse_dictionary(bad)

    def test_repeated_parameters_refused_on_request(self):
        # RFC 9651 keeps the last value; Signature-Input's parse refuses a
        # repeated parameter at any level, and still lets a repeated key win.
        for text in ("a;x=1;x=2", 'a=("b";p;p)', "a=(\"b\");p=1;q;p=1", "z=1, a=(1 2);k=?0;k=?0"):
            with self.subTest(field=text):
                self.assertIsNotNone(sf.parse_dictionary(text))
                with self.assertRaises(sf.SFError):
                    sf.parse_dictionary(text, refuse_repeated_parameters=True)
        d = sf.parse_dictionary('a=1;x=1, a=("b";x);x=2', refuse_repeated_parameters=True)
        self.assertEqual(sf.serialize_dictionary(d), 'a=("b";x);x=2')

    def test_byte_sequences_are_canonical_padded_base64_only(self):
        self.assertEqual(sf.parse_item(":aGVsbG8=:").value, b"hello")
        for bad in (":aGVsbG8:", ":aGVsbG9=:", ":aGVs=bG8=:", ":aGVsbG8==:", ":=aGVsbG8=:", ":aGVs bG8=:"):
            with self.subTest(text=bad):
                with self.assertRaises(sf.SFError):
                    sf.parse_item(bad)

    def test_bytes_input_is_read_as_received(self):
        self.assertEqual(sf.parse_dictionary(b'a="x", b=?0'), {"a": sf.Item("x"), "b": sf.Item(False)})
        with self.assertRaises(sf.SFError):
            sf.parse_dictionary(b'a="\xc3\xa9"')

    def test_types_stay_apart(self):
        d = sf.parse_dictionary('a="t", b=t, c=@5, d=5, e=%"t", f=?1, g=5.0')
        self.assertEqual([sf.type_name(m.value) for m in d.values()],
                         ["string", "token", "date", "integer", "display string", "boolean", "decimal"])
        self.assertTrue(sf.is_string(d["a"].value) and not sf.is_string(d["b"].value))
        self.assertTrue(sf.is_integer(d["d"].value) and not sf.is_integer(d["c"].value))
        self.assertEqual(sf.serialize_dictionary(d), 'a="t", b=t, c=@5, d=5, e=%"t", f, g=5.0')


if __name__ == "__main__":
    unittest.main()
