import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { type JsonPath, removePaths } from './json-paths.js';

/** One response as a mirrored pair keeps it: enough to compare, bounded in size. */
export interface Captured {
  readonly status: number;
  /** The compared headers (lower-case names), duplicates joined with ", ". */
  readonly headers: ReadonlyMap<string, string>;
  readonly contentType: string;
  /** Content-Encoding, lower-cased ('' for none). */
  readonly encoding: string;
  /** The whole body, or undefined when it was longer than max_body (then only its digest is known). */
  readonly body: Buffer | undefined;
  readonly size: number;
  /** SHA-256 of the whole body, hex, when it was longer than max_body (a shorter one is compared as it is). */
  readonly digest: string | undefined;
}

/** How a pair is compared: the service's `mirror.compare`. */
export interface CompareSettings {
  readonly headers: readonly string[];
  readonly ignore: readonly JsonPath[];
}

/** How a pair differs: the first of status, headers and body that does. */
export interface Difference {
  readonly kind: 'status' | 'header' | 'body';
  /** The compared headers whose values differ. */
  readonly headers?: readonly string[];
  /** Where the bodies first differ, for people ("$.price: 10 vs 12", "byte 120: …"). */
  readonly diff?: string;
}

/** Longest stretch of a value quoted in a diff. */
const QUOTE = 60;
/** Names (of headers, of JSON keys) whose values a sample never shows. */
export const SECRET = /authorization|cookie|token|secret|session|passw|api-?key|credential/i;
/** A compressed body is compared decoded, up to this size (a small body that inflates past it is compared as sent). */
const DECODED_LIMIT = 16 * 1024 * 1024;
const DECODERS: Readonly<Record<string, (b: Buffer, o: { maxOutputLength: number }) => Buffer>> = {
  gzip: gunzipSync,
  'x-gzip': gunzipSync,
  deflate: inflateSync,
  br: brotliDecompressSync,
};

/** Compare a primary response with its mirror's: undefined when they match. */
export function compareResponses(primary: Captured, mirror: Captured, settings: CompareSettings): Difference | undefined {
  if (primary.status !== mirror.status) return { kind: 'status', diff: `status ${primary.status} vs ${mirror.status}` };
  const headers = settings.headers.filter((h) => primary.headers.get(h) !== mirror.headers.get(h));
  if (headers.length > 0) return { kind: 'header', headers };
  const diff = bodyDifference(primary, mirror, settings.ignore);
  return diff === undefined ? undefined : { kind: 'body', diff };
}

/** Where two bodies differ: as JSON with the ignored paths removed when both are whole JSON (decoded when compressed alike), else byte for byte. */
function bodyDifference(a: Captured, b: Captured, ignore: readonly JsonPath[]): string | undefined {
  const x0 = decoded(a);
  const y0 = decoded(b);
  if (x0 !== undefined && y0 !== undefined && isJson(a.contentType) && isJson(b.contentType)) {
    const x = parseJson(x0);
    const y = parseJson(y0);
    if (x !== INVALID && y !== INVALID) {
      removePaths(x, ignore);
      removePaths(y, ignore);
      return firstDifference(x, y, '$');
    }
  }
  if (a.body !== undefined && b.body !== undefined) return a.body.equals(b.body) ? undefined : byteDifference(a.body, b.body);
  if (a.digest !== undefined && a.digest === b.digest) return undefined;
  return `${a.size} vs ${b.size} bytes, sha256 ${short(a)} vs ${short(b)}`;
}

/** The start of a body's digest, or "(whole)" for one kept whole (then the other was longer than max_body). */
function short(c: Captured): string {
  return c.digest?.slice(0, 12) ?? '(whole)';
}

/** A whole body as its JSON would be read: decoded when it is compressed. */
function decoded(c: Captured): Buffer | undefined {
  if (c.body === undefined || c.encoding === '' || c.encoding === 'identity') return c.body;
  const decode = DECODERS[c.encoding];
  try {
    return decode?.(c.body, { maxOutputLength: DECODED_LIMIT });
  } catch {
    return undefined;
  }
}

function isJson(contentType: string): boolean {
  return /[/+]json\b/i.test(contentType);
}

const INVALID = Symbol('invalid');

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return INVALID;
  }
}

/** The path of the first place two JSON values differ, with both values (hidden under a secret-looking key); undefined when equal (key order aside). */
export function firstDifference(x: unknown, y: unknown, path: string, hidden = false): string | undefined {
  const show = (v: unknown) => (hidden ? '[redacted]' : quote(v));
  if (Array.isArray(x) && Array.isArray(y)) {
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const d = firstDifference(x[i], y[i], `${path}[${i}]`, hidden);
      if (d !== undefined) return d;
    }
    return x.length === y.length ? undefined : `${path}: ${x.length} vs ${y.length} items`;
  }
  if (isObject(x) && isObject(y)) {
    const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort();
    for (const key of keys) {
      const at = /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
      const secret = hidden || SECRET.test(key);
      const value = (v: unknown) => (secret ? '[redacted]' : quote(v));
      if (!Object.hasOwn(x, key)) return `${at}: missing vs ${value(y[key])}`;
      if (!Object.hasOwn(y, key)) return `${at}: ${value(x[key])} vs missing`;
      const d = firstDifference(x[key], y[key], at, secret);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return x === y ? undefined : `${path}: ${show(x)} vs ${show(y)}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function quote(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > QUOTE ? `${s.slice(0, QUOTE)}…` : s;
}

/** The first differing byte, with a little of each body from there. */
function byteDifference(a: Buffer, b: Buffer): string {
  let i = 0;
  const n = Math.min(a.length, b.length);
  while (i < n && a[i] === b[i]) i++;
  const from = Math.max(0, i - 10);
  const show = (buf: Buffer) => JSON.stringify(buf.subarray(from, from + QUOTE / 2).toString('utf8'));
  return `byte ${i}: ${show(a)} vs ${show(b)} (${a.length} vs ${b.length} bytes)`;
}
