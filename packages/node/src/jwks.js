// Keys from a JWKS URL: cached for as long as the server's caching headers
// say (within configured bounds), refreshed when stale and, rate-limited, when
// a token names a kid the cached set does not have (a key rotation at the
// gateway needs no service restart). packages/python/src/upstream_jwt_verify/
// jwks.py behaves identically; the Python package's tests/jwks_cache_cases.json
// holds the cases both test suites run.
import { ConfigurationError, VerificationError } from './errors.js';
import { isHmac, keysFromJwks } from './keys.js';

const MAX_JWKS_BYTES = 1 << 20;
// RFC 9111 section 1.2.2: a delta-seconds too large to hold is taken as 2^31.
export const DELTA_SECONDS_CAP = 2147483648;
// The response header fields the freshness computation and revalidation read.
const CACHE_FIELDS = ['cache-control', 'expires', 'date', 'age', 'etag'];

async function httpGet(url, timeoutMs, requestHeaders) {
  const res = await fetch(url, {
    headers: { accept: 'application/json', ...requestHeaders },
    signal: AbortSignal.timeout(timeoutMs),
  });
  // A 304 answers our If-None-Match; the caller decides whether it asked.
  if (!res.ok && res.status !== 304) throw new Error(`HTTP ${res.status}`);
  const body = Buffer.from(await res.arrayBuffer());
  if (body.length > MAX_JWKS_BYTES) throw new Error('JWKS larger than 1 MiB');
  const headers = {};
  for (const name of CACHE_FIELDS) {
    const v = res.headers.get(name); // repeated lines joined with ", "
    if (v !== null) headers[name] = v;
  }
  return { status: res.status, body, headers };
}

// ---- RFC 9110/9111 field parsing. Strict: anything outside the grammar is
// null ("malformed"), never an exception.

