import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants, type Http2ServerResponse } from 'node:http2';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ErrorCode } from '../errors.js';
import type { RouteRuntime, UpstreamRuntime } from '../core/snapshot.js';
import { H2_REFUSED_STREAM, h2Headers } from '../core/h2-sessions.js';
import type { Target } from '../core/targets.js';
import { countFailure, countGrpc, type RequestStats } from '../core/request-stats.js';
import type { MirrorPair } from '../mirror/pair.js';
import type { MirrorStart } from '../mirror/mirror.js';
import type { AccessLog } from './access-log.js';
import { GRPC, grpcStatusIn, isGrpcServerFault } from './grpc.js';
import { clientResponseHeaders, requestIdOf } from './headers.js';
import type { FailureLog } from './failure-log.js';
import { sendError } from './respond.js';

/** Errors raised before the request could have reached the upstream: always safe to retry. */
export const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', H2_REFUSED_STREAM]);
const TIMEOUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
/** Methods that may be sent twice (RFC 9110 section 9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Where one request goes: resolved before the first attempt. */
export interface Destination {
  readonly route: RouteRuntime;
  /** The path prefix the route matched, for strip_path. */
  readonly prefix: string;
  upstream: UpstreamRuntime;
  target: Target;
  /** A sticky-session cookie to set on the response. */
  setCookie: string | undefined;
  /** The authority of an absolute-form request target, which replaces its Host header (RFC 9112 section 3.2.2). */
  authority: string | undefined;
}

/** A destination whose target is still to be chosen. */
export type Candidate = Omit<Destination, 'target'> & { target: Target | undefined };

/**
 * The failover rule, written once for the first attempt, retries and WebSocket upgrades:
 * the next healthy target of `dest.upstream` (other than `except`), else, when the service
 * fails over, the next target of the first other upstream of its split that has one. It
 * sets `dest.upstream` and `dest.target` in place (no allocation per request); false, and
 * `dest` unchanged, when there is none.
 */
export function chooseTarget(dest: Candidate, except?: Target): dest is Destination {
  const upstream = dest.upstream;
  const target = except === undefined ? upstream.pool.pick() : upstream.pool.pickOther(except);
  if (target !== undefined) {
    dest.target = target;
    return true;
  }
  const service = dest.route.service;
  if (!service.config.failover) return false;
  const others = service.failoverTo;
  for (let i = 0; i < others.length; i++) {
    if (others[i] === upstream) continue;
    const t = others[i].pool.pick();
    if (t !== undefined) {
      dest.upstream = others[i];
      dest.target = t;
      return true;
    }
  }
  return false;
}

/** What every exchange of one listener shares: one object, so a request allocates nothing for it. */
export interface ExchangeSettings {
  /** Where failure details go (the client only gets a code). */
  readonly failures: FailureLog;
  /** The longest pause allowed between two chunks of a request body (proxy.client_body_timeout). */
  readonly clientBodyTimeoutMs: number;
  /** Set at shutdown: every response from then on, in-flight ones included, says `Connection: close`. */
  draining: boolean;
  /** Where `log.access` lines go. */
  readonly access: AccessLog;
}

/** What the access log says of a request whose client went away before it was answered (nginx's 499). */
const CLIENT_CLOSED = 499;

/**
 * One client request forwarded to one target at a time, streaming both ways. It is
 * undici's raw dispatch handler (onConnect/onHeaders/onData/onComplete/onError), which
 * hands over header bytes unparsed and lets backpressure flow through `resume`.
 */
