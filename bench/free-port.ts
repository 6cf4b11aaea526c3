import net from 'node:net';

/**
 * A port that was free a moment ago: bind port 0, read it, close. Racy in general (another
 * process may take it), which is acceptable for the bench on an otherwise idle loopback, not
 * for tests; switchyard takes its listen addresses from a config file, so it needs a number.
 */
export function reservePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
