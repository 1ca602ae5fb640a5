// Replay stores: remember a jti until its token can no longer be accepted.
//
// InMemoryReplayStore is for one process. It never forgets a live jti: when it
// is full of live entries the new token is refused with replay_cache_full
// (503) rather than evicting one, which would let a captured token be replayed
// after enough fresh ones. Size it as peak accepted requests per second x the
// longest token lifetime plus leeway.
//
// RedisReplayStore is for several replicas: one `SET key 1 NX PX ms` per
// token, atomic in Redis, so a token accepted by one replica is refused by
// every other. When Redis cannot be reached in time the request is refused with
// replay_store_unavailable (503): fail closed, unless failOpen is set.
//
// Redis key layout, the same in the Python package so replicas written in
// either language share one store: a JWT's jti under upstream-jwt:jti:<jti>,
// an RFC 9421 signature's nonce under upstream-jwt:nonce:<nonce>, each with
// the value "1" and a TTL reaching one second past the last second the token
// or signature could still be accepted.
import { VerificationError } from './errors.js';

// Separate namespaces, so a JWT whose jti happens to equal a nonce cannot spend it.
export const JTI_PREFIX = 'upstream-jwt:jti:';
export const NONCE_PREFIX = 'upstream-jwt:nonce:';

export class InMemoryReplayStore {
  constructor(capacity = 100000) {
    if (!(capacity >= 1)) throw new RangeError('capacity must be at least 1');
    this.capacity = capacity;
    this.expiry = new Map(); // jti -> expires_at
  }

  get size() {
    return this.expiry.size;
  }

  dropExpired(now) {
    for (const [jti, until] of this.expiry) if (until <= now) this.expiry.delete(jti);
  }

  // Synchronous, so atomic within the process.
  async checkAndInsert(jti, expiresAt, now) {
    const seen = this.expiry.get(jti);
    if (seen !== undefined) {
      if (seen > now) throw new VerificationError('replayed', 'jti was already used');
      this.expiry.delete(jti);
    }
    if (this.expiry.size >= this.capacity) this.dropExpired(now);
    if (this.expiry.size >= this.capacity) {
      throw new VerificationError('replay_cache_full',
        `replay cache holds ${this.capacity} live jti values; refusing rather than forgetting one`);
    }
    this.expiry.set(jti, expiresAt);
  }
}

// `client`: a node-redis v4+ client (createClient().connect()), or anything with
// set(key, value, { NX: true, PX: ms }) resolving to 'OK' or null. Keys are
// prefix + jti; for an HttpSigVerifier pass { prefix: NONCE_PREFIX }.
export class RedisReplayStore {
  constructor(client, { prefix = JTI_PREFIX, failOpen = false, timeoutMs = 1000, onError = null } = {}) {
    this.client = client;
    this.prefix = prefix;
    this.failOpen = failOpen;
    this.timeoutMs = timeoutMs;
    this.onError = onError;
  }

  // A client that refuses commands while disconnected (no offline queue), so
  // a Redis outage is an immediate 503 instead of requests piling up.
  static async fromUrl(url, options = {}) {
    const { createClient } = await import('redis');
    const client = createClient({
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: options.timeoutMs ?? 1000, reconnectStrategy: (n) => Math.min(n * 100, 2000) },
    });
    client.on('error', () => {}); // surfaced per request as replay_store_unavailable
    // Start connected when Redis is up; when it is not, start anyway (requests
    // get 503 until it is back) instead of refusing to boot.
    const timeoutMs = options.timeoutMs ?? 1000;
    let timer;
    await Promise.race([client.connect().catch(() => {}), new Promise((r) => { timer = setTimeout(r, timeoutMs); })]);
    clearTimeout(timer);
    return new RedisReplayStore(client, options);
  }

  async checkAndInsert(jti, expiresAt, now) {
    const px = Math.max(1, (expiresAt - now) * 1000);
    let stored;
    let timer;
    try {
      stored = await Promise.race([
        this.client.set(this.prefix + jti, '1', { NX: true, PX: px }),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timeout')), this.timeoutMs); }),
      ]);
    } catch (e) {
      this.onError?.(e);
      if (this.failOpen) return;
      throw new VerificationError('replay_store_unavailable', `replay store unavailable: ${e.name}`);
    } finally {
      clearTimeout(timer);
    }
    if (stored === null || stored === undefined) throw new VerificationError('replayed', 'jti was already used');
  }
}
