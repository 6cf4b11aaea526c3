import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App } from '../../src/app.js';
import { FleetLog } from '../../src/fleet/log.js';
import { Membership } from '../../src/fleet/membership.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { blueGreenYaml, type Running, startSwitchyard } from '../helpers/switchyard.js';
import { closeAll, startUpstream, type TestUpstream } from '../helpers/upstreams.js';
import { waitFor } from '../helpers/wait.js';

/** One answer a colour load saw: when its request was sent, and who answered (or the error). */
interface Seen {
  readonly sentAt: number;
  readonly colour: string;
}

/** Requests in loops against several proxies until stopped (bounded in count and time), logging each one's send time and colour. */
function colourLoad(origins: readonly string[], perOrigin = 4, maxMs = 20_000) {
  const seen: Seen[] = [];
  const pools = origins.map((o) => new Pool(o, { connections: perOrigin }));
  const started = Date.now();
  let stopped = false;
  const loop = async (pool: Pool) => {
    while (!stopped && seen.length < 200_000 && Date.now() - started < maxMs) {
      const sentAt = performance.now();
      try {
        const res = await pool.request({ path: '/', method: 'GET' });
        await res.body.dump();
        seen.push({ sentAt, colour: res.statusCode === 200 ? String(res.headers['x-upstream']) : `status ${res.statusCode}` });
      } catch (err) {
        seen.push({ sentAt, colour: `error ${(err as Error).message}` });
      }
    }
  };
  const loops = Promise.all(pools.flatMap((p) => Array.from({ length: perOrigin }, () => loop(p))));
  return {
    seen,
    async stop(): Promise<Seen[]> {
      stopped = true;
      await loops;
      await Promise.all(pools.map((p) => p.close()));
      return seen;
    },
  };
}

