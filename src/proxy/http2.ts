/**
 * HTTP/2 on the proxy listeners. Every listener stays an http.Server (or https.Server), so
 * HTTP/1.1 is served exactly as before; HTTP/2 connections are picked out as they arrive
 * and handed to one node:http2 server that never listens itself: by ALPN on TLS listeners,
 * by the connection preface (h2c, prior knowledge) on plaintext ones with `proxy.http2`.
 */
import type http from 'node:http';
import type http2 from 'node:http2';
import type { Socket } from 'node:net';

/**
 * Limits for hostile peers. nghttp2 (Node 20.19+) already answers a rapid reset flood
 * (CVE-2023-44487) and CONTINUATION floods (CVE-2024-27983) with GOAWAY; these bound what
 * one session may hold besides: streams, header list, memory, invalid and refused frames.
 */
export const H2_OPTIONS: http2.ServerOptions = {
  settings: { maxConcurrentStreams: 128, maxHeaderListSize: 64 * 1024, initialWindowSize: 1024 * 1024 },
  maxHeaderListPairs: 256,
  maxSessionMemory: 32,
  maxSessionInvalidFrames: 100,
  maxSessionRejectedStreams: 100,
};

/** The HTTP/2 connection preface's first bytes ("PRI * HTTP/2.0"): no HTTP/1.1 method starts so. */
const PREFACE = Buffer.from('PRI');

/**
 * On a TLS listener offering h2 by ALPN: connections that chose h2 go to `h2`, the others to
 * the listener's own HTTP/1.1 handling.
 */
export function routeByAlpn(server: http.Server, h2: http2.Http2Server): void {
  const [h1] = server.listeners('secureConnection') as ((socket: Socket) => void)[];
  server.removeListener('secureConnection', h1);
  server.on('secureConnection', (socket: Socket & { alpnProtocol?: string | false }) => {
    if (socket.alpnProtocol === 'h2') h2.emit('connection', socket);
    else h1.call(server, socket);
  });
}

/**
 * On a plaintext listener with `proxy.http2`: read a connection's first bytes; the HTTP/2
 * preface sends it to `h2`, anything else to the listener's own HTTP/1.1 handling. The
 * bytes are put back, so either side reads the connection from its start. A connection that
 * sends nothing within `timeoutMs` is closed (the HTTP/1.1 header timeout starts only once
 * it is handed over).
 */
export function routeByPreface(server: http.Server, h2: http2.Http2Server, timeoutMs: number): void {
  const [h1] = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeListener('connection', h1);
  server.on('connection', (socket: Socket) => {
    const seen: Buffer[] = [];
    let length = 0;
    const onIdle = (): void => void socket.destroy();
    // A client that resets the connection before its first bytes must not take the process down.
    const onError = (): void => void socket.destroy();
    const onData = (chunk: Buffer): void => {
      seen.push(chunk);
      length += chunk.length;
      const head = seen.length === 1 ? chunk : Buffer.concat(seen, length);
      const n = Math.min(head.length, PREFACE.length);
      const h2c = head.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (h2c && head.length < PREFACE.length) return; // "P" or "PR": a POST, or the preface; wait for more
      socket.off('data', onData);
      socket.off('error', onError);
      // setTimeout(0) stops the timer but keeps its listener: it goes too, or a later timeout would destroy the socket.
      socket.setTimeout(0);
      socket.off('timeout', onIdle);
      socket.pause();
      socket.unshift(head);
      // An HTTP/2 session reads what the socket holds already; resuming here would hand it to nobody.
      if (h2c) h2.emit('connection', socket);
      else {
        h1.call(server, socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.setTimeout(timeoutMs, onIdle);
  });
}

/**
 * An HTTP/2 request's header list as HTTP/1.1 has it: pseudo-headers left out, `:authority`
 * given as `host` when the client sent no Host (RFC 9113 section 8.3.1), and cookie fields
 * (which HTTP/2 clients send one per cookie) joined into one (section 8.2.3).
 */
export function h1Headers(raw: readonly string[]): string[] {
  const out: string[] = [];
  let authority: string | undefined;
  let host = false;
  let cookie: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.charCodeAt(0) === 58 /* : */) {
      if (name === ':authority') authority = raw[i + 1];
      continue;
    }
    if (name === 'cookie') {
      cookie = cookie === undefined ? raw[i + 1] : `${cookie}; ${raw[i + 1]}`;
      continue;
    }
    if (name === 'host') host = true;
    out.push(name, raw[i + 1]);
  }
  if (cookie !== undefined) out.push('cookie', cookie);
  if (!host && authority !== undefined) out.push('host', authority);
  return out;
}
