// Who may call the HTTP responder, checked before anything else is read.
//
// A web page the operator has open can send requests to 127.0.0.1:8420: a
// "simple" cross-origin POST (text/plain, no preflight) reaches the handler,
// and with DNS rebinding (a name of the attacker's that resolves to
// 127.0.0.1) the page can even read the answers. So:
//
//   - Host must be an IP literal, a loopback name (localhost, *.localhost),
//     the bound name, or a name --allow-host lists: 421 otherwise. Rebinding
//     needs a name the attacker controls; an IP literal cannot be rebound.
//   - A request that carries Origin comes from a browser: 403, unless
//     --allow-origin lists it (a browser-based test device); those get CORS
//     headers and their preflight answered.
//   - POST /v1/keyx must be application/json (415): a cross-origin page can
//     only send JSON after a preflight, which the Origin check refuses.
//   - With --token-file, every request needs `Authorization: Bearer TOKEN`
//     (401). Tokens are compared as SHA-256 digests with timingSafeEqual, so
//     neither their bytes nor their length leak through timing; they are
//     never logged.

import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

export interface CallerPolicy {
  /** The address or name the server was asked to bind. */
  readonly boundHost: string;
  /** Host names accepted besides IP literals, loopback names and the bound host (lower case). */
  readonly allowHosts: readonly string[];
  /** Origins (scheme://host[:port], lower case) whose browser requests are accepted. */
  readonly allowOrigins: readonly string[];
  /** SHA-256 of the bearer token every request must carry, when one is set. */
  readonly tokenDigest?: Buffer;
}

export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly headers?: Record<string, string>;
}

/** The smallest bearer token accepted: about 128 bits as base64 or hex. */
export const MIN_TOKEN_LENGTH = 22;

export const tokenDigest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** The host name of a Host header value: brackets and port removed, lower case, no trailing dot. */
export function hostName(header: string): string | undefined {
  const value = header.trim().toLowerCase();
  let name: string;
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end < 0 || (end + 1 < value.length && !/^:\d{1,5}$/.test(value.slice(end + 1)))) return undefined;
    name = value.slice(1, end);
  } else {
    const colon = value.lastIndexOf(':');
    if (colon >= 0 && !/^\d{1,5}$/.test(value.slice(colon + 1))) return undefined;
    name = colon >= 0 ? value.slice(0, colon) : value;
  }
  if (name.endsWith('.')) name = name.slice(0, -1);
  return name === '' ? undefined : name;
}

const isLoopbackName = (name: string): boolean => name === 'localhost' || name.endsWith('.localhost');

export function checkHost(header: string | undefined, policy: CallerPolicy): Refusal | undefined {
  const name = header === undefined ? undefined : hostName(header);
  const bound = hostName(policy.boundHost.includes(':') && !policy.boundHost.startsWith('[') ? `[${policy.boundHost}]` : policy.boundHost);
  if (name !== undefined && (isIP(name) !== 0 || isLoopbackName(name) || name === bound || policy.allowHosts.includes(name))) return undefined;
  return {
    status: 421,
    code: 'HOST_NOT_ALLOWED',
    message: 'This responder does not answer for that Host. Use its IP address or a loopback name, or start it with --allow-host NAME.',
  };
}

/** undefined: no Origin (not a browser), or an allowed one. */
export function checkOrigin(origin: string | undefined, policy: CallerPolicy): Refusal | undefined {
  if (origin === undefined || policy.allowOrigins.includes(origin.toLowerCase())) return undefined;
  return { status: 403, code: 'ORIGIN_NOT_ALLOWED', message: 'Requests from web pages are refused. A browser-based test device needs --allow-origin ORIGIN.' };
}

/** CORS headers for an allowed browser origin; none for other callers. */
export function corsHeaders(origin: string | undefined): Record<string, string> {
  if (origin === undefined) return {};
  return { 'access-control-allow-origin': origin, vary: 'origin' };
}

export function preflightHeaders(origin: string, policy: CallerPolicy): Record<string, string> {
  return {
    ...corsHeaders(origin),
    'access-control-allow-methods': 'POST, GET',
    'access-control-allow-headers': policy.tokenDigest ? 'content-type, authorization' : 'content-type',
    'access-control-max-age': '600',
  };
}

export function checkToken(authorization: string | undefined, policy: CallerPolicy): Refusal | undefined {
  if (!policy.tokenDigest) return undefined;
  const match = /^Bearer ([\x21-\x7e]+)$/i.exec(authorization ?? '');
  // Digest whatever was sent (or nothing), so a missing token costs what a wrong one does.
  const given = tokenDigest(match?.[1] ?? '');
  if (match && timingSafeEqual(given, policy.tokenDigest)) return undefined;
  return { status: 401, code: 'UNAUTHORIZED', message: 'This responder needs its bearer token: Authorization: Bearer TOKEN.', headers: { 'www-authenticate': 'Bearer realm="keyladder"' } };
}

/** application/json, with at most a UTF-8 charset parameter. */
export function checkContentType(header: string | undefined): Refusal | undefined {
  const value = (header ?? '').toLowerCase().replace(/\s+/g, '');
  if (value === 'application/json' || value === 'application/json;charset=utf-8' || value === 'application/json;charset="utf-8"') return undefined;
  return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'POST /v1/keyx takes Content-Type: application/json.' };
}
