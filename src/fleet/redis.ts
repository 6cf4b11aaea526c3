import { createClient } from 'redis';
import type { RedisLike } from './log.js';

/** A fleet's Redis client (node-redis). */
export type RedisClient = ReturnType<typeof createClient>;

/** How long a command may take before Redis counts as unreachable (a stalled server keeps its sockets open). */
export const COMMAND_TIMEOUT_MS = 2000;

/**
 * A client for the fleet: commands fail at once while Redis is away (no offline queue), so a
 * change is refused rather than held, and reconnects are tried every second at most.
 */
export function fleetClient(url: string): RedisClient {
  return createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: COMMAND_TIMEOUT_MS, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000) },
  });
}

/** `client`'s raw commands, each failing after `ms` when Redis does not answer. */
export function timed(client: RedisClient, ms = COMMAND_TIMEOUT_MS): RedisLike {
  return {
    sendCommand: (args) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer ${args[0]} within ${ms} ms`)), ms);
      });
      return Promise.race([client.sendCommand(args), timeout]).finally(() => clearTimeout(timer));
    },
  };
}

/** A Redis URL without its password, for logs and answers. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis (unparsable URL)';
  }
}
