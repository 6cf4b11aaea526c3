/**
 * HTTP/2 to a target on node:http2 sessions, behind the same raw-handler dispatch the proxy
 * uses with undici (onConnect, onHeaders, onData, onComplete, onError), so Exchange and the
 * mirror do not know which carries them. Chosen over undici's HTTP/2 client (allowH2) after
 * measuring both side by side (bench/README.md, "HTTP/2 and gRPC"): gRPC calls cost half the
 * CPU, and it takes h2c from a pool (undici 7.30's Pool drops useH2c).
 */
import http2 from 'node:http2';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

/** How the sessions to one target behave. */
export interface H2SessionOptions {
  readonly tlsVerify: boolean;
  readonly connectTimeout: number;
  /** Sessions at most; each carries up to the target's SETTINGS_MAX_CONCURRENT_STREAMS streams. */
  readonly maxSessions: number;
  /** A session with no stream for this long is closed. */
  readonly idleMs: number;
}

/** A stream the target never took (refused, or a session gone before it was sent): safe to send again. */
export const H2_REFUSED_STREAM = 'H2_REFUSED_STREAM';

/** node:http2 errors that mean the request never left: a closed or closing session, a cancelled pending stream. */
const NOT_SENT = new Set(['ERR_HTTP2_INVALID_SESSION', 'ERR_HTTP2_GOAWAY_SESSION', 'ERR_HTTP2_STREAM_CANCEL']);

interface Session {
  readonly h2: http2.ClientHttp2Session;
  streams: number;
}

/** A target's HTTP/2 sessions, opened on demand. */
export class H2Sessions {
  /** Sessions that take new streams. */
  private readonly usable: Session[] = [];
  /** Every session not yet closed (those closing after GOAWAY or idleness too), for destroy(). */
  private readonly open = new Set<Session>();
  private closing = false;

  constructor(
    private readonly origin: string,
    private readonly opts: H2SessionOptions,
  ) {}

  /** Send one request; the handler hears of it as undici's raw handlers do. */
  dispatch(req: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.closing) {
      queueMicrotask(() => handler.onError?.(Object.assign(new Error('the target was removed'), { code: 'UND_ERR_CLOSED' })));
      return false;
    }
    new H2Exchange(this.pick(), req, handler).start();
    return true;
  }

  /** Let streams in flight finish, then close every session (a removed target drains). */
  close(): Promise<void> {
    this.closing = true;
    this.usable.length = 0;
    const closing = [...this.open].map((s) => new Promise<void>((resolve) => (s.h2.closed ? resolve() : s.h2.close(() => resolve()))));
    return Promise.all(closing).then(() => undefined);
  }

  /** Close every session now, streams in flight included. */
  destroy(): Promise<void> {
    this.closing = true;
    this.usable.length = 0;
    for (const s of this.open) s.h2.destroy();
    return Promise.resolve();
  }

  /** The session with the fewest streams under its peer's limit; a new one while below maxSessions. */
  private pick(): Session {
    let best: Session | undefined;
    for (const s of this.usable) {
      const limit = s.h2.remoteSettings.maxConcurrentStreams ?? 100;
      if (s.streams < limit && (best === undefined || s.streams < best.streams)) best = s;
    }
    if (best !== undefined && (best.streams === 0 || this.usable.length >= this.opts.maxSessions)) return best;
    if (this.usable.length < this.opts.maxSessions) return this.connect();
    return best ?? this.usable.reduce((a, b) => (b.streams < a.streams ? b : a));
  }

  private connect(): Session {
    const h2 = http2.connect(this.origin, { rejectUnauthorized: this.opts.tlsVerify, settings: { enablePush: false } });
    const session: Session = { h2, streams: 0 };
    this.usable.push(session);
    this.open.add(session);
    const retire = () => {
      const i = this.usable.indexOf(session);
      if (i >= 0) this.usable.splice(i, 1);
    };
    const connecting = setTimeout(() => h2.destroy(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' })), this.opts.connectTimeout);
    h2.once('connect', () => clearTimeout(connecting));
    h2.setTimeout(this.opts.idleMs, () => {
      if (session.streams > 0) return;
      // Out of the pool first: a closing session refuses new streams.
      retire();
      h2.close();
    });
    // Its streams hear of the error; the session only has to leave the pool.
    h2.on('error', retire);
    h2.on('goaway', retire);
    h2.once('close', () => {
      clearTimeout(connecting);
      retire();
      this.open.delete(session);
    });
    return session;
  }
}

/** One request on one session: its stream's events told to the handler, once each and in order. */
class H2Exchange {
  private stream?: http2.ClientHttp2Stream;
  private ended = false;
  private responded = false;
  private headersTimer?: NodeJS.Timeout;
  private trailers: http2.IncomingHttpHeaders | undefined;

  constructor(
    private readonly session: Session,
    private readonly req: Dispatcher.DispatchOptions,
    private readonly handler: Dispatcher.DispatchHandler,
  ) {}

  start(): void {
    const { req, handler } = this;
    handler.onConnect?.((err?: Error) => this.fail(err ?? Object.assign(new Error('aborted'), { code: 'UND_ERR_ABORTED' }), true));
    if (this.ended) return;
    const body = req.body as Buffer | Readable | null | undefined;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.session.h2.request(requestHeaders(req), { endStream: body === null || body === undefined });
    } catch (err) {
      this.fail(codeOf(err as Error & { code?: string }), false);
      return;
    }
    this.stream = stream;
    this.session.streams++;
    if (req.headersTimeout) {
      this.headersTimer = setTimeout(
        () => this.fail(Object.assign(new Error('headers timeout'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), true),
        req.headersTimeout,
      );
    }
    stream.on('response', (headers) => this.response(headers));
    stream.on('data', (chunk: Buffer) => {
      if (!this.ended && this.handler.onData?.(chunk) === false) this.pause();
    });
    stream.on('trailers', (t) => {
      this.trailers = t;
    });
    stream.on('end', () => this.complete());
    stream.on('error', (err: Error & { code?: string }) => this.fail(codeOf(err, stream), false));
    stream.once('close', () => {
      this.session.streams--;
      this.fail(codeOf(Object.assign(new Error('stream closed'), { code: 'UND_ERR_SOCKET' }), stream), false);
    });
    if (Buffer.isBuffer(body)) stream.end(body);
    else if (body) this.send(body, stream);
  }

  /**
   * Stream the client's body up, once the stream is open (a session that never connects leaves
   * it unread, so the call can be retried). Piped by hand: when the target ends the stream early
   * the body is let go, never destroyed with it (that would cut the client off before its answer).
   */
  private send(body: Readable, stream: http2.ClientHttp2Stream): void {
    const go = () => {
      body.pipe(stream);
      body.once('error', () => stream.close(http2.constants.NGHTTP2_CANCEL));
      stream.once('close', () => body.unpipe(stream));
    };
    if (stream.pending) stream.once('ready', go);
    else go();
  }

  private response(headers: http2.IncomingHttpHeaders): void {
    clearTimeout(this.headersTimer);
    if (this.ended) return;
    this.responded = true;
    const raw: Buffer[] = [];
    for (const [name, value] of Object.entries(headers)) {
      if (name.charCodeAt(0) === 58 /* : */ || value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) raw.push(Buffer.from(name), Buffer.from(String(v)));
    }
    this.armBodyTimeout();
    if (this.handler.onHeaders?.(Number(headers[':status']), raw, () => this.resume(), '') === false) this.pause();
  }

  /** The client is slower than the target: hold the stream, and its body clock (a slow client is not a silent target). */
  private pause(): void {
    this.stream?.pause();
    this.stream?.setTimeout(0);
  }

  private resume(): void {
    this.armBodyTimeout();
    this.stream?.resume();
  }

  private armBodyTimeout(): void {
    const ms = this.req.bodyTimeout;
    if (ms) this.stream?.setTimeout(ms, () => this.fail(Object.assign(new Error('body timeout'), { code: 'UND_ERR_BODY_TIMEOUT' }), true));
  }

  private complete(): void {
    // A stream the target reset (even with NO_ERROR) before answering ends without a response.
    if (!this.responded) {
      this.fail(codeOf(Object.assign(new Error('no response'), { code: 'UND_ERR_SOCKET' }), this.stream), false);
      return;
    }
    if (this.ended) return;
    this.ended = true;
    this.stream?.setTimeout(0);
    this.handler.onComplete?.((this.trailers ?? {}) as unknown as string[]);
  }

  /** Tell the handler once; `cancel` resets the stream (an abort, a timeout). */
  private fail(err: Error, cancel: boolean): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.headersTimer);
    this.stream?.setTimeout(0);
    if (cancel && this.stream && !this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
    this.handler.onError?.(err);
  }
}

