import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetLog } from '../../src/fleet/log.js';
import { runCli, type StartedCli, startCli } from '../helpers/cli-process.js';
import { startLoad } from '../helpers/load.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { blueGreenYaml } from '../helpers/switchyard.js';
import { closeAll, startUpstream, type TestUpstream } from '../helpers/upstreams.js';
import { waitFor } from '../helpers/wait.js';

const json = async (url: string) => (await fetch(url)).json() as Promise<Record<string, unknown>>;

describe('a fleet of switchyard processes (the real CLI, a real redis-server)', () => {
  let redis: TestRedis;
  let blue: TestUpstream;
  let green: TestUpstream;
  const started: StartedCli[] = [];
  const yaml = (name: string, instance: string, service: Record<string, unknown> = {}) =>
    `fleet: { redis: "${redis.url}", name: ${name}, instance: ${instance} }\n${blueGreenYaml({ blue: [blue.address], green: [green.address] }, service)}`;
  const start = async (text: string, args: string[] = []) => {
    const s = await startCli(text, args);
    started.push(s);
    return s;
  };

  beforeAll(async () => {
    redis = await startRedis();
    blue = await startUpstream((_req, res) => res.setHeader('x-upstream', 'blue').end('blue'));
    green = await startUpstream((_req, res) => res.setHeader('x-upstream', 'green').end('green'));
  });
  afterAll(async () => {
    for (const s of started) s.child.kill('SIGKILL');
    await closeAll([blue, green]);
    await redis?.stop();
  });

  it('a rollout goes on when its leader is killed: another instance takes over from the saved step, no step skipped or repeated', async () => {
    const x = await start(yaml('ha', 'x'));
    const y = await start(yaml('ha', 'y'));
    const byId: Record<string, StartedCli> = { x, y };
    await waitFor(async () => ((await json(`${x.admin}/fleet`)).data as unknown[]).length === 2, 10_000, 'both instances live');
    const loads = [startLoad(x.proxy, { concurrency: 2, maxMs: 40_000 }), startLoad(y.proxy, { concurrency: 2, maxMs: 40_000 })];
    const res = await fetch(`${y.admin}/services/svc/rollout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'green', steps: [20, 40, 60, 80, 100], interval: 800, analysis: { min_requests: 5 }, max_inconclusive: 5 }),
    });
    expect(res.status).toBe(201);
    const leaderId = String((await json(`${x.admin}/fleet`)).leader);
    const leader = byId[leaderId];
    const survivor = leader === x ? y : x;
    await waitFor(async () => Number((await json(`${survivor.admin}/services/svc/rollout`)).step) >= 2, 15_000, 'the second step');
    leader.child.kill('SIGKILL');
    const killed = Date.now();
    await waitFor(async () => (await json(`${survivor.admin}/fleet`)).leader === (survivor === x ? 'x' : 'y'), 10_000, 'a new leader');
    const takeover = Date.now() - killed;
    await waitFor(async () => (await json(`${survivor.admin}/services/svc/rollout`)).state === 'succeeded', 20_000, 'the rollout to finish');
    const sent = await Promise.all(loads.map((l) => l.stop()));
    expect(takeover).toBeLessThan(8000);
    const judgements = ((await json(`${survivor.admin}/services/svc/history`)).data as { event: string }[]).filter((e) => e.event === 'rollout_judgement');
    console.log(
      `leader ${leaderId} SIGKILLed at step ≥ 2: ${survivor === x ? 'x' : 'y'} led after ${takeover} ms and judged ${judgements.length} step(s); survivor's load: ${sent[leader === x ? 1 : 0].sent} requests`,
    );
    // The log holds every step the fleet took, in order: each version moves the rollout by at most one step.
    const log = new FleetLog(await redis.connect(), 'ha');
    const steps = (await log.after(0, 1000)).map((e) => {
      const svc = (JSON.parse(e.config) as { services: { host: string; rollout?: { step: number; state: string } }[] }).services[0];
      return svc.rollout ? svc.rollout.step : svc.host === 'green' ? 5 : 0;
    });
    const moves = steps.slice(1).map((s, i) => s - steps[i]);
    expect(moves.every((m) => m === 0 || m === 1)).toBe(true);
    expect(steps[0]).toBe(0);
    expect(steps.at(-1)).toBe(5);
    expect([...new Set(steps)]).toEqual([0, 1, 2, 3, 4, 5]);
    const history = (await json(`${survivor.admin}/services/svc/history`)).data as { event: string; detail?: string }[];
    expect(history.some((e) => e.event === 'rollout_resumed' && /taken up by the fleet's leader/.test(e.detail ?? ''))).toBe(true);
    expect((await fetch(survivor.proxy)).headers.get('x-upstream')).toBe('green');
  });

  it('pushes a file to the fleet, lists the fleet, and switches with --wait-fleet (one instance with two workers)', async () => {
    const p = await start(yaml('ops', 'p'), ['--workers', '2']);
    const q = await start(yaml('ops', 'q'));
    await waitFor(async () => ((await json(`${p.admin}/fleet`)).data as unknown[]).length === 2, 10_000, 'both instances live');
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-push-'));
    const file = join(dir, 'green.yaml');
    await writeFile(file, `fleet: { redis: "${redis.url}", name: ops }\n${blueGreenYaml({ blue: [blue.address], green: [green.address] }, { host: 'green' })}`);
    const pushed = await runCli(['fleet', 'push', file]);
    expect(pushed).toMatchObject({ code: 0, stdout: expect.stringMatching(/^fleet ops: .* pushed as version 2 \(was 1\)/) });
    for (const s of [p, q]) await waitFor(async () => (await fetch(s.proxy)).headers.get('x-upstream') === 'green', 10_000, 'the pushed version');
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'services: [{ name: svc }]\n');
    expect(await runCli(['fleet', 'push', bad, '--redis', redis.url, '--name', 'ops'])).toMatchObject({ code: 1 });
    const listed = await runCli(['status', '--fleet', '--admin', q.admin]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^fleet ops: version 2, 2 live instance\(s\), leader [pq]/);
    expect(listed.stdout).toMatch(/^p( \(leader\))?\s+127\.0\.0\.1:\d+\s+2\s/m);
    expect(listed.stdout).toMatch(/blue 1\/1, green 1\/1/);
    const switched = await runCli(['switch', 'svc', 'blue', '--wait-fleet', '--admin', q.admin]);
    expect(switched).toMatchObject({ code: 0, stdout: expect.stringMatching(/fleet version 3 applied by p, q within \d+ ms of the call/) });
    // Both of p's workers serve the fleet's version once the answer is in (fresh connections spread over them).
    for (const s of [p, p, p, p, q]) expect((await fetch(s.proxy, { headers: { connection: 'close' } })).headers.get('x-upstream')).toBe('blue');
    const back = await runCli(['rollback', 'svc', '--wait-fleet', '--fleet-timeout', '2s', '--admin', p.admin]);
    expect(back).toMatchObject({ code: 0, stdout: expect.stringMatching(/fleet version 4 applied by p, q/) });
    for (const s of [p, q]) expect((await fetch(s.proxy)).headers.get('x-upstream')).toBe('green');
  });
});
