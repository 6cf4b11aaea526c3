import { fleetKeys, type RedisLike } from './log.js';

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * The fleet's leader lease: one key holding the leader's id with a TTL. Only the holder
 * renews or releases it (checked inside Redis, so a lease that expired and was taken by
 * another instance cannot be renewed by the old holder). Rollouts run on the leader.
 */
export class LeaderLease {
  private readonly key: string;

  constructor(
    private readonly redis: RedisLike,
    name: string,
    private readonly ttlMs: number,
  ) {
    this.key = fleetKeys(name).leader;
  }

  /** Take the lease if nobody holds it, or renew it if `id` does; true while `id` leads. */
  async hold(id: string): Promise<boolean> {
    const taken = await this.redis.sendCommand(['SET', this.key, id, 'NX', 'PX', String(this.ttlMs)]);
    if (taken === 'OK') return true;
    return Number(await this.redis.sendCommand(['EVAL', RENEW, '1', this.key, id, String(this.ttlMs)])) === 1;
  }

  /** Who leads now, if anyone. */
  async holder(): Promise<string | undefined> {
    const v = await this.redis.sendCommand(['GET', this.key]);
    return typeof v === 'string' ? v : undefined;
  }

  /** Give the lease up (shutdown), so another takes over at once. */
  async release(id: string): Promise<boolean> {
    return Number(await this.redis.sendCommand(['EVAL', RELEASE, '1', this.key, id])) === 1;
  }
}