/** A request's headers as node:http2 takes them: pseudo-headers, `host` as :authority, one field per name. */
function requestHeaders(req: Dispatcher.DispatchOptions): http2.OutgoingHttpHeaders {
  const list = (req.headers as string[] | null | undefined) ?? [];
  const out = h2Headers(list);
  out[':method'] = req.method;
  out[':path'] = req.path;
  if (out.host !== undefined) {
    out[':authority'] = out.host;
    delete out.host;
  }
  return out;
}

/**
 * node:http2's error as the proxy's failure rules read it: a stream the target refused, or one
 * that never left, is H2_REFUSED_STREAM (sent again safely); a connect failure keeps its own
 * code (ECONNREFUSED, a timeout); the rest is a reset.
 */
function codeOf(err: Error & { code?: string; cause?: unknown }, stream?: http2.ClientHttp2Stream): Error & { code?: string } {
  const cause = (err.cause as { code?: string } | undefined)?.code;
  if (cause !== undefined && cause !== 'ERR_HTTP2_STREAM_CANCEL') return Object.assign(err, { code: cause });
  if (stream?.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM || NOT_SENT.has(err.code ?? '')) return Object.assign(err, { code: H2_REFUSED_STREAM });
  if (err.code?.startsWith('ERR_HTTP2_')) return Object.assign(err, { code: 'UND_ERR_SOCKET' });
  return err;
}

/**
 * A flat header list as node:http2 takes it: one field per name, since it refuses a
 * repeated single-value header (two Date headers from an HTTP/1.1 upstream, two User-Agents from a client); repeats are
 * joined with ", ", and set-cookie kept as a list.
 */
export function h2Headers(list: readonly string[], status?: number): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = status === undefined ? {} : { ':status': status };
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = list[i].toLowerCase();
    const value = list[i + 1];
    const before = out[name];
    if (before === undefined) out[name] = value;
    else if (name === 'set-cookie') out[name] = Array.isArray(before) ? [...before, value] : [String(before), value];
    else out[name] = `${String(before)}, ${value}`;
  }
  return out;
}
