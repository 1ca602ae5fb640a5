// Reading the UPSTREAM_JWT_* variables, the same way the Python package does
// (packages/python/src/upstream_jwt_verify/_env.py): same names, same
// defaults, same errors. An empty variable counts as unset, as an
// orchestrator often writes `NAME=` for "none".
import { ConfigurationError } from './errors.js';
import { componentsFrom } from './httpsig-base.js';
import { parseInnerList, serializeParams, SfError } from './sf.js';

// Seconds; 15 digits keep every accepted value exact as a JavaScript number.
const INTEGER = /^-?[0-9]{1,15}$/;

// Names an earlier version read; silently ignoring them would drop a label or
// tag check the operator asked for.
export const RENAMED = Object.freeze({
  UPSTREAM_JWT_LABEL: 'UPSTREAM_JWT_SIGNATURE_LABEL',
  UPSTREAM_JWT_TAG: 'UPSTREAM_JWT_SIGNATURE_TAG',
});

export const text = (env, name) => env[name] || null;

export function integer(env, name, dflt) {
  const value = env[name];
  if (!value) return dflt;
  if (!INTEGER.test(value)) throw new ConfigurationError(`${name} must be an integer number of seconds, not "${value}"`);
  return Number(value);
}

export function checkRenamed(env) {
  for (const [old, now] of Object.entries(RENAMED)) {
    if (env[old]) throw new ConfigurationError(`${old} is not read: set ${now} instead`);
  }
}

// A comma-separated list of identifiers as the constructor takes them
// (`@method, content-type, @query-param;name="id"`), or, when a parameter
// value holds a comma, an RFC 9421 inner list as Signature-Input writes it
// (`("@method" "@query-param";name="a,b")`). null when unset.
export function components(env, name) {
  const value = (env[name] || '').replace(/^[ \t]+|[ \t]+$/g, '');
  if (!value) return null;
  let ids;
  if (value.startsWith('(')) {
    let il;
    try {
      il = parseInnerList(value);
    } catch (e) {
      if (e instanceof SfError) throw new ConfigurationError(`${name}: not an inner list: ${e.message}`);
      throw e;
    }
    if (il.params.size) throw new ConfigurationError(`${name}: no parameters after ')'`);
    if (!il.items.length) throw new ConfigurationError(`${name}: empty list`);
    if (il.items.some((it) => it.value.type !== 'string')) throw new ConfigurationError(`${name}: components must be strings`);
    ids = il.items.map((it) => it.value.value + serializeParams(it.params));
  } else {
    ids = value.split(',').map((part) => part.replace(/^[ \t]+|[ \t]+$/g, ''));
    if (ids.some((id) => !id)) throw new ConfigurationError(`${name}: empty entry`);
    if (ids.some((id) => id.split('"').length % 2 === 0)) {
      throw new ConfigurationError(`${name}: a component holding a comma needs the inner-list form ("@query-param";name="a,b")`);
    }
  }
  // The constructor's own check, named after the variable.
  try {
    componentsFrom(ids);
  } catch (e) {
    throw new ConfigurationError(`${name}: ${e.message}`);
  }
  return ids;
}