const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
const DIRECTIVE = new RegExp(`(${TOKEN})(?:=(${TOKEN}|${QUOTED}))?`, 'y');
const OWS = /[ \t]*/y;
const DIGITS = /^[0-9]+$/;
// entity-tag = [ weak ] opaque-tag (RFC 9110 section 8.8.3)
const ETAG = /^(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"$/;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MON = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '([0-9]{2}):([0-9]{2}):([0-9]{2})';
const IMF_FIXDATE = new RegExp(`^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2}) ${MON} ([0-9]{4}) ${TIME} GMT$`);
const RFC850 = new RegExp(`^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), ([0-9]{2})-${MON}-([0-9]{2}) ${TIME} GMT$`);
const ASCTIME = new RegExp(`^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MON} ([0-9 ][0-9]) ${TIME} ([0-9]{4})$`);

const matchAt = (re, s, pos) => { re.lastIndex = pos; return re.exec(s); };

// The directives of a Cache-Control value as [lower-case name, argument or
// null; a quoted-string argument unquoted], or null when the value is not a
// list of `token [ "=" ( token / quoted-string ) ]` (RFC 9111 section 5.2;
// empty list elements are allowed, RFC 9110 section 5.6.1.2).
export function parseCacheControl(value) {
  const out = [];
  let pos = 0;
  for (;;) {
    pos += matchAt(OWS, value, pos)[0].length;
    if (pos < value.length && value[pos] !== ',') {
      const m = matchAt(DIRECTIVE, value, pos);
      if (!m) return null;
      let arg = m[2] ?? null;
      if (arg !== null && arg.startsWith('"')) arg = arg.slice(1, -1).replace(/\\(.)/gs, '$1');
      out.push([m[1].toLowerCase(), arg]);
      pos += m[0].length;
      pos += matchAt(OWS, value, pos)[0].length;
    }
    if (pos === value.length) return out;
    if (value[pos] !== ',') return null;
    pos += 1;
  }
}

// delta-seconds = 1*DIGIT, capped at 2^31 (RFC 9111 section 1.2.2).
export function parseDeltaSeconds(value) {
  if (typeof value !== 'string' || !DIGITS.test(value)) return null;
  return value.length > 10 ? DELTA_SECONDS_CAP : Math.min(Number(value), DELTA_SECONDS_CAP);
}

// Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's
// algorithm); the same arithmetic as the Python package, so both agree.
function daysFromCivil(year, m, d) {
  const y = year - (m <= 2 ? 1 : 0);
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y, m) {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

// Seconds since the epoch of an HTTP-date in any of the three formats a
// recipient must accept (RFC 9110 section 5.6.7), or null. Case-sensitive,
// the day name must match the date.
export function parseHttpDate(value, thisYear = null) {
  if (typeof value !== 'string') return null;
  let dayName, day, mon, year, hh, mi, ss, names;
  let m;
  if ((m = IMF_FIXDATE.exec(value))) {
    [, dayName, day, mon, year, hh, mi, ss] = m;
    names = DAYS;
  } else if ((m = RFC850.exec(value))) {
    let yy;
    [, dayName, day, mon, yy, hh, mi, ss] = m;
    names = LONG_DAYS;
    // A two-digit year more than 50 years ahead is the most recent past
    // year with those digits (RFC 9110 section 5.6.7).
    const now = thisYear ?? new Date().getUTCFullYear();
    const y = now - (now % 100) + Number(yy);
    year = String(y > now + 50 ? y - 100 : y);
  } else if ((m = ASCTIME.exec(value))) {
    [, dayName, mon, day, hh, mi, ss, year] = m;
    names = DAYS;
  } else {
    return null;
  }
  const [y, mo, d, h, min, s] = [Number(year), MONTHS.indexOf(mon) + 1, Number(day), Number(hh), Number(mi), Number(ss)];
  if (d < 1 || d > daysInMonth(y, mo) || h > 23 || min > 59 || s > 60) return null;
  const days = daysFromCivil(y, mo, d);
  if (names[(((days + 4) % 7) + 7) % 7] !== dayName) return null;
  return days * 86400 + h * 3600 + min * 60 + s;
}

// RFC 9111 section 4.2 for a private cache: max-age (s-maxage is for shared
// caches), else Expires - Date; less the Age the response already had plus
// the time the request took. no-cache/no-store: fresh for no time. A header
// the computation needs that is malformed: lifetime null (the configured
// default applies). mayServeStale: false under no-cache, no-store or
// must-revalidate. keepValidator: false under no-store (the set must not be
// revalidated, only fetched again).
export function freshness(headers, responseDelay = 0) {
  const result = (lifetime, source) => ({ lifetime, mayServeStale, keepValidator, source });
  let mayServeStale = true;
  let keepValidator = true;
  const ccValue = headers['cache-control'];
  const directives = ccValue !== undefined ? parseCacheControl(ccValue) : [];
  if (directives === null) return result(null, 'malformed Cache-Control');
  const names = directives.map(([n]) => n);
  // A qualified no-cache="field" only restricts the named header fields, and
  // the keys come from the body.
  const noCache = directives.some(([n, a]) => n === 'no-cache' && a === null);
  const noStore = names.includes('no-store');
  // RFC 9111 section 4.2.4: a stale response is never served under these.
  mayServeStale = !(noCache || noStore || names.includes('must-revalidate'));
  keepValidator = !noStore;
  if (noStore || noCache) return result(0, noStore ? 'no-store' : 'no-cache');

  const maxAges = directives.filter(([n]) => n === 'max-age').map(([, a]) => a);
  if (maxAges.length > 1) return result(null, 'duplicate max-age');
  let lifetime;
  let source;
  if (maxAges.length) {
    lifetime = parseDeltaSeconds(maxAges[0]);
    if (lifetime === null) return result(null, 'malformed max-age');
    source = 'max-age';
  } else if (headers.expires !== undefined) {
    const expires = parseHttpDate(headers.expires);
    // RFC 9111 section 5.3: an invalid Expires ("0" above all) means already expired.
    if (expires === null) return result(0, 'invalid Expires');
    const date = parseHttpDate(headers.date);
    if (date === null) return result(null, 'Expires without a valid Date');
    lifetime = Math.max(0, expires - date);
    source = 'Expires';
  } else {
    return result(null, 'no freshness information');
  }
  const age = headers.age !== undefined ? parseDeltaSeconds(headers.age) : 0;
  if (age === null) return result(null, 'malformed Age');
  return result(Math.max(0, lifetime - age - responseDelay), source);
}

function seconds(name, value) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigurationError(`${name} must be a finite number of seconds >= 0`);
  }
  return value;
}

