import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request a hook server received. */
export interface Received {
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

/**
 * A webhook receiver on loopback (a notification endpoint, a rollout gate): `answer(n)` decides
 * the n-th reply, a status or 'hang' (never answered, until close).
 */
export async function startHookServer(answer: (n: number) => number | 'hang') {
  const got: Received[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const a = answer(got.length);
      got.push({ body, headers: req.headers });
      if (a === 'hang') hanging.push(res);
      else res.writeHead(a).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