export class Exchange implements Dispatcher.DispatchHandler {
  private abortUpstream: ((err?: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;
  private attempts = 0;
  private done = false;
  /** An HTTP/2 client (node:http2's compatibility request and response). */
  private readonly h2: boolean;
  /** A gRPC call: its status comes in the trailers (or a trailers-only answer's headers). */
  private readonly grpc: boolean;
  /** A gRPC answer's headers, where a trailers-only answer has its grpc-status. */
  private grpcHead: Buffer[] | undefined;
  /** The answer was a gRPC trailers-only one, passed on as one HEADERS frame that ended the stream. */
  private trailersOnly = false;
  /** What the upstream reads: the client's body, or a tap copying it for a mirror. */
  private readonly body: Readable | null;
  /** With a mirror copying this request: where the response is captured to be compared. */
  private readonly pair: MirrorPair | undefined;
  private readonly startedAt = performance.now();
  private status = 0;
  /** Response body bytes sent to the client (for the access log). */
  private bytes = 0;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly dest: Destination,
    private readonly path: string,
    private readonly headers: string[],
    private readonly settings: ExchangeSettings,
    private readonly hasBody: boolean,
    mirror?: MirrorStart,
    grpc = false,
  ) {
    this.h2 = req.httpVersionMajor === 2;
    this.grpc = grpc;
    this.body = hasBody ? (mirror?.body ?? req) : null;
    this.pair = mirror?.pair;
  }

  /** Send the first attempt and tie the upstream request's life to the client's. */
  start(): void {
    // `on`, not `once`: `once` wraps the listener in a new function per request.
    this.res.on('close', this.onClientClose);
    if (this.hasBody) this.watchBody();
    this.dispatch();
    this.pair?.start();
  }

  /**
   * A client that stops sending its body (one byte every few seconds, or none) gets a 408
   * after client_body_timeout of silence, as nginx answers; the clock stops when the body
   * has been read. Only requests with a body pay for this.
   */
  private watchBody(): void {
    const req = this.req;
    const stalled = (): void => {
      // Answered already (the upstream did not wait for the body): a half-sent request cannot carry another one (HTTP/2: the stream is reset).
      if (this.done) {
        this.cut();
        return;
      }
      this.clearTimeout();
      this.done = true;
      this.pair?.primaryEnd(false);
      this.abortUpstream?.();
      if (this.res.headersSent) {
        this.res.destroy();
        this.logAccess(408);
        return;
      }
      this.res.shouldKeepAlive = false;
      sendError(this.res, 'REQUEST_TIMEOUT', requestIdOf(this.headers));
      this.statsOf()?.record(408, (performance.now() - this.startedAt) / 1000);
      this.logAccess(408);
    };
    // On the request, not the socket: Node's server destroys a timed-out socket unless the request takes the event.
    req.setTimeout(this.settings.clientBodyTimeoutMs);
    req.once('timeout', stalled);
    req.once('end', () => {
      req.off('timeout', stalled);
      // Once the response has ended, Node has set the keep-alive timeout on this socket: leave it.
      if (!this.res.writableEnded) this.clearTimeout();
    });
  }

  /** End the client's exchange abruptly: its HTTP/1.1 connection, or its HTTP/2 stream alone (a compatibility request's destroy() does not reset it). */
  private cut(): void {
    if (this.h2) (this.res as unknown as Http2ServerResponse).stream.close(constants.NGHTTP2_CANCEL);
    else this.req.socket.destroy();
  }

  /** Stop the body clock: on the HTTP/1.1 socket, or the HTTP/2 stream (its socket is the whole session's). */
  private clearTimeout(): void {
    if (this.h2) this.req.setTimeout(0);
    else this.req.socket.setTimeout(0);
  }

  private dispatch(): void {
    this.attempts++;
    const { req, dest } = this;
    dest.target.dispatcher.dispatch(
      {
        origin: dest.target.origin,
        path: this.path,
        method: req.method as Dispatcher.HttpMethod,
        headers: this.headers,
        body: this.body,
        headersTimeout: dest.route.service.readTimeout,
        bodyTimeout: dest.route.service.readTimeout,
      },
      this,
    );
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.done) abort();
    else this.abortUpstream = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (this.done) return false;
    const passive = this.dest.upstream.passive;
    // A gRPC call's outcome is in its trailers: passive health hears of it at the end.
    if (passive !== undefined && !this.grpc) passive.status(this.dest.target.health, statusCode);
    if (this.grpc) this.grpcHead = rawHeaders;
    this.status = statusCode;
    this.resumeUpstream = resume;
    const headers = clientResponseHeaders(rawHeaders, requestIdOf(this.headers));
    if (this.dest.setCookie !== undefined) headers.push('set-cookie', this.dest.setCookie);
    // Answered before the body was read: the rest of it cannot be told from a next request, so the connection ends with this response.
    if (this.settings.draining || (this.hasBody && !this.req.complete)) this.res.shouldKeepAlive = false;
    // A gRPC error is often a trailers-only answer (its status in the headers, no body): it must reach the client as one too.
    if (this.grpc && grpcStatusIn(rawHeaders) !== undefined) {
      this.trailersOnly = respondTrailersOnly(this.res, statusCode, headers);
      if (this.trailersOnly) return true;
    }
    // HTTP/2 has no reason phrase (RFC 9113 section 8.3.2), and takes one field per name.
    if (this.h2) this.res.writeHead(statusCode, h2Headers(headers));
    else this.res.writeHead(statusCode, statusText, headers);
    this.pair?.primaryHead(statusCode, rawHeaders);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    this.pair?.primaryData(chunk);
    if (this.res.write(chunk)) return true;
    // The client is slower than the upstream: pause undici until the client has drained.
    if (this.resumeUpstream !== null) this.res.once('drain', this.resumeUpstream);
    return false;
  }

