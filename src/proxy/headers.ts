/**
 * Request and response header rewriting for the proxy: hop-by-hop headers removed
 * (RFC 9110 section 7.6.1), X-Forwarded-* set as Kong sets them. Header names are only
 * lower-cased when their length says they could be one we care about, so the common
 * case walks the raw header list without allocating.
 */

import { randomUUID } from 'node:crypto';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/** Request headers switchyard sets itself (or undici refuses, like expect). */
const REQUEST_OWN = new Set([
  ...HOP_BY_HOP,
  'host',
  'expect',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'x-request-id',
]);
/** A client's request id longer than this is replaced (it goes into every log line and header after). */
const MAX_REQUEST_ID = 200;
const lengthsOf = (names: Set<string>): Uint8Array => {
  const lengths = new Uint8Array(64);
  for (const n of names) lengths[n.length] = 1;
  return lengths;
};
const REQUEST_LENGTHS = lengthsOf(REQUEST_OWN);
const RESPONSE_LENGTHS = lengthsOf(new Set([...HOP_BY_HOP, 'x-request-id']));

/** The listener a request came in on, for X-Forwarded-Proto and -Port. */
export interface ListenerInfo {
  readonly proto: 'http' | 'https';
  readonly port: string;
}

/**
 * The upstream request's headers as a flat [name, value, …] list: the client's headers
 * less hop-by-hop ones (and any the Connection header names), plus X-Forwarded-*.
 * `host` is passed on only with preserve_host; otherwise undici sends the target's. An
 * absolute-form request's `authority` replaces its Host header (RFC 9112 section 3.2.2).
 * The last pair is always `x-request-id`: the client's, or a new UUID (requestIdOf reads it).
 * W3C `traceparent` and `tracestate` pass untouched.
 */
export function upstreamRequestHeaders(raw: readonly string[], addr: string, listener: ListenerInfo, preserveHost: boolean, authority?: string): string[] {
  const out: string[] = [];
  let host = '';
  let forwardedFor = '';
  let requestId = '';
  let connectionTokens: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length < 64 && REQUEST_LENGTHS[name.length] === 1 && (name.length !== 12 || isX(name))) {
      const lower = name.toLowerCase();
      if (REQUEST_OWN.has(lower)) {
        if (lower === 'host') host = raw[i + 1];
        else if (lower === 'x-forwarded-for') forwardedFor = forwardedFor ? `${forwardedFor}, ${raw[i + 1]}` : raw[i + 1];
        else if (lower === 'connection') connectionTokens = raw[i + 1];
        else if (lower === 'x-request-id' && requestId === '') requestId = raw[i + 1];
        continue;
      }
    }
    out.push(name, raw[i + 1]);
  }
  if (connectionTokens !== undefined) dropNamed(out, connectionTokens);
  if (authority !== undefined) host = authority;
  out.push(
    'x-forwarded-for',
    forwardedFor ? `${forwardedFor}, ${addr}` : addr,
    'x-forwarded-proto',
    listener.proto,
    'x-forwarded-host',
    hostOnly(host),
    'x-forwarded-port',
    listener.port,
    'x-real-ip',
    addr,
  );
  if (preserveHost && host !== '') out.push('host', host);
  out.push('x-request-id', requestId !== '' && requestId.length <= MAX_REQUEST_ID ? requestId : randomUUID());
  return out;
}

/** The request id of an upstream header list built by upstreamRequestHeaders (its last value). */
export function requestIdOf(upstreamHeaders: readonly string[]): string {
  return upstreamHeaders[upstreamHeaders.length - 1];
}

/** The client's x-request-id from raw request headers, or a new one (a request that reaches no upstream). */
export function requestIdFrom(raw: readonly string[]): string {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === 12 && raw[i].toLowerCase() === 'x-request-id') {
      const id = raw[i + 1];
      return id !== '' && id.length <= MAX_REQUEST_ID ? id : randomUUID();
    }
  }
  return randomUUID();
}

/** The upstream response's headers for the client: strings, less hop-by-hop ones, with the request's id (in place of any the upstream sent). */
export function clientResponseHeaders(raw: readonly Buffer[], requestId: string): string[] {
  const out: string[] = [];
  let connectionTokens: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1');
    if (name.length < 64 && RESPONSE_LENGTHS[name.length] === 1 && (name.length !== 12 || isX(name))) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower)) {
        if (lower === 'connection') connectionTokens = raw[i + 1].toString('latin1');
        continue;
      }
      if (lower === 'x-request-id') continue;
    }
    out.push(name, raw[i + 1].toString('latin1'));
  }
  if (connectionTokens !== undefined) dropNamed(out, connectionTokens);
  out.push('x-request-id', requestId);
  return out;
}

/** Remove from a flat header list every header named in a Connection header's value. */
function dropNamed(list: string[], connection: string): void {
  // Nearly every client sends just "keep-alive" or "close": nothing to remove, nothing to split.
  if (connection.length <= 10) {
    const lower = connection.toLowerCase();
    if (lower === 'keep-alive' || lower === 'close') return;
  }
  const named = connection
    .toLowerCase()
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== 'close' && s !== 'keep-alive' && s !== '');
  if (named.length === 0) return;
  for (let i = list.length - 2; i >= 0; i -= 2) {
    if (named.includes(list[i].toLowerCase())) list.splice(i, 2);
  }
}

/** A Host header's host part, without port (kept as the client sent it). */
function hostOnly(host: string): string {
  if (host.charCodeAt(0) === 91 /* [ */) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.indexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

/** True when raw request headers announce a body (Content-Length or Transfer-Encoding). */
export function hasRequestBody(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i].length;
    if (n !== 14 && n !== 17) continue;
    const lower = raw[i].toLowerCase();
    if (lower === 'transfer-encoding') return true;
    if (lower === 'content-length') return raw[i + 1] !== '0';
  }
  return false;
}

/** Whether a header name starts with x or X: of the names of 12 characters only x-request-id is ours, and Content-Type is too common to lower-case for nothing. */
function isX(name: string): boolean {
  return (name.charCodeAt(0) | 32) === 120;
}
