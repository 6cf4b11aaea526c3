/**
 * Child entry: the Node ceiling for a forwarding proxy. A node:http server hands every request
 * to one upstream through undici's `Pool.dispatch` with a raw legacy handler that streams the
 * answer straight back: no routing, balancing, metrics or logging, just correct forwarding.
 * Task: `{ upstream: "host:port" }`; answers `ready` with its own "127.0.0.1:PORT".
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool, type Dispatcher } from 'undici';
import { readTask, runChild, send } from './ipc.js';

/** What the parent asks for: the one upstream to forward to. */
export interface ReferenceTask {
  upstream: string;
  /** Connections to the upstream at most (undici's default: no limit). */
  connections?: number;
}

// RFC 9110 §7.6.1 hop-by-hop headers, plus host (undici sets it from the origin).
const DROP_REQUEST = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);
const DROP_RESPONSE = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Flat [name, value, …] request headers without hop-by-hop ones, plus X-Forwarded-For. */
function requestHeaders(req: http.IncomingMessage): string[] {
  const raw = req.rawHeaders;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!DROP_REQUEST.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
  }
  out.push('x-forwarded-for', req.socket.remoteAddress ?? '');
  return out;
}

/** Flat response headers from undici's raw buffers, without hop-by-hop ones. */
function responseHeaders(raw: Buffer[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1');
    if (!DROP_RESPONSE.has(name.toLowerCase())) out.push(name, raw[i + 1].toString('latin1'));
  }
  return out;
}

/** A legacy dispatch handler that streams one upstream answer into `res`, with backpressure. */
function streamingHandler(res: http.ServerResponse): Dispatcher.DispatchHandler {
  let abort: ((err?: Error) => void) | undefined;
  let finished = false;
  res.once('close', () => {
    if (!finished) abort?.(new Error('client went away'));
  });
  return {
    onConnect: (fn) => void (abort = fn),
    onHeaders: (statusCode, rawHeaders, resume) => {
      res.writeHead(statusCode, responseHeaders(rawHeaders));
      res.on('drain', resume);
      return true;
    },
    onData: (chunk) => res.write(chunk),
    onComplete: () => {
      finished = true;
      res.end();
    },
    onError: (err) => {
      finished = true;
      if (res.headersSent) return void res.destroy(err);
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `upstream error: ${err.message}` }));
    },
  };
}

/** True when the request carries a body that must be streamed upstream. */
function hasBody(req: http.IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

runChild(async () => {
  const { upstream, connections } = readTask<ReferenceTask>();
  const pool = new Pool(`http://${upstream}`, { keepAliveTimeout: 60_000, ...(connections ? { connections } : {}) });
  const server = http.createServer((req, res) => {
    const body = hasBody(req) ? req : null;
    if (body === null) req.resume();
    const method = (req.method ?? 'GET') as Dispatcher.HttpMethod;
    pool.dispatch({ path: req.url ?? '/', method, headers: requestHeaders(req), body }, streamingHandler(res));
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  send({ type: 'ready', addresses: [`127.0.0.1:${(server.address() as AddressInfo).port}`] });
});
