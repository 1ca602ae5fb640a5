// Express middleware: app.use(upstreamJwt(verifier)).
//
// Verifies before any route runs. The body has to be hashed before the app
// acts on it, so this middleware reads it: handlers get the exact verified
// bytes as req.rawBody (parse them, e.g. JSON.parse(req.rawBody)); body parsers
// mounted later see the body as already read (req._body). With a Verifier the
// claims are req.upstreamJwt; with an HttpSigVerifier (format
// http-message-signature) the verified signature is req.upstreamSignature.
import { VerificationError } from './errors.js';
import { authenticate, DEFAULT_HEADER, DEFAULT_MAX_BODY, describe, errorReply } from './http.js';

// Options: header ('X-Upstream-JWT'; JWT format), maxBodySize (8 MiB; larger
// bodies get 413), exempt (raw paths that skip verification, e.g.
// ['/healthz']), onReject (called with each VerificationError, for metrics),
// scheme (RFC 9421 @target-uri: 'http' or 'https'; default: https when the
// connection is TLS — set it when a TLS proxy in front of the service
// terminates the gateway's https).
export function upstreamJwt(verifier, { header = DEFAULT_HEADER, maxBodySize = DEFAULT_MAX_BODY, exempt = [], onReject = null, scheme = null } = {}) {
  const skip = new Set(exempt);
  const opts = { maxBodySize, scheme };
  return async function upstreamJwtMiddleware(req, res, next) {
    const r = describe(req, header);
    if (skip.has(r.path.toString('latin1'))) return next();
    const state = {};
    try {
      const { body, property, value } = await authenticate(verifier, req, r, req, opts, state);
      req[property] = value;
      req.rawBody = body;
      req._body = true;
      return next();
    } catch (e) {
      if (!(e instanceof VerificationError)) return next(e);
      onReject?.(e);
      const { status, headers, body } = errorReply(e, verifier);
      // An unread body (413, or a request refused before its body) would
      // otherwise stall the connection or be read for nothing.
      if (!state.bodyRead) res.set('connection', 'close');
      return res.status(status).set(headers).send(body);
    }
  };
}