async function call(admin: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${admin}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const statusOf = async (s: Running) => (await call(s.admin, 'GET', '/status')).body as { status: string; details: Record<string, unknown> };
const generationOf = async (s: Running) => (await statusOf(s)).details.generation;
const colourOf = async (s: Running) => (await fetch(s.proxy)).headers.get('x-upstream');

describe('a fleet of three instances (a real redis-server)', () => {
  let redis: TestRedis;
  let blue: TestUpstream;
  let green: TestUpstream;
  const running: Running[] = [];
  let fleets = 0;
  const fleetYaml = (name: string, instance: string, host = 'blue', service: Record<string, unknown> = {}) =>
    `fleet: { redis: "${redis.url}", name: ${name}, instance: ${instance} }\n${blueGreenYaml({ blue: [blue.address], green: [green.address] }, { host, ...service })}`;
  const start = async (yaml: string) => {
    const s = await startSwitchyard(yaml);
    running.push(s);
    return s;
  };
  /** Three instances of a new fleet: a seeds it; b and c start from files that say otherwise, and follow. */
  const trio = async (service: Record<string, unknown> = {}) => {
    const name = `fleet-${++fleets}`;
    const a = await start(fleetYaml(name, 'a', 'blue', service));
    const b = await start(fleetYaml(name, 'b', 'green', service));
    const c = await start(fleetYaml(name, 'c', 'green', service));
    // Every heartbeat is in before the test relies on membership.
    await waitFor(async () => ((await call(a.admin, 'GET', '/fleet')).body.data as unknown[]).length === 3, 10_000, 'three live instances');
    return { name, a, b, c, all: [a, b, c] };
  };

  beforeAll(async () => {
    redis = await startRedis();
    blue = await startUpstream((_req, res) => res.setHeader('x-upstream', 'blue').end('blue'));
    green = await startUpstream((_req, res) => res.setHeader('x-upstream', 'green').end('green'));
  });
  afterAll(async () => {
    await closeAll(running);
    await closeAll([blue, green]);
    await redis?.stop();
  });

  it('is seeded by its first instance; later ones follow it, say so, and show the same generation', async () => {
    const { a, b, c, all } = await trio();
    for (const s of all) expect(await colourOf(s)).toBe('blue');
    expect(new Set(await Promise.all(all.map(generationOf)))).toEqual(new Set([1]));
    const st = await statusOf(b);
    expect(st.status).toBe('pass');
    expect((st.details.fleet as Record<string, unknown>).following).toMatch(/differed from the fleet's: it follows fleet version 1 \(set by a\)/);
    expect((await statusOf(a)).details.fleet).not.toHaveProperty('following');
    const fleet = (await call(c.admin, 'GET', '/fleet')).body;
    expect(fleet.version).toBe(1);
    expect((fleet.data as { id: string; generation: number; admin: string; upstreams: unknown }[]).map((m) => [m.id, m.generation])).toEqual([
      ['a', 1],
      ['b', 1],
      ['c', 1],
    ]);
    expect((fleet.data as { upstreams: unknown }[])[0].upstreams).toEqual({ blue: { healthy: 1, total: 1 }, green: { healthy: 1, total: 1 } });
    const metrics = await (await fetch(`${a.admin}/metrics`)).text();
    expect(metrics).toMatch(/^switchyard_fleet_version 1$/m);
    // Live instances are counted at each heartbeat.
    await waitFor(
      async () => /^switchyard_fleet_instances 3$/m.test(await (await fetch(`${a.admin}/metrics`)).text()),
      10_000,
      'three live instances in /metrics',
    );
  });

  it('a switch under load on one instance is honoured by every instance once the call returns with ?wait=fleet', async () => {
    const { a, b, c, all } = await trio();
    const load = colourLoad(all.map((s) => s.proxy));
    await waitFor(() => load.seen.length > 300, 10_000, 'load on every instance');
    const res = await call(b.admin, 'PATCH', '/services/svc?wait=fleet', { host: 'green' });
    const acked = performance.now();
    expect(res.status).toBe(200);
    const proof = res.body.fleet as { version: number; instances: { id: string; after_ms: number }[]; missing: string[] };
    expect(proof.version).toBe(2);
    expect(proof.missing).toEqual([]);
    expect(proof.instances.map((i) => i.id)).toEqual(['a', 'b', 'c']);
    await waitFor(() => load.seen.filter((s) => s.sentAt > acked).length > 300, 10_000, 'load after the switch');
    const seen = await load.stop();
    const after = seen.filter((s) => s.sentAt > acked);
    expect(after.filter((s) => s.colour !== 'green')).toEqual([]);
    expect(seen.filter((s) => s.colour !== 'green' && s.colour !== 'blue')).toEqual([]);
    for (const s of [a, c]) expect(await generationOf(s)).toBe(2);
    // Every instance's history says what the change was and where it came from.
    const history = (await call(c.admin, 'GET', '/services/svc/history')).body.data as { event: string; via: string; by: string }[];
    expect(history.at(-1)).toMatchObject({ event: 'switch', via: 'fleet', by: 'b' });
  });

  it('rolls back from any instance, and answers 504 naming an instance that does not confirm in time', async () => {
    const { name, a, c, all } = await trio();
    expect((await call(a.admin, 'PATCH', '/services/svc', { host: 'green' })).status).toBe(200);
    const rolled = await call(c.admin, 'POST', '/services/svc/rollback?wait=fleet&timeout=3s');
    expect(rolled.status).toBe(200);
    expect((rolled.body.fleet as { missing: string[] }).missing).toEqual([]);
    for (const s of all) expect(await colourOf(s)).toBe('blue');
    // An instance that beats but never applies: the answer names it after the timeout.
    const members = new Membership(await redis.connect(), name, 10_000);
    await members.beat({ id: 'ghost', admin: '127.0.0.1:1', version: 0, upstreams: {}, at: Date.now() });
    const late = await call(a.admin, 'PATCH', '/services/svc?wait=fleet&timeout=300ms', { host: 'green' });
    expect(late.status).toBe(504);
    expect(late.body.message).toMatch(/the change is made, but ghost did not confirm fleet version 4 within 300 ms/);
    expect((late.body.fleet as { missing: string[] }).missing).toEqual(['ghost']);
    await members.leave('ghost');
    expect((await call(a.admin, 'PATCH', '/services/svc?wait=soon', { host: 'blue' })).status).toBe(400);
    expect((await call(a.admin, 'PATCH', '/services/svc?wait=fleet&timeout=2 weeks', { host: 'blue' })).status).toBe(400);
    // A bad wait changed nothing.
    for (const s of all) expect(await colourOf(s)).toBe('green');
  });

  it('refuses a version from Redis that is not a valid config, says so, and applies the next good one', async () => {
    const { name, a, b, all } = await trio();
    const log = new FleetLog(await redis.connect(), name);
    expect(
      await log.append(1, JSON.stringify({ services: [{ name: 'svc', host: 'green', routes: 'all' }], upstreams: [], metrics: {} }), '{"instance":"intruder"}'),
    ).toEqual({
      ok: true,
      version: 2,
    });
    await waitFor(async () => (await statusOf(b)).status === 'warn', 10_000, 'a refused version');
    const fleet = (await statusOf(b)).details.fleet as Record<string, unknown>;
    expect(fleet.refused).toMatchObject({ version: 2 });
    expect(String((fleet.refused as { reason: string }).reason)).toMatch(/services\[0\]\.routes/);
    for (const s of all) expect(await colourOf(s)).toBe('blue');
    expect(await (await fetch(`${a.admin}/metrics`)).text()).toMatch(/^switchyard_fleet_refused_total 1$/m);
    // A per-instance section from Redis is refused too: the admin token stays each instance's own.
    await log.append(2, JSON.stringify({ admin: { listen: '0.0.0.0:8001' }, services: [], upstreams: [] }), '{"instance":"intruder"}');
    await waitFor(async () => ((await statusOf(a)).details.fleet as { refused?: { version: number } }).refused?.version === 3, 10_000, 'the second refusal');
    expect(((await statusOf(a)).details.fleet as { refused: { reason: string } }).refused.reason).toMatch(/admin: not shared by a fleet/);
    // A version without every shared section would remove them: refused too.
    await log.append(3, JSON.stringify({ upstreams: [] }), '{"instance":"intruder"}');
    await waitFor(async () => ((await statusOf(a)).details.fleet as { refused?: { version: number } }).refused?.version === 4, 10_000, 'the third refusal');
    expect(((await statusOf(a)).details.fleet as { refused: { reason: string } }).refused.reason).toBe('missing services, metrics');
    const res = await call(a.admin, 'PATCH', '/services/svc?wait=fleet', { host: 'green' });
    expect(res.status).toBe(200);
    expect((res.body.fleet as { version: number }).version).toBe(5);
    for (const s of all) expect((await statusOf(s)).status).toBe('pass');
    for (const s of all) expect(await colourOf(s)).toBe('green');
  });

  it('runs a rollout once, on the leader, judged on the traffic of every instance', async () => {
    const { a, b, c } = await trio({ rollout: undefined });
    const byId: Record<string, Running> = { a, b, c };
    const lead = byId[String((await call(a.admin, 'GET', '/fleet')).body.leader)];
    const others = [a, b, c].filter((s) => s !== lead);
    // Traffic only through the two followers: judged on the leader's own counts alone, every window would be inconclusive.
    const load = colourLoad(
      others.map((s) => s.proxy),
      2,
    );
    const started = await call(others[0].admin, 'POST', '/services/svc/rollout?wait=fleet', {
      to: 'green',
      steps: [50, 100],
      interval: 600,
      analysis: { min_requests: 20 },
      max_inconclusive: 1,
    });
    expect(started.status).toBe(201);
    await waitFor(async () => (await call(lead.admin, 'GET', '/services/svc/rollout')).body.state === 'succeeded', 15_000, 'the rollout to succeed');
    await load.stop();
    const judged = ((await call(lead.admin, 'GET', '/services/svc/history')).body.data as { event: string; verdict?: string; detail?: string }[]).filter(
      (e) => e.event === 'rollout_judgement',
    );
    expect(judged.map((e) => e.verdict)).toEqual(['pass']);
    // The followers judged nothing: the rollout ran once.
    for (const s of others) {
      const events = ((await call(s.admin, 'GET', '/services/svc/history')).body.data as { event: string }[]).map((e) => e.event);
      expect(events).not.toContain('rollout_judgement');
      expect(await colourOf(s)).toBe('green');
    }
  });

  it('keeps serving with Redis down, refuses changes with 503, and resyncs without losing or reverting a version when Redis comes back empty', async () => {
    const { a, b, c, all } = await trio();
    expect((await call(a.admin, 'PATCH', '/services/svc?wait=fleet', { host: 'green' })).status).toBe(200);
    const load = colourLoad(all.map((s) => s.proxy));
    await waitFor(() => load.seen.length > 200, 10_000, 'load');
    await redis.kill();
    await waitFor(async () => (await statusOf(b)).status === 'warn', 10_000, '/status to warn');
    const refused = await call(c.admin, 'PATCH', '/services/svc', { host: 'blue' });
    expect(refused.status).toBe(503);
    expect(refused.body.message).toMatch(/the fleet's Redis \(redis:\/\/127\.0\.0\.1:\d+\) is unreachable .*changes are refused .*keeps serving/);
    expect(String((await statusOf(a)).details.fleet && ((await statusOf(a)).details.fleet as { problem: string }).problem)).toMatch(/unreachable/);
    const during = load.seen.length;
    await waitFor(() => load.seen.length > during + 300, 10_000, 'load while Redis is down');
    await redis.restart();
    const back = Date.now();
    const servedDown = load.seen.length - during;
    for (const s of all) await waitFor(async () => (await statusOf(s)).status === 'pass', 15_000, 'every instance to resync');
    const resynced = Date.now() - back;
    const seen = await load.stop();
    console.log(`Redis down: ${servedDown} requests served meanwhile, 0 failed; every instance resynced ${resynced} ms after Redis came back empty`);
    expect(seen.filter((s) => s.colour !== 'green')).toEqual([]);
    // The log was re-seeded at the version the fleet had: nothing went back to version 1.
    const log = new FleetLog(await redis.connect(), (await call(a.admin, 'GET', '/fleet')).body.name as string);
    expect((await log.head())?.version).toBe(2);
    for (const s of all) expect(await generationOf(s)).toBe(2);
    const next = await call(c.admin, 'PATCH', '/services/svc?wait=fleet', { host: 'blue' });
    expect(next.status).toBe(200);
    expect((next.body.fleet as { version: number; missing: string[] }).version).toBe(3);
    for (const s of all) expect(await colourOf(s)).toBe('blue');
  });

  it('undoes a change whose recording a stalled Redis does not answer (503); every instance then agrees on what the log holds', async () => {
    const { a, all } = await trio();
    redis.pause();
    try {
      const res = await call(a.admin, 'PATCH', '/services/svc', { host: 'green' });
      expect(res.status).toBe(503);
      expect(res.body.message).toMatch(/did not answer while this change was being recorded .*undone here/);
      // Undone on the instance that made it: no instance serves what the fleet does not have.
      for (const s of all) expect(await colourOf(s)).toBe('blue');
    } finally {
      redis.resume();
    }
    for (const s of all) await waitFor(async () => (await statusOf(s)).status === 'pass', 15_000, 'every instance to resync');
    // The stalled server ran the append when it woke (version 2, green), or never got it (version 1, blue): either way, all alike.
    const log = new FleetLog(await redis.connect(), (await call(a.admin, 'GET', '/fleet')).body.name as string);
    const head = await log.head();
    const expected = head?.version === 2 ? 'green' : 'blue';
    for (const s of all) await waitFor(async () => (await generationOf(s)) === head?.version, 10_000, 'every instance at the log head');
    for (const s of all) expect(await colourOf(s)).toBe(expected);
    const next = expected === 'green' ? 'blue' : 'green';
    expect((await call(a.admin, 'PATCH', '/services/svc?wait=fleet', { host: next })).status).toBe(200);
    for (const s of all) expect(await colourOf(s)).toBe(next);
  });

  it('takes a hand edit of the config file made while Redis was down once Redis is back', async () => {
    const name = `fleet-${++fleets}`;
    const peer = await start(fleetYaml(name, 'peer'));
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-fleet-'));
    const file = join(dir, 'switchyard.yaml');
    await writeFile(file, `proxy:\n  listen: ["127.0.0.1:0"]\nadmin:\n  listen: "127.0.0.1:0"\n${fleetYaml(name, 'filed')}`);
    const app = await App.start({ configPath: file });
    const filed: Running = { app, proxy: `http://${app.proxyAddresses[0]}`, admin: `http://${app.adminAddress}`, close: () => app.close() };
    running.push(filed);
    await redis.kill();
    await waitFor(async () => (await statusOf(filed)).status === 'warn', 10_000, 'the outage to be seen');
    await writeFile(file, (await readFile(file, 'utf8')).replace('"host":"blue"', '"host":"green"'));
    await waitFor(
      async () => ((await statusOf(filed)).details.last_reload as { result?: string } | null)?.result === 'rejected',
      10_000,
      'the edit to be refused',
    );
    expect(await colourOf(filed)).toBe('blue');
    await redis.restart();
    // Read again once the fleet is back: applied here and, as a new version, on the peer.
    for (const s of [filed, peer]) await waitFor(async () => (await colourOf(s)) === 'green', 15_000, 'the edit to reach every instance');
    await waitFor(async () => (await statusOf(filed)).status === 'pass', 10_000, '/status to pass');
    expect((await call(filed.admin, 'PATCH', '/services/svc', { retries: 2 })).status).toBe(200);
  });

  it('lets an instance started late catch up to the current version', async () => {
    const { name, a, all } = await trio();
    for (const host of ['green', 'blue', 'green']) expect((await call(a.admin, 'PATCH', '/services/svc', { host })).status).toBe(200);
    const late = await start(fleetYaml(name, 'late', 'blue'));
    expect(await generationOf(late)).toBe(4);
    expect(await colourOf(late)).toBe('green');
    for (const s of all) expect(await generationOf(s)).toBe(4);
  });
});
