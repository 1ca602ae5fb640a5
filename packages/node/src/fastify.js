// Fastify plugin: await app.register(upstreamJwt, { verifier }).
//
// Verifies in preParsing, with the body hashed as it streams in, then hands
// Fastify the same bytes, so content-type parsers and handlers work as usual.
// With a Verifier the claims are request.upstreamJwt; with an HttpSigVerifier
// (format http-message-signature) the signature is request.upstreamSignature.
import { Readable } from 'node:stream';

import { VerificationError } from './errors.js';
import { authenticate, DEFAULT_HEADER, DEFAULT_MAX_BODY, describe, errorReply } from './http.js';

// Options: verifier (required), header, maxBodySize, exempt, onReject, scheme
// (as the Express middleware).
export async function upstreamJwt(app, { verifier, header = DEFAULT_HEADER, maxBodySize = DEFAULT_MAX_BODY, exempt = [], onReject = null, scheme = null }) {
  if (!verifier) throw new Error('upstreamJwt: the verifier option is required');
  const skip = new Set(exempt);
  const opts = { maxBodySize, scheme };
  app.decorateRequest('upstreamJwt', null);
  app.decorateRequest('upstreamSignature', null);
  app.addHook('preParsing', async (request, reply, payload) => {
    const r = describe(request.raw, header);
    if (skip.has(r.path.toString('latin1'))) return payload;
    const state = {};
    try {
      const { body, property, value } = await authenticate(verifier, request.raw, r, payload, opts, state);
      request[property] = value;
      const replay = Readable.from(body.length ? [body] : []);
      replay.receivedEncodedLength = body.length;
      return replay;
    } catch (e) {
      if (!(e instanceof VerificationError)) throw e;
      onReject?.(e);
      const { status, headers, body } = errorReply(e, verifier);
      if (!state.bodyRead) headers.connection = 'close';
      reply.code(status).headers(headers).send(body);
      return reply;
    }
  });
}
// Hooks apply to the whole app, not an encapsulated child (what fastify-plugin does).
upstreamJwt[Symbol.for('skip-override')] = true;
upstreamJwt[Symbol.for('fastify.display-name')] = 'upstream-jwt-verify';

export default upstreamJwt;
