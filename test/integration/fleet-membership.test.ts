import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaderLease } from '../../src/fleet/lease.js';
import { Membership } from '../../src/fleet/membership.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

describe('fleet membership and the leader lease (a real redis-server)', () => {
  let redis: TestRedis;
  const connect = () => redis.connect();
  const record = (id: string, version: number) => ({
    id,
    admin: `127.0.0.1:${version}`,
    version,
    upstreams: { blue: { healthy: 2, total: 2 } },
    at: Date.now(),
  });

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('lists the instances that keep beating, and forgets one that leaves or stops', async () => {
    const members = new Membership(await connect(), 'm1', 200);
    await members.beat(record('a', 3));
    await members.beat({ ...record('b', 3), upstreams: { blue: { healthy: 1, total: 2 } } });
    expect((await members.list()).map((r) => [r.id, r.version, r.upstreams.blue.healthy])).toEqual([
      ['a', 3, 2],
      ['b', 3, 1],
    ]);
    await members.leave('a');
    expect((await members.list()).map((r) => r.id)).toEqual(['b']);
    // b stops beating: its record expires with its TTL, and the index forgets it.
    await waitFor(async () => (await members.list()).length === 0, 5_000, 'b to expire');
    expect(await (await connect()).sendCommand(['SMEMBERS', 'switchyard:{m1}:instances'])).toEqual([]);
  });

  it('gives the lease to one instance at a time; it passes on when released or when it expires', async () => {
    const a = new LeaderLease(await connect(), 'l1', 300);
    const b = new LeaderLease(await connect(), 'l1', 300);
    expect(await a.hold('a')).toBe(true);
    expect(await b.hold('b')).toBe(false);
    expect(await a.hold('a')).toBe(true); // renewed
    expect(await a.holder()).toBe('a');
    expect(await b.release('b')).toBe(false); // only the holder can release
    expect(await a.release('a')).toBe(true);
    expect(await b.hold('b')).toBe(true);
    // b stops renewing (it died): a takes over once the lease expires, and b cannot renew it back.
    await waitFor(() => a.hold('a'), 5_000, 'the lease to expire');
    expect(await b.hold('b')).toBe(false);
    expect(await b.holder()).toBe('a');
  });
});
