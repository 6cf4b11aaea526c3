import net from 'node:net';

/**
 * A loopback address nothing listens on, for connect-refused tests: bind an ephemeral
 * port and release it. (Only for a target meant to be dead; never for a server a test
 * then starts, which would race.)
 */
export async function deadAddress(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}
