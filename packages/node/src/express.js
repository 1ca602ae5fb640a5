// Express middleware: app.use(upstreamJwt(verifier)).
//
// Verifies before any route runs. The body has to be hashed before the app
// acts on it, so this middleware reads it: handlers get the exact verified
// bytes as req.rawBody (parse them, e.g. JSON.parse(req.rawBody)); body parsers
// mounted later see the body as already read (req._body). The claims are
// req.upstreamJwt.
import { VerificationError } from './errors.js';
import { DEFAULT_HEADER, DEFAULT_MAX_BODY, describe, errorReply, readBody, tokenFrom } from './http.js';

// Options: header ('X-Upstream-JWT'), maxBodySize (8 MiB; larger bodies get
// 413), exempt (raw paths that skip verification, e.g. ['/healthz']),
// onReject (called with each VerificationError, for metrics).
export function upstreamJwt(verifier, { header = DEFAULT_HEADER, maxBodySize = DEFAULT_MAX_BODY, exempt = [], onReject = null } = {}) {
  const skip = new Set(exempt);
  return async function upstreamJwtMiddleware(req, res, next) {
    const r = describe(req, header);
    if (skip.has(r.path.toString('latin1'))) return next();
    try {
      const token = tokenFrom(r.tokens);
      const { body, bodySha256 } = await readBody(req, maxBodySize);
      req.upstreamJwt = await verifier.verify(token, { ...r, bodySha256 });
      req.rawBody = body;
      req._body = true;
      return next();
    } catch (e) {
      if (!(e instanceof VerificationError)) return next(e);
      onReject?.(e);
      const { status, headers, body } = errorReply(e);
      // An unread body (413) would otherwise stall the connection.
      if (e.reason === 'body_too_large') res.set('connection', 'close');
      return res.status(status).set(headers).send(body);
    }
  };
}
