import { readFileSync } from 'node:fs';
import net from 'node:net';

/** Where the kernel hands out ephemeral ports (Linux's default when /proc cannot be read). */
function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

const LOW = Math.min(ephemeralLow(), 32768);
let next = (process.pid * 7919) % 10_000;

/** True when a connection to the port is refused (nothing listens there). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/**
 * A loopback address nothing listens on, for connect-refused tests. The port lies below the
 * kernel's ephemeral range, which every test server (port 0) binds in, so no server started
 * by a test running alongside can take it; it is checked to refuse connections first.
 */
export async function deadAddress(): Promise<string> {
  for (;;) {
    next = (next + 1) % 10_000;
    const port = LOW - 12_000 + next;
    if (await refused(port)) return `127.0.0.1:${port}`;
  }
}
