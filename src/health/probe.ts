import net from 'node:net';
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
  return active.type === 'tcp' ? probeTcp(at, active.timeout * 1000) : probeHttp(at, active);
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
