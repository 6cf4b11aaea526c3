import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One demo upstream: answers every request with its colour and address. */
export interface DemoUpstream {
  colour: string;
  server: http.Server;
  /** "127.0.0.1:PORT" as bound. */
  address: string;
}

/** The demo pair that `--demo` starts: blue on 9001/9002, green on 9101/9102. */
export const DEMO_PORTS: Readonly<Record<string, readonly number[]>> = Object.freeze({
  blue: [9001, 9002],
  green: [9101, 9102],
});

/**
 * Start one demo server. The body is built once per server, so answering costs no
 * JSON work per request (the bench uses these as the upstream baseline).
 */
export function startDemoUpstream(colour: string, port = 0, host = '127.0.0.1'): Promise<DemoUpstream> {
  const server = http.createServer();
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = `${host}:${(server.address() as AddressInfo).port}`;
      const body = Buffer.from(JSON.stringify({ upstream: colour, target: address }) + '\n');
      const headers = { 'content-type': 'application/json', 'content-length': body.length, 'x-upstream': colour };
      server.on('request', (req, res) => {
        // Drain any request body so keep-alive connections stay usable.
        req.resume();
        req.on('end', () => {
          res.writeHead(200, headers);
          res.end(body);
        });
      });
      resolve({ colour, server, address });
    });
  });
}

/** Start several demo servers per colour; `ports` defaults to DEMO_PORTS (0 = ephemeral). */
export async function startDemoUpstreams(ports: Readonly<Record<string, readonly number[]>> = DEMO_PORTS): Promise<DemoUpstream[]> {
  const started: DemoUpstream[] = [];
  try {
    for (const [colour, list] of Object.entries(ports)) {
      for (const port of list) started.push(await startDemoUpstream(colour, port));
    }
  } catch (err) {
    await closeDemoUpstreams(started);
    throw err;
  }
  return started;
}

/** Close demo servers, dropping idle keep-alive connections so close() returns promptly. */
export async function closeDemoUpstreams(list: DemoUpstream[]): Promise<void> {
  await Promise.all(
    list.map(
      (u) =>
        new Promise<void>((resolve) => {
          u.server.close(() => resolve());
          u.server.closeAllConnections();
        }),
    ),
  );
}
