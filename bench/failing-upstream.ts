import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A demo upstream gone bad: the same answer shape as the demo servers (`x-upstream` header,
 * `{"upstream","target"}` body) but with an error status, so a rollout to it has something
 * to judge as failed while the bench can still tell which colour answered.
 */
export function startFailingUpstream(colour: string, status: number): Promise<{ address: string }> {
  const server = http.createServer();
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      const body = Buffer.from(JSON.stringify({ upstream: colour, target: address, error: 'failing on purpose (bench)' }) + '\n');
      const headers = { 'content-type': 'application/json', 'content-length': body.length, 'x-upstream': colour };
      server.on('request', (req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(status, headers);
          res.end(body);
        });
      });
      resolve({ address });
    });
  });
}
