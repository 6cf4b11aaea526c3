import net from 'node:net';

/** What came back on a raw connection: the status of the first response, all the text, and how it ended. */
export interface RawResult {
  status: number | undefined;
  text: string;
  /** The server closed (or reset) the connection. */
  closed: boolean;
  /** The connection was reset rather than closed cleanly. */
  reset: boolean;
}

/**
 * Send bytes on a fresh loopback connection (all at once, or as `chunks` with pauses),
 * then read until the server closes the connection or `waitMs` passes. For tests that
 * speak HTTP wrongly on purpose, as hostile clients do.
 */
export function rawExchange(port: number, data: string | Buffer | readonly (string | Buffer)[], waitMs = 5_000, pauseMs = 0): Promise<RawResult> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const parts = Array.isArray(data) ? data : [data];
    let text = '';
    let reset = false;
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : undefined, text, closed, reset });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', () => (reset = true));
    socket.on('close', () => finish(true));
    socket.on('connect', async () => {
      for (let i = 0; i < parts.length && !socket.destroyed; i++) {
        if (i > 0 && pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
        socket.write(parts[i]);
      }
    });
  });
}
