import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A test upstream on an ephemeral loopback port. */
export interface TestUpstream {
  server: http.Server;
  /** "127.0.0.1:PORT". */
  address: string;
  /** Requests it has received. */
  hits: number;
  close(): Promise<void>;
}

/** Start an upstream with a custom handler; it counts the requests it receives. */
export async function startUpstream(handler: http.RequestListener): Promise<TestUpstream> {
  const server = http.createServer();
  const up: TestUpstream = {
    server,
    address: '',
    hits: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  server.on('request', (req, res) => {
    up.hits++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  up.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return up;
}

/** An upstream that answers with what it received: method, url, headers and body size. */
export function startEchoUpstream(name = 'echo'): Promise<TestUpstream> {
  return startUpstream((req, res) => {
    let size = 0;
    req.on('data', (c: Buffer) => (size += c.length));
    req.on('end', () => {
      const body = JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers, bodySize: size });
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
      res.end(body);
    });
  });
}

/** Close many upstreams. */
export async function closeAll(list: { close(): Promise<void> }[]): Promise<void> {
  await Promise.all(list.map((u) => u.close()));
}
