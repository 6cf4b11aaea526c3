import type { Server } from 'node:net';

/** Split "host:port" or "[v6]:port". */
export function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  if (colon < 0) throw new Error(`address "${address}" needs a port`);
  let host = address.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(address.slice(colon + 1)) };
}

/** "host:port", bracketing IPv6 hosts. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/**
 * Listen on "host:port" (port 0 = ephemeral); resolves with the bound "host:port".
 * With `reusePort`, a cluster worker binds its own socket (SO_REUSEPORT) and the kernel
 * spreads connections; without, node:cluster's primary shares one socket. `backlog` is the
 * accept queue (Node's default is 511; the kernel caps it at net.core.somaxconn).
 */
export function listen(server: Server, address: string, opts: { reusePort?: boolean; backlog?: number } = {}): Promise<string> {
  const { host, port } = splitHostPort(address);
  const options = { port, host, backlog: opts.backlog, ...(opts.reusePort ? { reusePort: true, exclusive: true } : {}) };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a ? joinHostPort(host, a.port) : address);
    });
  });
}
