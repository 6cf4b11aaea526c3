import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { createProxyServer } from 'http-proxy-3';

/**
 * WebSocket (and any HTTP/1.1 Upgrade) pass-through to the chosen target. http-proxy-3
 * handles the handshake and pipes both sockets; this keeps track of open tunnels so
 * that shutdown can close them.
 */
export class WebSocketRelay {
  private readonly proxy = createProxyServer({ ws: true, xfwd: true });
  private readonly open = new Set<Socket>();

  constructor() {
    // A failed tunnel only concerns its own client: answer 502 if the handshake is still pending.
    this.proxy.on('error', (_err, _req, res) => {
      const socket = res as Socket;
      if (socket.writable) socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Tunnel one upgrade request to `origin` (req.url already rewritten for the upstream). */
  relay(req: IncomingMessage, socket: Socket, head: Buffer, origin: string, preserveHost: boolean): void {
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
    this.proxy.ws(req, socket, head, { target: origin, changeOrigin: !preserveHost });
  }

  /** Close every open tunnel. */
  close(): void {
    for (const s of this.open) s.destroy();
    this.open.clear();
    this.proxy.close();
  }
}
