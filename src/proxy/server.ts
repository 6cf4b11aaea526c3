import http, { STATUS_CODES } from 'node:http';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { errorBody, SwitchyardError } from '../errors.js';
import type { RequestStatsStore } from '../core/request-stats.js';
import { listen } from '../address.js';
import type { SnapshotSource } from '../core/state.js';
import { type Candidate, chooseTarget, Exchange, type Destination } from './forward.js';
import { upstreamRequestHeaders, type ListenerInfo } from './headers.js';
import { hostOf, type RouteRequest } from '../routing/router.js';
import { sendError } from './respond.js';
import { WebSocketRelay } from './websocket.js';

/** Why a request reaches no upstream, with the labels it is counted under. */
class Refusal {
  constructor(
    readonly error: SwitchyardError,
    readonly service: string,
    readonly upstream: string,
  ) {}
}

/** How long shutdown waits for in-flight requests before closing their connections. */
export const DRAIN_GRACE_MS = 10_000;

/** The proxy listener: route, choose upstream and target, forward. */
export class ProxyServer {
  readonly server: http.Server;
  /** What X-Forwarded-Proto and -Port say: fixed per listener, so built once. */
  private client: ListenerInfo;
  private readonly ws = new WebSocketRelay();

  /** Open client connections, for the connections gauge. */
  connections = 0;

  constructor(
    private readonly source: SnapshotSource,
    tls?: { cert: Buffer; key: Buffer },
    /** Where requests that never reach an upstream (404, 503) are counted; undefined with metrics off. */
    private readonly stats?: RequestStatsStore,
  ) {
    this.client = { proto: tls ? 'https' : 'http', port: '' };
    this.server = tls ? https.createServer({ cert: tls.cert, key: tls.key }) : http.createServer();
    this.server.keepAliveTimeout = 65_000;
    this.server.on('request', (req, res) => this.handle(req, res));
    this.server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.connections++;
      socket.once('close', () => this.connections--);
    });
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.server.on('clientError', (_err, socket: Duplex) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Handle one request: every lookup here is against the snapshot current at its start. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const dest = this.resolve(req);
    if (dest instanceof Refusal) {
      this.refuse(res, dest);
      return;
    }
    const route = dest.route;
    const headers = upstreamRequestHeaders(req.rawHeaders, req.socket.remoteAddress ?? '', this.client, route.preserveHost);
    const path = upstreamPath(req.url ?? '/', route.stripPath ? dest.prefix : '', route.service.basePath);
    new Exchange(req, res, dest, path, headers).start();
  }

  /** Route the request and pick its upstream and target, or say why it cannot be. */
  private resolve(req: http.IncomingMessage): Destination | Refusal {
    const snap = this.source.current;
    const host = snap.router.usesHost ? hostOf(req.headers.host) : '';
    const match = snap.router.match(req as RouteRequest, host);
    if (match === undefined) return new Refusal(new SwitchyardError('NO_ROUTE', 'no Route matched with those values'), '', '');
    const service = match.target.service;
    const issued = service.stickyCookie === undefined ? undefined : service.split.bucketToIssue(req);
    const chosen = service.split.choose(req, issued);
    const setCookie = issued === undefined ? undefined : `${service.stickyCookie}=${issued}; Path=/; HttpOnly; SameSite=Lax`;
    const dest: Candidate | undefined = chosen && { route: match.target, prefix: match.prefix, upstream: chosen, target: undefined, setCookie };
    if (dest !== undefined && chooseTarget(dest)) return dest;
    const name = chosen?.name ?? service.upstreams[0]?.name ?? service.name;
    return new Refusal(new SwitchyardError('NO_HEALTHY_TARGET', `no healthy targets in upstream ${name}`), service.name, name);
  }

  /** Answer a request that reaches no upstream, and count it (with an empty target label). */
  private refuse(res: http.ServerResponse, r: Refusal): void {
    sendError(res, r.error);
    this.stats?.get(r.service, r.upstream, '').record(r.error.status, 0);
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const dest = this.resolve(req);
    if (dest instanceof Refusal) {
      this.stats?.get(dest.service, dest.upstream, '').record(dest.error.status, 0);
      const body = errorBody(dest.error);
      socket.end(
        `HTTP/1.1 ${dest.error.status} ${STATUS_CODES[dest.error.status]}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    const route = dest.route;
    req.url = upstreamPath(req.url ?? '/', route.stripPath ? dest.prefix : '', route.service.basePath);
    this.ws.relay(req, socket, head, dest);
  }

  /** Listen on "host:port" (port 0 = ephemeral); resolves with the bound "host:port". */
  async listen(address: string): Promise<string> {
    const bound = await listen(this.server, address);
    this.client = { ...this.client, port: bound.slice(bound.lastIndexOf(':') + 1) };
    return bound;
  }

  /** Stop accepting, let in-flight requests finish, then drop idle keep-alive connections. */
  close(graceMs = DRAIN_GRACE_MS): Promise<void> {
    return new Promise((resolve) => {
      // Busy keep-alive connections get this long to finish before they are cut.
      const cut = setTimeout(() => this.server.closeAllConnections(), graceMs);
      cut.unref();
      this.server.close(() => {
        clearTimeout(cut);
        resolve();
      });
      this.server.closeIdleConnections();
      this.ws.close();
    });
  }
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

/** Read the proxy's TLS files. */
export async function loadTls(tls: { cert: string; key: string }): Promise<{ cert: Buffer; key: Buffer }> {
  return { cert: await readFile(tls.cert), key: await readFile(tls.key) };
}
