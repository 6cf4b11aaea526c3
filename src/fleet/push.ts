import { hostname, userInfo } from 'node:os';
import { createClient } from 'redis';
import type { Config } from '../config/schema/config-schema.js';
import { FleetLog, type RedisLike } from './log.js';
import { sharedText } from './shared.js';

/**
 * `switchyard fleet push`: make a validated config the fleet's next version on purpose (the
 * shared part: services, upstreams, metrics, notifications). Every instance applies it as it follows the log.
 * Resolves with the new version and the one it replaced.
 */
export async function pushConfig(url: string, name: string, config: Config): Promise<{ version: number; previous: number }> {
  const client = createClient({ url, socket: { connectTimeout: 5000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const log = new FleetLog(client as unknown as RedisLike, name);
    const meta = JSON.stringify({ instance: `switchyard fleet push (${safeUser()}@${hostname()})`, at: Date.now() });
    // Another change may land between reading the head and appending: read again and retry.
    for (let attempt = 0; attempt < 20; attempt++) {
      const previous = (await log.head())?.version ?? 0;
      const result = await log.append(previous, sharedText(config), meta);
      if (result.ok) return { version: result.version, previous };
    }
    throw new Error('the fleet kept changing while pushing: try again');
  } finally {
    await client.close().catch(() => undefined);
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
