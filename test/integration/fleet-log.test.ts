import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetLog, fleetKeys } from '../../src/fleet/log.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

describe('the fleet log (a real redis-server)', () => {
  let redis: TestRedis;
  const connect = () => redis.connect();
  let n = 0;
  const fresh = async () => new FleetLog(await connect(), `fleet-${++n}`);

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('starts empty, then appends dense versions in order', async () => {
    const log = await fresh();
    expect(await log.head()).toBeUndefined();
    expect(await log.append(0, '{"v":1}', '{"by":"a"}')).toEqual({ ok: true, version: 1 });
    expect(await log.append(1, '{"v":2}', '{"by":"a"}')).toEqual({ ok: true, version: 2 });
    expect(await log.head()).toEqual({ version: 2, config: '{"v":2}', meta: '{"by":"a"}' });
    expect((await log.after(0)).map((e) => e.version)).toEqual([1, 2]);
    expect((await log.after(1)).map((e) => e.config)).toEqual(['{"v":2}']);
    expect(await log.after(2)).toEqual([]);
  });

  it('refuses a change planned on a version that is no longer the newest: two proposals cannot both win', async () => {
    const log = await fresh();
    await log.append(0, '{"v":1}', '{}');
    const [a, b] = await Promise.all([log.append(1, '{"from":"a"}', '{}'), log.append(1, '{"from":"b"}', '{}')]);
    expect([a.ok, b.ok].sort()).toEqual([false, true]);
    expect([a.version, b.version]).toEqual([2, 2]);
    expect((await log.after(0)).map((e) => e.version)).toEqual([1, 2]);
  });

  it('wakes a follower as soon as a version is appended, and resumes after the last one it saw', async () => {
    const name = `fleet-${++n}`;
    const writer = new FleetLog(await connect(), name);
    const follower = new FleetLog(await connect(), name);
    await writer.append(0, '{"v":1}', '{}');
    expect((await follower.follow(0, 1000)).map((e) => e.version)).toEqual([1]);
    const waiting = follower.follow(1, 5000);
    await writer.append(1, '{"v":2}', '{}');
    expect((await waiting).map((e) => e.version)).toEqual([2]);
    // Nothing new: the follow returns empty once its block ends.
    expect(await follower.follow(2, 50)).toEqual([]);
  });

  it('is seeded again at the version an instance runs when it lost its data, never below the newest', async () => {
    const log = await fresh();
    expect(await log.seed(7, '{"v":7}', '{}')).toEqual({ ok: true, version: 7 });
    expect(await log.seed(7, '{"again":7}', '{}')).toEqual({ ok: false, version: 7 });
    expect(await log.seed(5, '{"v":5}', '{}')).toEqual({ ok: false, version: 7 });
    expect(await log.append(7, '{"v":8}', '{}')).toEqual({ ok: true, version: 8 });
    expect((await log.after(0)).map((e) => e.config)).toEqual(['{"v":7}', '{"v":8}']);
  });

  it('keeps its keys under one hash tag per fleet', () => {
    expect(fleetKeys('prod')).toEqual({
      log: 'switchyard:{prod}:log',
      instances: 'switchyard:{prod}:instances',
      leader: 'switchyard:{prod}:leader',
      applied: 'switchyard:{prod}:applied',
      report: 'switchyard:{prod}:report',
      reports: 'switchyard:{prod}:reports',
    });
  });
});