// A JWKS URL's keys, fetched on first use and cached.
//
// How long a fetched set is fresh: the response's Cache-Control max-age (or
// Expires - Date) less its Age, at most maxAge and at least
// minRefreshInterval; maxAge when the response says nothing usable. jitter
// (fraction, default 0.1) then shortens it by up to that share, drawn from
// rng, so replicas that fetched together do not refetch together; it never
// goes below minRefreshInterval. A stale set is fetched again (with
// If-None-Match when the server gave an ETag; a 304 keeps the keys and renews
// their freshness). If that fails the last good set keeps being served for
// staleIfError seconds past its freshness (not at all under no-cache,
// no-store or must-revalidate), fetches being retried at most once per
// minRefreshInterval; without any good set keys() fails closed with
// jwks_unavailable. A token with a kid the set lacks fetches again, at most
// once per minRefreshInterval, so made-up kids cannot make the service
// hammer the URL.
//
// fetch(url, timeoutMs, requestHeaders) resolves to { status, body, headers }
// (header names in lower case) or to the body alone (a 200 without headers);
// clock is monotonic seconds.
export class JwksSource {
  constructor(url, {
    maxAge = 300, minRefreshInterval = 30, staleIfError = 3600, jitter = 0.1, timeoutMs = 5000,
    fetch = httpGet, clock = () => performance.now() / 1000, rng = Math.random, onError = null,
  } = {}) {
    if (!/^https?:\/\//.test(url)) throw new ConfigurationError('JWKS URL must be http(s)');
    if (typeof jitter !== 'number' || !(jitter >= 0 && jitter < 1)) {
      throw new ConfigurationError('jitter must be a fraction >= 0 and < 1');
    }
    Object.assign(this, {
      url,
      maxAge: seconds('maxAge', maxAge),
      minRefreshInterval: seconds('minRefreshInterval', minRefreshInterval),
      staleIfError: seconds('staleIfError', staleIfError),
      jitter, timeoutMs, fetchFn: fetch, clock, rng, onError,
    });
    this.fetches = 0;
    // Monotonic times: until when the set is fresh, and until when it may
    // still be served while fetches fail. Read them for monitoring.
    this.freshUntil = -Infinity;
    this.usableUntil = -Infinity;
    this.freshnessSource = 'none';
    this.cached = null;
    this.stored = {};
    this.etag = null;
    this.attemptedAt = null;
    this.inflight = null;
  }

  lifetime(f) {
    const base = f.lifetime === null ? this.maxAge : Math.min(f.lifetime, this.maxAge);
    let r;
    try {
      r = this.rng();
    } catch {
      r = 0;
    }
    if (!(typeof r === 'number' && r >= 0 && r < 1)) r = 0; // an injected rng that fails or is out of range: no jitter rather than an exception
    return Math.max(this.minRefreshInterval, base - base * this.jitter * r);
  }

  async fetchOnce(started) {
    const conditional = this.etag !== null && this.cached !== null;
    let res = await this.fetchFn(this.url, this.timeoutMs, conditional ? { 'if-none-match': this.etag } : {});
    if (typeof res === 'string' || Buffer.isBuffer(res)) res = { status: 200, body: res, headers: {} };
    if (typeof res.headers !== 'object' || res.headers === null) throw new TypeError("the fetcher's headers are not an object");
    let headers = Object.fromEntries(Object.entries(res.headers)
      .filter(([, v]) => typeof v === 'string').map(([k, v]) => [k.toLowerCase(), v]));
    let keys;
    if (res.status === 304 && conditional) {
      keys = this.cached;
      // RFC 9111 section 4.3.4: the 304's fields update the stored ones; its Age is its own.
      const { age, ...stored } = this.stored;
      headers = { ...stored, ...headers };
    } else if (res.status === 200) {
      // A JWKS URL publishes public keys; a shared secret has no business there.
      keys = (await keysFromJwks(res.body, { skipUnusable: true })).filter((k) => !isHmac(k.alg));
    } else {
      throw new Error(`HTTP ${res.status}`);
    }
    const received = this.clock();
    let f;
    try {
      f = freshness(headers, received - started);
    } catch {
      f = { lifetime: null, mayServeStale: true, keepValidator: true, source: 'unreadable headers' };
    }
    const freshUntil = received + this.lifetime(f);
    this.cached = keys;
    this.stored = headers;
    this.etag = f.keepValidator && typeof headers.etag === 'string' && ETAG.test(headers.etag) ? headers.etag : null;
    this.freshUntil = freshUntil;
    this.usableUntil = this.freshUntil + (f.mayServeStale ? this.staleIfError : 0);
    this.freshnessSource = f.source;
  }

  // One fetch at a time; concurrent callers share it. Resolves to true when
  // it brought a set (new, or renewed by a 304).
  refresh() {
    if (!this.inflight) {
      const started = this.clock();
      this.attemptedAt = started;
      this.fetches += 1;
      this.inflight = (async () => {
        try {
          await this.fetchOnce(started);
          return true;
        } catch (e) {
          this.onError?.(e); // keep serving the last good set within usableUntil
          return false;
        } finally {
          this.inflight = null;
        }
      })();
    }
    return this.inflight;
  }

  canAttempt(now) {
    return this.attemptedAt === null || now - this.attemptedAt >= this.minRefreshInterval;
  }

  async keys() {
    const now = this.clock();
    if (now >= this.freshUntil && this.canAttempt(now)) {
      // A set fetched for this very call serves it, even one fresh for no
      // time at all (no-cache with minRefreshInterval 0).
      if (await this.refresh()) return this.cached;
    } else if (this.inflight) {
      await this.inflight;
    }
    if (this.cached === null || this.clock() >= this.usableUntil) {
      throw new VerificationError('jwks_unavailable', 'the JWKS could not be fetched');
    }
    return this.cached;
  }

  // Fetch again unless one was attempted within minRefreshInterval; true when a fetch happened.
  async refreshForUnknownKid() {
    if (!this.canAttempt(this.clock())) return false;
    await this.refresh();
    return true;
  }
}
