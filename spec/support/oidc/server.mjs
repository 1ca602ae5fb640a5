// The upstream-oauth2 end-to-end tests' authorization server: oidc-provider (OpenID Certified),
// configured for the client credentials grant with client_secret_basic, client_secret_post,
// client_secret_jwt (HS256/384/512) and private_key_jwt, JWT access tokens through resource
// indicators, introspection, and an RFC 8693 token-exchange grant. Beside it, a protected
// upstream that accepts only this server's tokens, checked against its JWKS.
//
//   node server.mjs --port N --upstream-port M --config clients.json [--tls-port T --tls-cert C --tls-key K]
//
// clients.json: { "resource": URL, "opaque_resource": URL?, "upstream_jwt_secret": "...",
//   "clients": [ { client_id,
//   auth: basic|post|jwt|private_key_jwt, secret?, alg?, public_key_pem?, exchange?, token_ttl? } ] }
// Prints "ready" once both servers listen. GET /__stats on the provider's port answers
// { by_client: { client_id: token responses }, exchanges: [...], upstream_requests: n }.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { parseArgs } from 'node:util';
import Provider, { errors } from 'oidc-provider';
import * as jose from 'jose';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
const TYPE_ACCESS = 'urn:ietf:params:oauth:token-type:access_token';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    'upstream-port': { type: 'string' },
    config: { type: 'string' },
    'tls-port': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
  },
});
const config = JSON.parse(readFileSync(args.config, 'utf8'));
const issuer = `http://127.0.0.1:${args.port}`;
const RESOURCE = config.resource;
// A second resource whose tokens are opaque: the upstream checks those by introspection.
const OPAQUE_RESOURCE = config.opaque_resource;
const INTROSPECTOR = {
  client_id: 'upstream-introspector',
  secret: `introspect-${process.pid}-${Date.now()}`,
};

const AUTH = {
  basic: 'client_secret_basic',
  post: 'client_secret_post',
  jwt: 'client_secret_jwt',
  private_key_jwt: 'private_key_jwt',
};

async function clientMetadata(c) {
  const m = {
    client_id: c.client_id,
    token_endpoint_auth_method: AUTH[c.auth],
    grant_types: c.exchange ? [TOKEN_EXCHANGE] : ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    scope: 'orders:read orders:write',
  };
  if (c.secret) m.client_secret = c.secret;
  if (c.alg) m.token_endpoint_auth_signing_alg = c.alg;
  if (c.public_key_pem) {
    const alg = c.alg === 'EdDSA' ? 'Ed25519' : c.alg;
    const key = await jose.importSPKI(readFileSync(c.public_key_pem, 'utf8'), alg,
      { extractable: true });
    const jwk = await jose.exportJWK(key);
    if (c.kid) jwk.kid = c.kid;
    m.jwks = { keys: [jwk] };
  }
  return m;
}

const keyPair = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(keyPair.privateKey)), kid: 'e2e-1', alg: 'RS256',
  use: 'sig' };
const publicJwk = { ...(await jose.exportJWK(keyPair.publicKey)), kid: 'e2e-1', alg: 'RS256' };

const stats = { by_client: {}, exchanges: [], upstream_requests: 0 };

// RFC 8693 §2.1: the subject is either a token this server issued (a consumer's access token) or
// the gateway's upstream-jwt token, verified with the key the gateway signs with.
const ownJwks = jose.createLocalJWKSet({ keys: [publicJwk] });
const upstreamJwtKey = new TextEncoder().encode(config.upstream_jwt_secret || '');

async function verifySubject(token, type) {
  try {
    if (type === TYPE_ACCESS) {
      const { payload } = await jose.jwtVerify(token, ownJwks, { issuer, typ: 'at+jwt' });
      return payload;
    }
    if (type === TYPE_JWT) {
      const { payload } = await jose.jwtVerify(token, upstreamJwtKey, {
        algorithms: ['HS256'], issuer: 'kong', requiredClaims: ['exp', 'jti', 'sub'] });
      return payload;
    }
  } catch (e) {
    throw new errors.InvalidGrant(`subject_token rejected: ${e.code || e.message}`);
  }
  throw new errors.InvalidRequest('unsupported subject_token_type');
}

async function tokenExchange(ctx) {
  const { params, client } = ctx.oidc;
  if (!params.subject_token || !params.subject_token_type) {
    throw new errors.InvalidRequest('subject_token and subject_token_type are required');
  }
  const subject = await verifySubject(params.subject_token, params.subject_token_type);
  const act = { sub: client.clientId };
  if (params.actor_token) {
    // an actor_token names who acts; here it has to be one of this server's own tokens
    act.actor = (await verifySubject(params.actor_token, TYPE_ACCESS)).sub;
  }
  const token = new ctx.oidc.provider.ClientCredentials({ client, scope: 'orders:read' });
  token.resourceServer = resourceServer(RESOURCE);
  ctx.tokenExchange = { sub: subject.sub, act };
  const value = await token.save();
  stats.exchanges.push({ client_id: client.clientId, sub: subject.sub,
    subject_token_type: params.subject_token_type,
    requested_token_type: params.requested_token_type || null,
    audience: params.audience || null });
  ctx.body = {
    access_token: value,
    issued_token_type: TYPE_ACCESS,
    token_type: 'Bearer',
    expires_in: token.expiration,
  };
}

