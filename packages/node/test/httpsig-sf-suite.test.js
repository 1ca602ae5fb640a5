// The httpwg structured-field-tests suite (vendored, with its licence, by
// the Python package in packages/python/tests/structured-field-tests): every
// case parses to the expected value and re-serializes to the canonical form,
// or fails when it must. The two `can_fail` Byte Sequences without padding
// are refused, as the core refuses them (one spelling per signature).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

import * as sf from '../src/sf.js';

const DIR = new URL('../../python/tests/structured-field-tests/', import.meta.url);
const present = existsSync(DIR);

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function base32(text) {
  let bits = 0;
  let v = 0;
  const out = [];
  for (const c of text.replace(/=+$/, '')) {
    v = ((v << 5) | B32.indexOf(c)) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((v >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out).toString('hex');
}

// The suite's JSON model of a value.
const bareOf = (b) => ({
  integer: () => b.value,
  decimal: () => b.value / 1000,
  string: () => b.value,
  token: () => ({ __type: 'token', value: b.value }),
  bytes: () => ({ __type: 'binary', value: b.value.toString('hex') }),
  boolean: () => b.value,
  date: () => ({ __type: 'date', value: b.value }),
  display: () => ({ __type: 'displaystring', value: b.value }),
}[b.type]());
const params = (p) => [...p].map(([k, v]) => [k, bareOf(v)]);
const member = (m) => (m.kind === 'inner'
  ? [m.items.map((i) => [bareOf(i.value), params(i.params)]), params(m.params)]
  : [bareOf(m.value), params(m.params)]);
const expected = (x) => JSON.parse(JSON.stringify(x, (k, v) => (v && v.__type === 'binary' ? { __type: 'binary', value: base32(v.value) } : v)));

const PARSE = { item: sf.parseItem, list: sf.parseList, dictionary: sf.parseDictionary };
const MODEL = { item: member, list: (l) => l.map(member), dictionary: (d) => [...d].map(([k, m]) => [k, member(m)]) };
const SERIALIZE = { item: sf.serializeItem, list: sf.serializeList, dictionary: sf.serializeDictionary };

test('httpwg structured-field-tests', { skip: !present && 'packages/python/tests/structured-field-tests is not on this branch' }, () => {
  let cases = 0;
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.json'))) {
    for (const t of JSON.parse(readFileSync(new URL(file, DIR), 'utf8'))) {
      cases += 1;
      const name = `${file}: ${t.name}`;
      const raw = Buffer.from(t.raw.join(', '), 'utf8').toString('latin1');
      let parsed;
      try {
        parsed = PARSE[t.header_type](raw);
      } catch (e) {
        assert.ok(e instanceof sf.SfError, name);
        assert.ok(t.must_fail || t.can_fail, `${name}: ${e.message}`);
        continue;
      }
      assert.ok(!t.must_fail, `${name}: parsed what must fail`);
      assert.deepEqual(MODEL[t.header_type](parsed), expected(t.expected), name);
      if (t.canonical) assert.equal(SERIALIZE[t.header_type](parsed), t.canonical.join(', '), name);
    }
  }
  assert.ok(cases > 1500, `only ${cases} cases`);
});
