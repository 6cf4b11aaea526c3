import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import { Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { listen } from '../address.js';
import type { Config } from '../config/schema/config-schema.js';
import type { RequestStatsStore } from '../core/request-stats.js';
import type { SnapshotSource } from '../core/state.js';
import { ERROR_STATUS, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { hostOf, type RouteRequest } from '../routing/router.js';
import { clientErrorCode } from './client-errors.js';
import { AccessLog } from './access-log.js';
import { FailureLog } from './failure-log.js';
import { type Candidate, chooseTarget, type Destination, Exchange, type ExchangeSettings } from './forward.js';
import { isGrpcRequest } from './grpc.js';
import { hasRequestBody, type ListenerInfo, requestIdFrom, upstreamRequestHeaders } from './headers.js';
import { H2_OPTIONS, h1Headers, routeByAlpn, routeByPreface } from './http2.js';
import { ambiguousPath, hostHeaderCount, removeDotSegments, splitAbsoluteForm } from './request-target.js';
import { rawErrorResponse, sendError } from './respond.js';
import { WebSocketRelay } from './websocket.js';

/** Why a request reaches no upstream, with the labels it is counted under. */
class Refusal {
  constructor(
    readonly code: ErrorCode,
    readonly service: string,
    readonly upstream: string,
  ) {}
}
const NO_ROUTE = new Refusal('NO_ROUTE', '', '');
const BAD_REQUEST = new Refusal('BAD_REQUEST', '', '');
const URI_TOO_LONG = new Refusal('URI_TOO_LONG', '', '');

/** Longest request target accepted (nginx's large_client_header_buffers is 8k); longer is a 414. */
export const MAX_URI_LENGTH = 8192;
/** How long an idle client connection (HTTP/1.1 keep-alive, or an HTTP/2 session) is kept open. */
const KEEPALIVE_MS = 65_000;
/** While draining, idle keep-alive connections are kept this long, so a request already on its way on one is still answered. */
export const DRAIN_IDLE_MS = 1000;

/** A proxy listener's limits and timeouts (the config's `proxy` section, in milliseconds). */
export interface ProxyLimits {
  readonly clientHeaderTimeoutMs: number;
  readonly clientBodyTimeoutMs: number;
  readonly maxConnections: number;
  readonly tunnelTimeoutMs: number;
  /** How long shutdown waits for busy connections before it destroys them (HAProxy's hard-stop-after). */
  readonly shutdownTimeoutMs: number;
}

/** How to build a proxy listener. */
export interface ProxyOptions {
  readonly limits: ProxyLimits;
  readonly log: Logger;
  readonly tls?: { cert: Buffer; key: Buffer };
  /** Where requests that never reach an upstream (404, 503) are counted; undefined with metrics off. */
  readonly stats?: RequestStatsStore;
  /** `proxy.http2`: accept h2c (prior knowledge) beside HTTP/1.1 on a plaintext listener. TLS listeners offer h2 by ALPN regardless. */
  readonly http2?: boolean;
}

/** The proxy listener: route, choose upstream and target, forward. */
export class ProxyServer {
  readonly server: http.Server;
  /** What X-Forwarded-Proto and -Port say: fixed per listener, so built once. */
  private client: ListenerInfo;
  private readonly ws: WebSocketRelay;
  private readonly settings: ExchangeSettings;
  private readonly stats?: RequestStatsStore;
  private readonly limits: ProxyLimits;
  /** Open HTTP/2 sessions, told to finish (GOAWAY) at shutdown. */
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  /** Open client connections, for the connections gauge. */
  connections = 0;
  /** Requests received (a worker reports it in GET /status). */
  requests = 0;

  /** Sockets held for WebSocket tunnels, client and upstream sides. */
  get tunnelSockets(): number {
    return this.ws.sockets;
  }

  constructor(
    private readonly source: SnapshotSource,
    options: ProxyOptions,
  ) {
    const { tls, limits } = options;
    this.limits = limits;
    this.stats = options.stats;
    this.settings = { failures: new FailureLog(options.log), clientBodyTimeoutMs: limits.clientBodyTimeoutMs, draining: false, access: new AccessLog() };
    this.ws = new WebSocketRelay(limits.tunnelTimeoutMs);
    this.client = { proto: tls ? 'https' : 'http', port: '' };
    const serverOptions: http.ServerOptions = {
      keepAliveTimeout: KEEPALIVE_MS,
      // A slowloris client trickling header bytes gets a 408 after client_header_timeout (nginx's
      // client_header_timeout), checked often enough to be on time; bodies are timed per chunk
      // (client_body_timeout), so there is no bound on a whole upload that keeps moving.
      headersTimeout: limits.clientHeaderTimeoutMs,
      requestTimeout: 0,
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(limits.clientHeaderTimeoutMs / 4))),
    };
    this.server = tls
      ? https.createServer({ ...serverOptions, cert: tls.cert, key: tls.key, ALPNProtocols: ['h2', 'http/1.1'] })
      : http.createServer(serverOptions);
    if (tls || options.http2) {
      // Takes the HTTP/2 connections picked out of the listener's; it never listens itself.
      const h2 = this.http2Server();
      if (tls) routeByAlpn(this.server, h2);
      else routeByPreface(this.server, h2, limits.clientHeaderTimeoutMs);
    }
    // Connections beyond this are closed as soon as they are accepted (Node's maxConnections).
    this.server.maxConnections = limits.maxConnections;
    this.server.on('request', (req, res) => this.handle(req, res));
    this.server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.connections++;
      socket.once('close', () => this.connections--);
    });
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    // A forward proxy's CONNECT is not switchyard's to serve: say so rather than drop the connection.
    this.server.on('connect', (_req, socket: Duplex) => socket.end(rawErrorResponse('METHOD_NOT_ALLOWED')));
    this.server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
      if (socket.writable && !responseStarted(socket)) socket.end(rawErrorResponse(clientErrorCode(err)));
      else socket.destroy();
    });
  }

  /**
   * The HTTP/2 side: node:http2's compatibility request and response carry every member
   * handle() and Exchange use (url, method, rawHeaders, socket.remoteAddress, setTimeout,
   * writeHead, write, end, addTrailers, 'drain', 'close'), so they take the same path;
   * where HTTP/2 differs (pseudo-headers, no reason phrase, the body's end, the socket
   * being the whole session's) the code asks `httpVersionMajor`.
   */
  private http2Server(): http2.Http2Server {
    const h2 = http2.createServer(H2_OPTIONS);
    h2.on('request', (req, res) => this.handle(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse));
    h2.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      // An idle session (or one that never sent a request) is closed, as an idle HTTP/1.1 keep-alive connection is.
      session.setTimeout(KEEPALIVE_MS, () => session.close());
      if (this.settings.draining) session.close();
    });
    // A peer that breaks the protocol loses its session (nghttp2 sends GOAWAY); nothing to do here but not crash.
    h2.on('sessionError', () => {});
    return h2;
  }

  /** Handle one request: every lookup here is against the snapshot current at its start. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests++;
    if (this.settings.draining) res.shouldKeepAlive = false;
    const dest = this.resolve(req);
    if (dest instanceof Refusal) {
      this.refuse(req, res, dest);
      return;
    }
    const route = dest.route;
    const h2 = req.httpVersionMajor === 2;
    const raw = h2 ? h1Headers(req.rawHeaders) : req.rawHeaders;
    const headers = upstreamRequestHeaders(raw, req.socket.remoteAddress ?? '', this.client, route.preserveHost, dest.authority);
    const grpc = h2 && isGrpcRequest(raw);
    // gRPC servers look for `te: trailers` (a hop-by-hop header, otherwise dropped); the request id stays the last pair.
    if (grpc) headers.splice(headers.length - 2, 0, 'te', 'trailers');
    const path = upstreamPath(req.url ?? '/', route.stripPath ? dest.prefix : '', route.service.basePath);
    // An HTTP/2 request has a body unless its HEADERS frame ended the stream (gRPC sends no content-length).
    const hasBody = h2 ? !(req as unknown as http2.Http2ServerRequest).stream.endAfterHeaders : hasRequestBody(raw);
    const mirror = route.service.mirror;
    const copy = mirror === undefined ? undefined : mirror.begin(req, dest.upstream.name, path, headers, hasBody);
    new Exchange(req, res, dest, path, headers, this.settings, hasBody, copy, grpc).start();
  }

  /**
   * Read the request target as RFC 9112 says (one Host, absolute-form routed on its authority,
   * dot-segments removed: req.url is rewritten in place), route it, and pick its upstream and
   * target; or say why it cannot be.
   */
  private resolve(req: http.IncomingMessage): Destination | Refusal {
    let url = req.url ?? '/';
    if (url.length > MAX_URI_LENGTH) return URI_TOO_LONG;
    if (hostHeaderCount(req.rawHeaders) > 1 || ambiguousPath(url)) return BAD_REQUEST;
    const absolute = splitAbsoluteForm(url);
    if (absolute !== undefined) url = absolute.path;
    else if (url.charCodeAt(0) !== 47 /* / */) return BAD_REQUEST;
    req.url = removeDotSegments(url);
    const snap = this.source.current;
    const host = snap.router.usesHost ? hostOf(absolute?.authority ?? req.headers.host ?? (req.headers[':authority'] as string | undefined)) : '';
    // Node's typing of IncomingMessage leaves url and method optional; a request from the server always has both.
    const match = snap.router.match(req as RouteRequest, host);
    if (match === undefined) return NO_ROUTE;
    const service = match.target.service;
    const issued = service.stickyCookie === undefined ? undefined : service.split.bucketToIssue(req);
    const chosen = service.split.choose(req, issued);
    const setCookie = issued === undefined ? undefined : `${service.stickyCookie}=${issued}; Path=/; HttpOnly; SameSite=Lax`;
    const dest: Candidate | undefined = chosen && {
      route: match.target,
      prefix: match.prefix,
      upstream: chosen,
      target: undefined,
      setCookie,
      authority: absolute?.authority,
    };
    if (dest !== undefined && chooseTarget(dest)) return dest;
    const name = chosen?.name ?? service.upstreams[0]?.name ?? service.name;
    return new Refusal('NO_HEALTHY_TARGET', service.name, name);
  }

  /** Answer a request that reaches no upstream, and count it (with an empty target label). */
  private refuse(req: http.IncomingMessage, res: http.ServerResponse, r: Refusal): void {
    if (r.code === 'BAD_REQUEST' || r.code === 'URI_TOO_LONG') res.shouldKeepAlive = false;
    const requestId = requestIdFrom(req.rawHeaders);
    sendError(res, r.code, requestId);
    const status = ERROR_STATUS[r.code];
    this.stats?.get(r.service, r.upstream, '').record(status, 0);
    if (this.source.current.accessLog) {
      const method = req.method ?? '';
      this.settings.access.write({
        request_id: requestId,
        method,
        service: r.service,
        route: '',
        upstream: r.upstream,
        target: '',
        status,
        duration_ms: 0,
        bytes: 0,
        retries: 0,
      });
    }
  }

  /**
   * An Upgrade request. A WebSocket handshake (GET) is relayed to the chosen target. Any
   * other upgrade (h2c, a POST asking for websocket) is not relayed: without a body it is
   * served as a plain HTTP/1.1 request on a connection that then closes; with one it is
   * refused with a 400. Never a silent close.
   */
  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!isWebSocketHandshake(req)) {
      if (hasRequestBody(req.rawHeaders) || !(socket instanceof Socket)) {
        socket.end(rawErrorResponse('BAD_REQUEST'));
        return;
      }
      const res = new http.ServerResponse(req);
      res.shouldKeepAlive = false;
      res.assignSocket(socket);
      // Node no longer tracks a socket handed over for an upgrade: keep it where shutdown finds it.
      this.ws.hold(socket);
      res.once('finish', () => socket.end());
      this.handle(req, res);
      return;
    }
    const dest = this.resolve(req);
    if (dest instanceof Refusal) {
      this.stats?.get(dest.service, dest.upstream, '').record(ERROR_STATUS[dest.code], 0);
      socket.end(rawErrorResponse(dest.code));
      return;
    }
    const route = dest.route;
    req.url = upstreamPath(req.url ?? '/', route.stripPath ? dest.prefix : '', route.service.basePath);
    // An absolute-form target's authority replaces the Host header (forwarded as is with preserve_host).
    if (dest.authority !== undefined) req.headers.host = dest.authority;
    this.ws.relay(req, socket, head, dest);
  }

  /** Listen on "host:port" (port 0 = ephemeral); resolves with the bound "host:port". */
  async listen(address: string, reusePort = false): Promise<string> {
    // An accept queue as deep as the connection limit (HAProxy's default backlog): a thousand
    // clients connecting at once while the loop is busy would overflow Node's 511, and each
    // dropped SYN costs its client a 1 s (then 3 s) retransmit.
    const bound = await listen(this.server, address, { reusePort, backlog: Math.min(this.limits.maxConnections, 65_535) });
    this.client = { ...this.client, port: bound.slice(bound.lastIndexOf(':') + 1) };
    return bound;
  }

  /**
   * Drain and stop: no new connections; every answer from now on says `Connection: close`;
   * idle keep-alive connections are kept DRAIN_IDLE_MS, so that a request already sent on
   * one is answered rather than reset, then closed; busy ones get shutdown_timeout to
   * finish, then every socket left (WebSocket tunnels included) is destroyed.
   */
  close(shutdownMs = this.limits.shutdownTimeoutMs): Promise<void> {
    this.settings.draining = true;
    this.ws.close();
    // HTTP/2: GOAWAY now; each session closes once its streams have finished.
    for (const session of this.sessions) session.close();
    return new Promise((resolve) => {
      // After the grace, idle connections are closed as they become idle (a response in flight
      // when the drain began ends with `Connection: close`, but a client may still hold on).
      let reap: ReturnType<typeof setInterval> | undefined;
      const idle = setTimeout(
        () => {
          this.server.closeIdleConnections();
          reap = setInterval(() => this.server.closeIdleConnections(), 100);
          reap.unref();
        },
        Math.min(DRAIN_IDLE_MS, shutdownMs),
      );
      const hard = setTimeout(() => {
        this.server.closeAllConnections();
        for (const session of this.sessions) session.destroy();
      }, shutdownMs);
      idle.unref();
      hard.unref();
      // net.Server's close, not http.Server's: that one would close idle connections at once.
      NetServer.prototype.close.call(this.server, () => {
        clearTimeout(idle);
        clearTimeout(hard);
        clearInterval(reap);
        // http.Server's own close now only stops its connection-checking timer (the listener is already closed).
        this.server.close(() => {
          this.settings.access.flush();
          resolve();
        });
      });
    });
  }
}

