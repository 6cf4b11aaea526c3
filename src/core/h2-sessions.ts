/**
 * HTTP/2 to a target on node:http2 sessions, behind the same raw-handler dispatch the proxy
 * uses with undici (onConnect, onHeaders, onData, onComplete, onError), so Exchange and the
 * mirror do not know which carries them. Chosen over undici's HTTP/2 client (allowH2) after
 * measuring both side by side (bench/README.md, "HTTP/2 and gRPC"): gRPC calls cost half the
 * CPU, and it takes h2c from a pool (undici 7.30's Pool drops useH2c).
 */
import http2 from 'node:http2';
import { pipeline, type Readable } from 'node:stream';
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

/** Errors named as undici names them, so that the proxy's retry and failure rules apply unchanged. */
const REFUSED = 'H2_REFUSED_STREAM';

interface Session {
  readonly h2: http2.ClientHttp2Session;
  streams: number;
}

/** A target's HTTP/2 sessions, opened on demand. */
export class H2Sessions {
  private readonly sessions: Session[] = [];
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
    const session = this.pick();
    new H2Exchange(session, req, handler).start();
    return true;
  }

  /** Let streams in flight finish, then close every session (a removed target drains). */
  close(): Promise<void> {
    this.closing = true;
    return Promise.all(this.sessions.map((s) => new Promise<void>((resolve) => s.h2.close(() => resolve())))).then(() => undefined);
  }

  /** Close every session now, streams in flight included. */
  destroy(): Promise<void> {
    this.closing = true;
    for (const s of this.sessions) s.h2.destroy();
    return Promise.resolve();
  }

  /** The session with the fewest streams under its peer's limit; a new one while below maxSessions. */
  private pick(): Session {
    let best: Session | undefined;
    for (const s of this.sessions) {
      const limit = s.h2.remoteSettings.maxConcurrentStreams ?? 100;
      if (s.streams < limit && (best === undefined || s.streams < best.streams)) best = s;
    }
    if (best !== undefined && (best.streams === 0 || this.sessions.length >= this.opts.maxSessions)) return best;
    if (this.sessions.length < this.opts.maxSessions) return this.open();
    return best ?? this.sessions.reduce((a, b) => (b.streams < a.streams ? b : a));
  }

  private open(): Session {
    const h2 = http2.connect(this.origin, { rejectUnauthorized: this.opts.tlsVerify, settings: { enablePush: false } });
    const session: Session = { h2, streams: 0 };
    this.sessions.push(session);
    const connecting = setTimeout(() => h2.destroy(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' })), this.opts.connectTimeout);
    h2.once('connect', () => clearTimeout(connecting));
    h2.setTimeout(this.opts.idleMs, () => {
      if (session.streams === 0) h2.close();
    });
    // Its streams hear of the error; the session only has to leave the pool.
    h2.on('error', () => {});
    h2.once('close', () => {
      clearTimeout(connecting);
      const i = this.sessions.indexOf(session);
      if (i >= 0) this.sessions.splice(i, 1);
    });
    h2.on('goaway', () => {
      const i = this.sessions.indexOf(session);
      if (i >= 0) this.sessions.splice(i, 1);
    });
    return session;
  }
}

/** One request on one session: its stream's events told to the handler, once each. */
class H2Exchange {
  private stream?: http2.ClientHttp2Stream;
  private ended = false;
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
      stream = this.session.h2.request(headersOf(req), { endStream: body === null || body === undefined });
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
      if (!this.ended && this.handler.onData?.(chunk) === false) stream.pause();
    });
    stream.on('trailers', (t) => {
      this.trailers = t;
    });
    stream.on('end', () => this.complete());
    stream.on('error', (err: Error & { code?: string }) => this.fail(codeOf(err), false));
    stream.once('close', () => {
      this.session.streams--;
      if (!this.ended)
        this.fail(
          codeOf(Object.assign(new Error('stream closed'), { code: stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM ? REFUSED : 'UND_ERR_SOCKET' })),
          false,
        );
    });
    if (Buffer.isBuffer(body)) stream.end(body);
    // The body is read only once the stream is open: a session that never connects leaves it unread, so the call can be retried.
    else if (body) {
      const send = () => pipeline(body, stream, () => {});
      if (stream.pending) stream.once('ready', send);
      else send();
    }
  }

  private response(headers: http2.IncomingHttpHeaders): void {
    clearTimeout(this.headersTimer);
    if (this.ended) return;
    const stream = this.stream as http2.ClientHttp2Stream;
    const raw: Buffer[] = [];
    for (const [name, value] of Object.entries(headers)) {
      if (name.charCodeAt(0) === 58 /* : */ || value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) raw.push(Buffer.from(name), Buffer.from(String(v)));
    }
    if (this.req.bodyTimeout) {
      stream.setTimeout(this.req.bodyTimeout, () => this.fail(Object.assign(new Error('body timeout'), { code: 'UND_ERR_BODY_TIMEOUT' }), true));
    }
    const status = Number(headers[':status']);
    if (this.handler.onHeaders?.(status, raw, () => stream.resume(), '') === false) stream.pause();
  }

  private complete(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.headersTimer);
    this.stream?.setTimeout(0);
    this.handler.onComplete?.((this.trailers ?? {}) as unknown as string[]);
  }

  /** Tell the handler once; `cancel` resets the stream (an abort, a timeout). */
  private fail(err: Error, cancel: boolean): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.headersTimer);
    if (cancel && this.stream && !this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
    this.handler.onError?.(err);
  }
}

/** A request's headers as node:http2 takes them: pseudo-headers first, `host` as :authority. */
function headersOf(req: Dispatcher.DispatchOptions): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = { ':method': req.method, ':path': req.path };
  const list = req.headers as string[] | null | undefined;
  if (list) {
    for (let i = 0; i + 1 < list.length; i += 2) {
      const name = list[i].toLowerCase();
      if (name === 'host') out[':authority'] = list[i + 1];
      else {
        const before = out[name];
        out[name] = before === undefined ? list[i + 1] : Array.isArray(before) ? [...before, list[i + 1]] : [String(before), list[i + 1]];
      }
    }
  }
  return out;
}

/** node:http2's error as the proxy's failure rules read it (connect failures keep their errno code). */
function codeOf(err: Error & { code?: string }): Error & { code?: string } {
  if (err.code === 'ERR_HTTP2_STREAM_CANCEL' || err.code === 'ERR_HTTP2_GOAWAY_SESSION') return Object.assign(err, { code: REFUSED });
  if (err.code === 'ERR_HTTP2_STREAM_ERROR' || err.code === 'ERR_HTTP2_SESSION_ERROR' || err.code === 'ERR_HTTP2_INVALID_SESSION')
    return Object.assign(err, { code: 'UND_ERR_SOCKET' });
  return err;
}

export { REFUSED as H2_REFUSED_STREAM };