  /** The answer has ended, with its trailers (undici: raw pairs over HTTP/1.1, an object over HTTP/2). */
  onComplete(trailers?: unknown): void {
    this.done = true;
    if (!this.trailersOnly) {
      if (trailers !== null && trailers !== undefined) addTrailers(this.res, trailers);
      this.res.end();
    }
    const ms = performance.now() - this.startedAt;
    const stats = this.statsOf();
    if (this.grpc) this.grpcDone(trailers, stats);
    else this.dest.upstream.traffic.record(ms, this.status >= 500);
    stats?.record(this.status, ms / 1000);
    this.logAccess(this.status);
    this.pair?.primaryEnd(true);
  }

  /** A gRPC call ended: its status counts for passive health (UNAVAILABLE as a 503), rollout windows (server faults) and metrics. */
  private grpcDone(trailers: unknown, stats: RequestStats | undefined): void {
    const status = grpcStatusIn(trailers) ?? grpcStatusIn(this.grpcHead);
    const passive = this.dest.upstream.passive;
    if (passive !== undefined) passive.status(this.dest.target.health, status === GRPC.UNAVAILABLE ? 503 : this.status);
    this.dest.upstream.traffic.record(performance.now() - this.startedAt, this.status >= 500 || (status !== undefined && isGrpcServerFault(status)));
    if (stats) countGrpc(stats, status);
  }

  /** One access log line for this request, when `log.access` is on (off, this is one property read). */
  private logAccess(status: number): void {
    const service = this.dest.route.service;
    if (!service.accessLog) return;
    this.settings.access.write({
      request_id: requestIdOf(this.headers),
      method: this.req.method ?? '',
      service: service.name,
      route: this.dest.route.name,
      upstream: this.dest.upstream.name,
      target: this.dest.target.address,
      status,
      duration_ms: Math.round((performance.now() - this.startedAt) * 100) / 100,
      bytes: this.bytes,
      retries: this.attempts - 1,
    });
  }

  /** The per-request counters of where this attempt went (none with metrics off). */
  private statsOf(): RequestStats | undefined {
    return this.dest.route.service.stats?.get(this.dest.upstream)?.get(this.dest.target);
  }

