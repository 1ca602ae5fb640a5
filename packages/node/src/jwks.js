// Keys from a JWKS URL: cached, refreshed when stale and, rate-limited, when a
// token names a kid the cached set does not have (a key rotation at the
// gateway needs no service restart).
import { ConfigurationError, VerificationError } from './errors.js';
import { isHmac, keysFromJwks } from './keys.js';

const MAX_JWKS_BYTES = 1 << 20;

async function httpGet(url, timeoutMs) {
  const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const body = Buffer.from(await res.arrayBuffer());
  if (body.length > MAX_JWKS_BYTES) throw new Error('JWKS larger than 1 MiB');
  return body;
}

// maxAge: seconds a fetched set is used before it is fetched again.
// minRefreshInterval: at most one fetch per this many seconds, so tokens with
// made-up kids cannot make the service hammer the URL.
export class JwksSource {
  constructor(url, { maxAge = 300, minRefreshInterval = 30, timeoutMs = 5000, fetch = httpGet, clock = () => performance.now() / 1000, onError = null } = {}) {
    if (!/^https?:\/\//.test(url)) throw new ConfigurationError('JWKS URL must be http(s)');
    Object.assign(this, { url, maxAge, minRefreshInterval, timeoutMs, fetchFn: fetch, clock, onError });
    this.fetches = 0;
    this.cached = null;
    this.fetchedAt = 0;
    this.attemptedAt = null;
    this.inflight = null;
  }

  // One fetch at a time; concurrent callers share it.
  refresh() {
    if (!this.inflight) {
      this.attemptedAt = this.clock();
      this.fetches += 1;
      this.inflight = (async () => {
        try {
          const keys = await keysFromJwks(await this.fetchFn(this.url, this.timeoutMs), { skipUnusable: true });
          // A JWKS URL publishes public keys; a shared secret has no business there.
          this.cached = keys.filter((k) => !isHmac(k.alg));
          this.fetchedAt = this.attemptedAt;
        } catch (e) {
          this.onError?.(e); // keep serving the last good set, if any
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
    const stale = this.cached === null || now - this.fetchedAt >= this.maxAge;
    if (stale && this.canAttempt(now)) await this.refresh();
    else if (this.inflight) await this.inflight;
    if (this.cached === null) throw new VerificationError('jwks_unavailable', 'the JWKS could not be fetched');
    return this.cached;
  }

  // Fetch again unless one was attempted within minRefreshInterval; true when a fetch happened.
  async refreshForUnknownKid() {
    if (!this.canAttempt(this.clock())) return false;
    await this.refresh();
    return true;
  }
}
