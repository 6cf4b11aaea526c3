import net from 'node:net';
import http2 from 'node:http2';
import { Agent, request } from 'undici';
import type { Healthchecks } from '../config/schema/config-schema.js';
import type { Outcome } from './state.js';

/** What one probe found, or null when the answer says nothing (a status in neither list). */
export interface ProbeResult {
  readonly outcome: Outcome | null;
  readonly detail: string;
}

type Active = Healthchecks['active'];

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'EPIPE']);
const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Probes open a fresh connection each time (as Kong's do), so a dead target cannot hide behind a pooled socket. */
const verifying = new Agent({ pipelining: 0 });
const trusting = new Agent({ pipelining: 0, connect: { rejectUnauthorized: false } });

/** Probe one target once, with Kong's semantics for `type`, statuses and timeout. */
export function probe(address: string, active: Active): Promise<ProbeResult> {
  const at = active.port === undefined ? address : `${address.slice(0, address.lastIndexOf(':'))}:${active.port}`;
  if (active.type === 'tcp') return probeTcp(at, active.timeout * 1000);
  if (active.type === 'grpc' || active.type === 'grpcs') return probeGrpc(at, active);
  return probeHttp(at, active);
}

/** grpc.health.v1.HealthCheckResponse.ServingStatus names, by number. */
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/**
 * The standard gRPC health check (grpc.health.v1.Health/Check, as Kong's grpc probes ask),
 * over a fresh HTTP/2 connection (node:http2: undici's request() drops HTTP/2 trailers):
 * passes on SERVING, fails on any other status or a gRPC error. The two messages are one
 * string and one enum field, so they are framed by hand.
 */
function probeGrpc(address: string, active: Active): Promise<ProbeResult> {
  const ms = active.timeout * 1000;
  const tls = active.type === 'grpcs';
  const name = Buffer.from(active.grpc_service);
  const message = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, ...varint(name.length)]), name]);
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return new Promise((resolve) => {
    const session = http2.connect(`${tls ? 'https' : 'http'}://${address}`, { rejectUnauthorized: active.https_verify_certificate });
    const timer = setTimeout(() => done({ outcome: 'timeout', detail: `no answer within ${ms} ms` }), ms);
    const done = (result: ProbeResult) => {
      clearTimeout(timer);
      session.destroy();
      resolve(result);
    };
    session.on('error', (err: Error & { code?: string }) => done(fromError(err)));
    const headers = { ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' };
    const stream = session.request({ ...headers, ...Object.fromEntries(Object.entries(active.headers).map(([k, v]) => [k, v.join(', ')])) });
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders = {};
    let tail: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => {
      head = h;
    });
    stream.on('trailers', (t) => {
      tail = t;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', (err: Error & { code?: string }) => done(fromError(err)));
    stream.on('end', () => done(judgeGrpc(head, tail, Buffer.concat(chunks))));
    stream.end(frame);
  });
}

/** A Health/Check answer: SERVING passes; another status, a gRPC error or no gRPC answer fails. */
function judgeGrpc(head: http2.IncomingHttpHeaders, tail: http2.IncomingHttpHeaders, body: Buffer): ProbeResult {
  const grpcStatus = tail['grpc-status'] ?? head['grpc-status'];
  if (Number(head[':status']) !== 200 || grpcStatus !== '0') {
    const why = grpcStatus === undefined ? `HTTP ${head[':status']}` : `grpc-status ${grpcStatus}`;
    const message = tail['grpc-message'] ?? head['grpc-message'];
    return { outcome: 'http_failure', detail: message === undefined ? why : `${why} ${decodeURIComponent(String(message))}` };
  }
  // One field, 1: a varint. Absent (proto3's default) is UNKNOWN.
  const status = body.length >= 7 && body[5] === 0x08 ? body[6] : 0;
  return status === 1 ? { outcome: 'success', detail: 'SERVING' } : { outcome: 'http_failure', detail: SERVING_STATUS[status] ?? String(status) };
}

async function probeHttp(address: string, active: Active): Promise<ProbeResult> {
  const ms = active.timeout * 1000;
  try {
    const res = await request(`${active.type}://${address}${active.http_path}`, {
      method: 'GET',
      headers: flatten(active.headers),
      headersTimeout: ms,
      bodyTimeout: ms,
      reset: true,
      dispatcher: active.https_verify_certificate ? verifying : trusting,
      signal: AbortSignal.timeout(ms),
    });
    const status = res.statusCode;
    if (active.unhealthy.http_statuses.includes(status)) {
      await res.body.dump();
      return { outcome: 'http_failure', detail: `status ${status}` };
    }
    if (!active.healthy.http_statuses.includes(status)) {
      await res.body.dump();
      return { outcome: null, detail: `status ${status} is in neither list` };
    }
    if (!active.expect) {
      await res.body.dump();
      return { outcome: 'success', detail: `status ${status}` };
    }
    return judgeJson(await res.body.text(), active.expect.json, status);
  } catch (err) {
    return fromError(err as Error & { code?: string; name?: string });
  }
}

/** Tyk's /hello answers 200 even when failing: the body's fields decide. */
export function judgeJson(text: string, expected: Readonly<Record<string, unknown>>, status: number): ProbeResult {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { outcome: 'http_failure', detail: `status ${status}, body is not JSON` };
  }
  for (const [field, want] of Object.entries(expected)) {
    const got = field.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), body);
    if (got !== want) return { outcome: 'http_failure', detail: `status ${status}, ${field} is ${JSON.stringify(got)}, expected ${JSON.stringify(want)}` };
  }
  return { outcome: 'success', detail: `status ${status}, body as expected` };
}

/** A protobuf varint. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

function probeTcp(address: string, ms: number): Promise<ProbeResult> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(colon + 1));
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: ProbeResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(ms, () => done({ outcome: 'timeout', detail: `no connection within ${ms} ms` }));
    socket.once('connect', () => done({ outcome: 'success', detail: 'connected' }));
    socket.once('error', (err: Error & { code?: string }) => done({ outcome: 'tcp_failure', detail: err.code ?? err.message }));
  });
}

function fromError(err: Error & { code?: string; name?: string }): ProbeResult {
  const code = err.code ?? '';
  if (TIMEOUTS.has(code) || err.name === 'TimeoutError') return { outcome: 'timeout', detail: code || 'timed out' };
  if (CONNECT_ERRORS.has(code)) return { outcome: 'tcp_failure', detail: code };
  return { outcome: 'tcp_failure', detail: code || err.message };
}

function flatten(headers: Readonly<Record<string, readonly string[]>>): string[] {
  const out: string[] = [];
  for (const [name, values] of Object.entries(headers)) for (const v of values) out.push(name, v);
  return out;
}