  onError(err: Error & { code?: string }): void {
    if (this.done) return;
    const code = err.code ?? '';
    this.reportFailure(code);
    const ms = performance.now() - this.startedAt;
    // Every failed attempt counts against the upstream it went to, even if a retry then succeeds elsewhere.
    this.dest.upstream.traffic.record(ms, true);
    const stats = this.statsOf();
    if (stats) countFailure(stats, NOT_SENT.has(code) ? 'connect' : TIMEOUT.has(code) ? 'timeout' : 'reset');
    if (this.res.headersSent) {
      // Mid-response: the status line is gone, so the only honest signal is a cut stream.
      this.done = true;
      this.pair?.primaryEnd(false);
      this.res.destroy(err);
      stats?.record(this.status, ms / 1000);
      this.logAccess(this.status);
      return;
    }
    if (this.retryable(err) && this.retarget()) {
      if (stats) stats.retries++;
      this.dispatch();
      return;
    }
    this.done = true;
    this.pair?.primaryEnd(false);
    const failure = failureCode(code);
    if (this.settings.draining || (this.hasBody && !this.req.complete)) this.res.shouldKeepAlive = false;
    sendError(this.res, failure, requestIdOf(this.headers));
    stats?.record(failure === 'UPSTREAM_TIMEOUT' ? 504 : 502, ms / 1000);
    this.logAccess(failure === 'UPSTREAM_TIMEOUT' ? 504 : 502);
    this.settings.failures.report(failure, `upstream ${this.dest.upstream.name} failed: ${code || err.message}`, {
      upstream: this.dest.upstream.name,
      target: this.dest.target.address,
    });
  }

  private readonly onClientClose = (): void => {
    if (this.done) return;
    this.done = true;
    this.pair?.primaryEnd(false);
    this.abortUpstream?.();
    this.logAccess(CLIENT_CLOSED);
  };

  /** Tell passive health checks about a failed attempt (a client going away is not the target's fault). */
  private reportFailure(code: string): void {
    const passive = this.dest.upstream.passive;
    if (passive === undefined) return;
    if (TIMEOUT.has(code)) passive.failure(this.dest.target.health, 'timeout', code);
    else if (code !== 'UND_ERR_ABORTED') passive.failure(this.dest.target.health, 'tcp_failure', code || 'connection error');
  }

  /** Retry only what cannot be sent twice by mistake, and only a body not yet read. */
  private retryable(err: { code?: string }): boolean {
    if (this.attempts > this.dest.route.service.config.retries) return false;
    const body = this.body;
    if (body !== null && (body.readableDidRead || body.destroyed)) return false;
    const code = err.code ?? '';
    if (NOT_SENT.has(code)) return true;
    const maybeSent = code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE';
    return maybeSent && IDEMPOTENT.has(this.req.method ?? '');
  }

  /** Point the next attempt at another healthy target: of the same upstream, else (failover) another's. */
  private retarget(): boolean {
    return chooseTarget(this.dest, this.dest.target);
  }
}

/** Answer with headers alone, ending the stream (an HTTP/2 client's); false when the response is not one. */
function respondTrailersOnly(res: ServerResponse, status: number, headers: readonly string[]): boolean {
  const stream = (res as unknown as Partial<Http2ServerResponse>).stream;
  if (stream === undefined || stream.headersSent || stream.destroyed) return false;
  stream.respond(h2Headers(headers, status), { endStream: true });
  return true;
}

/** Pass an answer's trailers on (HTTP/2 clients get them; Node drops them on an HTTP/1.1 answer that is not chunked). */
function addTrailers(res: ServerResponse, trailers: unknown): void {
  // undici hands an HTTP/1.1 answer without trailers an empty list: nothing to build.
  if (Array.isArray(trailers) && trailers.length === 0) return;
  const out: Record<string, string> = {};
  let any = false;
  if (Array.isArray(trailers)) {
    for (let i = 0; i + 1 < trailers.length; i += 2) {
      out[String(trailers[i]).toLowerCase()] = String(trailers[i + 1]);
      any = true;
    }
  } else {
    for (const [name, value] of Object.entries(trailers as Record<string, unknown>)) {
      out[name] = Array.isArray(value) ? value.join(', ') : String(value);
      any = true;
    }
  }
  if (any) res.addTrailers(out);
}

/** The error the client sees for an undici failure code. */
function failureCode(code: string): ErrorCode {
  // A connect timeout is "cannot connect" (502); only a target that took the request and went quiet is a 504.
  if (NOT_SENT.has(code)) return 'UPSTREAM_CONNECT';
  return TIMEOUT.has(code) ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_RESET';
}
