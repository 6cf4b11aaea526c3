import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { createProxyServer } from 'http-proxy-3';
import type { Target } from '../core/targets.js';

/**
 * WebSocket (and any HTTP/1.1 Upgrade) pass-through to the chosen target. http-proxy-3
 * handles the handshake and pipes both sockets; this keeps track of open tunnels so
 * that shutdown can close them.
 */
export class WebSocketRelay {
  private readonly proxy = createProxyServer({ ws: true, xfwd: true });
  private readonly open = new Set<Socket>();

  constructor() {
    // A failed tunnel only concerns its own client: answer 502 while the handshake is pending;
    // once the 101 has gone out, the socket carries WebSocket frames and can only be closed.
    this.proxy.on('error', (_err, _req, res) => {
      const socket = res as Socket;
      if (socket.writable && socket.bytesWritten === 0) socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Tunnel one upgrade request to a target (req.url already rewritten for the upstream). */
  relay(req: IncomingMessage, socket: Socket, head: Buffer, target: Target, preserveHost: boolean): void {
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
    this.proxy.ws(req, socket, head, { target: target.origin, changeOrigin: !preserveHost, secure: target.tlsVerify });
  }

  /** Close every open tunnel. */
  close(): void {
    for (const s of this.open) s.destroy();
    this.open.clear();
    this.proxy.close();
  }
}