function resourceServer(resource) {
  if (resource === OPAQUE_RESOURCE) {
    return { scope: 'orders:read orders:write', audience: resource, accessTokenFormat: 'opaque' };
  }
  return {
    scope: 'orders:read orders:write',
    audience: resource,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  };
}

const provider = new Provider(issuer, {
  clients: await Promise.all([...config.clients,
    { client_id: INTROSPECTOR.client_id, auth: 'basic', secret: INTROSPECTOR.secret }]
    .map(clientMetadata)),
  jwks: { keys: [signingJwk] },
  cookies: { keys: ['upstream-oauth2-e2e-cookie-key'] },
  // expires_in per client (clients[].token_ttl), else config.token_ttl, else 300 s
  ttl: {
    ClientCredentials: (_ctx, _token, client) => config.clients
      .find((c) => c.client_id === client.clientId)?.token_ttl || config.token_ttl || 300,
  },
  scopes: ['orders:read', 'orders:write'],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt',
    'private_key_jwt'],
  enabledJWA: {
    clientAuthSigningAlgValues: ['HS256', 'HS384', 'HS512', 'RS256', 'ES256', 'Ed25519', 'EdDSA'],
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // only the protected upstream may ask about tokens
      allowedPolicy: async (_ctx, client) => client.clientId === INTROSPECTOR.client_id,
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => RESOURCE,
      getResourceServerInfo: async (_ctx, indicator) => {
        if (indicator !== RESOURCE && indicator !== OPAQUE_RESOURCE) {
          throw new errors.InvalidTarget();
        }
        return resourceServer(indicator);
      },
    },
  },
  extraTokenClaims: async (ctx) => (ctx?.tokenExchange ? { act: ctx.tokenExchange.act } : undefined),
  formats: {
    customizers: {
      jwt: async (ctx, _token, jwt) => {
        if (ctx?.tokenExchange) jwt.payload.sub = ctx.tokenExchange.sub;
      },
    },
  },
});
provider.registerGrantType(TOKEN_EXCHANGE, tokenExchange,
  ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type',
    'requested_token_type', 'audience', 'resource', 'scope'], ['audience', 'resource']);
provider.on('grant.success', (ctx) => {
  const id = ctx.oidc.client.clientId;
  stats.by_client[id] = (stats.by_client[id] || 0) + 1;
});
provider.on('grant.error', (_ctx, err) => {
  process.stderr.write(`grant.error: ${err.message} ${err.error_description || ''}\n`);
});
provider.use(async (ctx, next) => {
  if (ctx.path === '/__stats') {
    ctx.body = stats;
    return;
  }
  await next();
});

const callback = provider.callback();
await new Promise((resolve) => { http.createServer(callback).listen(+args.port, '127.0.0.1', resolve); });
if (args['tls-port']) {
  await new Promise((resolve) => {
    https.createServer({ cert: readFileSync(args['tls-cert']), key: readFileSync(args['tls-key']) },
      callback).listen(+args['tls-port'], '127.0.0.1', resolve);
  });
}

// The protected upstream: a JWT access token signed by the provider (its JWKS) for RESOURCE, or
// an opaque one the provider says is active for OPAQUE_RESOURCE (introspection).
// .../teapot answers 418 to a valid token.
const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/jwks`));
const upstream = http.createServer(async (req, res) => {
  stats.upstream_requests += 1;
  const reply = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const m = /^Bearer (\S+)$/.exec(req.headers.authorization || '');
  if (!m) return reply(401, { error: 'no bearer token' });
  try {
    const payload = m[1].split('.').length === 3 ? await verifyJwt(m[1]) : await introspect(m[1]);
    // lets a test make the upstream answer a status of its choosing with a valid token
    if (req.url.endsWith('/teapot')) return reply(418, { error: 'teapot' });
    return reply(200, { sub: payload.sub, client_id: payload.client_id, act: payload.act || null,
      scope: payload.scope, jti: payload.jti, verified_by: payload.verified_by,
      headers: req.headers, path: req.url });
  } catch (e) {
    return reply(401, { error: e.code || e.message });
  }
});

async function verifyJwt(token) {
  const { payload } = await jose.jwtVerify(token, jwks, { issuer, audience: RESOURCE,
    typ: 'at+jwt', algorithms: ['RS256'] });
  return { ...payload, verified_by: 'jwks' };
}

// RFC 7662, as a resource server would: active, and issued for OPAQUE_RESOURCE.
async function introspect(token) {
  const basic = Buffer.from(`${INTROSPECTOR.client_id}:${INTROSPECTOR.secret}`).toString('base64');
  const res = await fetch(`${issuer}/token/introspection`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  });
  const body = await res.json();
  const aud = [].concat(body.aud || []);
  if (!body.active || !aud.includes(OPAQUE_RESOURCE)) {
    throw new Error('token inactive or not issued for this resource');
  }
  return { ...body, jti: body.jti || token, verified_by: 'introspection' };
}

await new Promise((resolve) => { upstream.listen(+args['upstream-port'], '127.0.0.1', resolve); });
process.stdout.write('ready\n');