/** True when a response is already being written on the connection (Node keeps it as the socket's `_httpMessage`). */
function responseStarted(socket: Duplex): boolean {
  const res: unknown = Reflect.get(socket, '_httpMessage');
  return res instanceof http.ServerResponse && res.headersSent;
}

/** A WebSocket opening handshake: GET with `Upgrade: websocket` (RFC 6455 section 4.1). */
function isWebSocketHandshake(req: http.IncomingMessage): boolean {
  return req.method === 'GET' && req.headers.upgrade?.toLowerCase() === 'websocket';
}

/** The path sent upstream: the service's path, then the request path less a stripped prefix. */
export function upstreamPath(url: string, strip: string, base: string): string {
  const rest = strip === '' ? url : url.slice(strip.length);
  if (base === '') return rest.charCodeAt(0) === 47 /* / */ ? rest : `/${rest}`;
  if (rest === '' || rest.charCodeAt(0) === 63) return base + rest;
  const baseSlash = base.endsWith('/');
  const restSlash = rest.charCodeAt(0) === 47; /* / */
  if (baseSlash && restSlash) return base + rest.slice(1);
  if (!baseSlash && !restSlash) return `${base}/${rest}`;
  return base + rest;
}

/** A listener's limits from the config's `proxy` section. */
export function limitsOf(proxy: Config['proxy']): ProxyLimits {
  return {
    clientHeaderTimeoutMs: proxy.client_header_timeout,
    clientBodyTimeoutMs: proxy.client_body_timeout,
    maxConnections: proxy.max_connections,
    tunnelTimeoutMs: proxy.tunnel_timeout,
    shutdownTimeoutMs: proxy.shutdown_timeout,
  };
}

/** Read the proxy's TLS files. */
export async function loadTls(tls: { cert: string; key: string }): Promise<{ cert: Buffer; key: Buffer }> {
  return { cert: await readFile(tls.cert), key: await readFile(tls.key) };
}
