import type { ClientRequest, IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import type { Destination } from './forward.js';
import { NOT_SENT } from './forward.js';
import { countFailure } from '../core/request-stats.js';

/** One upgrade in progress: where it went and when it began, until the upstream answers. */
interface Handshake {
  readonly dest: Destination;
  readonly startedAt: number;
  done: boolean;
}

/**
 * WebSocket (HTTP/1.1 Upgrade) pass-through to the chosen target. http-proxy-3 handles the
 * handshake and pipes both sockets. What users see is the same as for HTTP: the handshake
 * is counted in the metrics and the rollout window of the upstream it went to, and a failed
 * connect counts against the target's passive health. A tunnel with no traffic either way
 * for `idleMs` is closed (HAProxy's timeout tunnel), both of its sockets, so an upstream
 * that never answers a FIN cannot hold one open; shutdown destroys every socket left.
 */
export class WebSocketRelay {
  private readonly proxy = createProxyServer({ ws: true, xfwd: true });
  /** Both sides of every open tunnel, and of handshakes under way. */
  private readonly open = new Set<Duplex>();
  /** Upgrades whose upstream has not answered yet, by client request. */
  private readonly pending = new WeakMap<IncomingMessage, Handshake>();
  /** The client socket of each upgraded upstream socket, until the tunnel opens. */
  private readonly peers = new WeakMap<Duplex, Duplex>();

  constructor(private readonly idleMs: number) {
    this.proxy.on('proxyReqWs', (proxyReq: ClientRequest, req: IncomingMessage, clientSocket: Duplex) => {
      const handshake = this.pending.get(req);
      if (handshake === undefined) return;
      proxyReq.once('upgrade', (res: IncomingMessage, upstreamSocket: Duplex) => {
        this.peers.set(upstreamSocket, clientSocket);
        this.hold(upstreamSocket);
        answered(handshake, res.statusCode ?? 101);
      });
      // The upstream answered with plain HTTP (it is no WebSocket endpoint, or it is failing): relayed as it is.
      proxyReq.once('response', (res: IncomingMessage) => answered(handshake, res.statusCode ?? 0));
    });
    // The tunnel is piped: only now are both sockets set up (http-proxy-3 clears their timeouts before this).
    this.proxy.on('open', (upstreamSocket: Duplex) => {
      const client = this.peers.get(upstreamSocket);
      if (client !== undefined) this.idleTimeout(upstreamSocket, client);
    });
  }

  /** Tunnel one upgrade request to its destination (req.url already rewritten for the upstream). */
  relay(req: IncomingMessage, socket: Duplex, head: Buffer, dest: Destination): void {
    const handshake: Handshake = { dest, startedAt: performance.now(), done: false };
    this.pending.set(req, handshake);
    this.hold(socket);
    const target = dest.target;
    this.proxy.ws(
      req,
      socket,
      head,
      { target: target.origin, changeOrigin: !dest.route.preserveHost, secure: target.tlsVerify },
      (err: Error & { code?: string }) => {
        // A failed tunnel only concerns its own client: answer 502 while the handshake is pending;
        // once the 101 has gone out, the socket carries WebSocket frames and can only be closed.
        if (!handshake.done) {
          const code = err.code ?? '';
          if (dest.upstream.passive !== undefined) dest.upstream.passive.failure(target.health, 'tcp_failure', code || err.message);
          finish(handshake, 502, NOT_SENT.has(code) ? 'connect' : 'reset');
        }
        if (socket.writable && bytesWritten(socket) === 0) socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        else socket.destroy();
      },
    );
  }

  /** Sockets held open for tunnels (both sides of each, and handshakes under way). */
  get sockets(): number {
    return this.open.size;
  }

  /** Close every open tunnel: both sides, at once. */
  close(): void {
    for (const s of this.open) s.destroy();
    this.open.clear();
    this.proxy.close();
  }

  /** Keep a socket Node handed over for an upgrade (a tunnel side, or one served as plain HTTP), so that shutdown can destroy it. */
  hold(socket: Duplex): void {
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
  }

  /** Close both sockets of a tunnel once either has seen no traffic (read or written) for idleMs. */
  private idleTimeout(upstream: Duplex, client: Duplex): void {
    const closeBoth = (): void => {
      upstream.destroy();
      client.destroy();
    };
    for (const s of [upstream, client]) if (s instanceof Socket) s.setTimeout(this.idleMs, closeBoth);
  }
}

/** The upstream answered the handshake: its status counts for passive health, as a proxied response's does. */
function answered(h: Handshake, status: number): void {
  const { upstream, target } = h.dest;
  if (!h.done && upstream.passive !== undefined) upstream.passive.status(target.health, status);
  finish(h, status);
}

/** Count a handshake once: its status and time in the metrics, and in the upstream's rollout window. */
function finish(h: Handshake, status: number, failure?: 'connect' | 'reset'): void {
  if (h.done) return;
  h.done = true;
  const { upstream, target, route } = h.dest;
  const ms = performance.now() - h.startedAt;
  upstream.traffic.record(ms, status >= 500 || status === 0);
  const stats = route.service.stats?.get(upstream)?.get(target);
  if (stats === undefined) return;
  if (failure !== undefined) countFailure(stats, failure);
  stats.record(status, ms / 1000);
}

/** Bytes already written to the client socket (a net.Socket counts them; other duplexes are taken as untouched). */
function bytesWritten(socket: Duplex): number {
  return 'bytesWritten' in socket && typeof socket.bytesWritten === 'number' ? socket.bytesWritten : 0;
}
