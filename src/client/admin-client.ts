import { Agent, request } from 'undici';

/** How long one admin call may take before the API counts as unreachable. */
const CALL_TIMEOUT_MS = 10_000;

/** The admin API answered with an error status; `message` is the server's own. */
export class AdminHttpError extends Error {
  readonly code = 'ADMIN_HTTP_ERROR';
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'AdminHttpError';
  }
}

/** No answer from the admin API: refused, unknown host, reset, timed out, or another server answered. */
export class AdminUnreachableError extends Error {
  readonly code = 'ADMIN_UNREACHABLE';
  constructor(
    readonly url: string,
    readonly reason: string,
    readonly hint = 'is switchyard running? use --admin URL or -c FILE to say where',
  ) {
    super(`cannot reach the admin API at ${url} (${reason})`);
    this.name = 'AdminUnreachableError';
  }
}

/** Where the admin API is and how to authenticate to it. */
export interface AdminEndpoint {
  /** Base URL without a trailing slash, e.g. "http://127.0.0.1:8001". */
  readonly url: string;
  readonly token?: string;
}

/** A successful answer: its status and parsed JSON body (undefined for an empty body). */
export interface AdminAnswer<T = unknown> {
  readonly status: number;
  readonly body: T;
}

/** Options of one admin call. */
export interface CallOptions {
  /** Sent as JSON. */
  readonly body?: unknown;
  readonly signal?: AbortSignal;
  /** Checks that a 2xx body has the expected shape, to tell the admin API from another server. */
  readonly shape?: (body: unknown) => boolean;
}

/**
 * A small client for switchyard's admin API: JSON in, JSON out, errors as two classes
 * (the server said no, or nothing answered). It owns its connection pool; close() it.
 */
export class AdminClient {
  private readonly agent = new Agent({ headersTimeout: CALL_TIMEOUT_MS, bodyTimeout: CALL_TIMEOUT_MS, connect: { timeout: CALL_TIMEOUT_MS } });

  constructor(readonly endpoint: AdminEndpoint) {}

  /** GET a path; resolves with the body of a 2xx answer. */
  async get<T = unknown>(path: string, opts: CallOptions = {}): Promise<T> {
    return (await this.call<T>('GET', path, opts)).body;
  }

  /** GET a path that may not exist: undefined on 404. */
  async find<T = unknown>(path: string, opts: CallOptions = {}): Promise<T | undefined> {
    try {
      return await this.get<T>(path, opts);
    } catch (err) {
      if (err instanceof AdminHttpError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Send one call; throws AdminHttpError for a non-2xx answer, AdminUnreachableError for none. */
  async call<T = unknown>(method: 'GET' | 'POST' | 'PATCH', path: string, opts: CallOptions = {}): Promise<AdminAnswer<T>> {
    const { body, signal, shape } = opts;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.endpoint.token) headers.authorization = `Bearer ${this.endpoint.token}`;
    let res: Awaited<ReturnType<typeof request>>;
    let text: string;
    try {
      res = await request(this.endpoint.url + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher: this.agent,
        signal,
      });
      text = await res.body.text();
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new AdminUnreachableError(this.endpoint.url, reasonOf(err));
    }
    const parsed = parseJson(text);
    if (res.statusCode >= 200 && res.statusCode < 300) {
      // Something answered, but not switchyard's admin API: the proxy port, say.
      if (shape && !shape(parsed)) {
        throw new AdminUnreachableError(
          this.endpoint.url,
          `the answer to ${method} ${path} is not the admin API's`,
          "is --admin the admin address, not the proxy's?",
        );
      }
      return { status: res.statusCode, body: parsed as T };
    }
    throw new AdminHttpError(res.statusCode, messageOf(parsed, text, res.statusCode), parsed);
  }

  /** Close pooled connections, so the process can exit at once. */
  close(): Promise<void> {
    return this.agent.close();
  }
}

/** A short reason for a transport failure: the system or undici error code when there is one. */
function reasonOf(err: unknown): string {
  type Coded = { code?: string; message?: string; cause?: unknown } | undefined;
  const outer = err as Coded;
  // Socket errors come as they are (ECONNREFUSED); a wrapped one carries its code on the cause.
  const e = outer?.code === undefined && outer?.cause ? (outer.cause as Coded) : outer;
  if (e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT') return `no answer within ${CALL_TIMEOUT_MS / 1000}s`;
  return e?.code ?? e?.message ?? String(err);
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The server's `message` (Kong's error shape), else the start of whatever it sent. */
function messageOf(parsed: unknown, text: string, status: number): string {
  if (parsed && typeof parsed === 'object' && typeof (parsed as { message?: unknown }).message === 'string') {
    return (parsed as { message: string }).message;
  }
  const snippet = text.trim().slice(0, 200);
  return snippet === '' ? `HTTP ${status} with an empty body` : snippet;
}
