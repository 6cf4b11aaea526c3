/**
 * Child entry: node-http-proxy (`http-proxy` 1.x), the long-standing Node reverse proxy, in
 * front of one upstream with a keep-alive agent (without one it opens a connection per request,
 * which would make the comparison meaningless).
 * Task: `{ upstream: "host:port" }`; answers `ready` with its own "127.0.0.1:PORT".
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import httpProxy from 'http-proxy';
import { readTask, runChild, send } from './ipc.js';
import type { ReferenceTask } from './reference-undici.js';

/** Answer a proxy failure with a JSON 502, as switchyard does. */
function onProxyError(err: Error, _req: http.IncomingMessage, res: http.ServerResponse | import('node:net').Socket): void {
  if (!(res instanceof http.ServerResponse)) return void res.destroy();
  if (res.headersSent) return void res.destroy(err);
  res.writeHead(502, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ message: `upstream error: ${err.message}` }));
}

runChild(async () => {
  const { upstream } = readTask<ReferenceTask>();
  const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
  const proxy = httpProxy.createProxyServer({ target: `http://${upstream}`, agent, xfwd: true });
  proxy.on('error', onProxyError);
  const server = http.createServer((req, res) => proxy.web(req, res));
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  send({ type: 'ready', addresses: [`127.0.0.1:${(server.address() as AddressInfo).port}`] });
});
