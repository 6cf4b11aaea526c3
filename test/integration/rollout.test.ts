import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { closeDemoUpstreams, startDemoUpstream, type DemoUpstream } from '../../src/demo/upstreams.js';
import { failures, startLoad } from '../helpers/load.js';
import { blueGreenYaml, startSwitchyard, type Running } from '../helpers/switchyard.js';
import { startUpstream } from '../helpers/upstreams.js';
import { waitFor } from '../helpers/wait.js';

type Json = Record<string, any>;

describe('gradual rollouts', () => {
  const open: { close(): Promise<void> }[] = [];
  let demos: DemoUpstream[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
    await closeDemoUpstreams(demos.splice(0));
  });

  const start = async (service: Record<string, unknown> = {}, green?: string) => {
    demos = await Promise.all([startDemoUpstream('blue'), startDemoUpstream('green')]);
    const sy = await startSwitchyard(blueGreenYaml({ blue: [demos[0].address], green: [green ?? demos[1].address] }, service));
    open.push(sy);
    return sy;
  };
  const admin = async (sy: Running, method: string, path: string, body?: unknown) => {
    const res = await request(`${sy.admin}${path}`, {
      method: method as 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.statusCode, json: (await res.body.json()) as Json };
  };
  const rollout = (sy: Running) => admin(sy, 'GET', '/services/svc/rollout').then((r) => r.json);
  // Short windows; on a loaded machine a window may see too little traffic, which only delays a step.
  const fast = { steps: [10, 25, 50, 100], interval: '300ms', analysis: { min_requests: 10, max_error_rate: 0.01, max_p99_ms: 1000 }, max_inconclusive: 50 };
  const decided = (judgements: Json[]) => judgements.filter((j) => j.verdict !== 'inconclusive');

  it('walks 10 → 25 → 50 → 100 under load with zero errors, judging each step', async () => {
    const sy = await start();
    const load = startLoad(sy.proxy, { concurrency: 8, maxMs: 20_000, maxRequests: 200_000 });
    await load.sentAtLeast(100);
    const started = await admin(sy, 'POST', '/services/svc/rollout', { to: 'green', ...fast });
    expect(started.status).toBe(201);
    expect(started.json).toMatchObject({ state: 'running', step: 1, split: { blue: 90, green: 10 } });
    await waitFor(async () => (await rollout(sy)).state === 'succeeded', 15_000, 'the rollout to succeed');
    await load.sentAtLeast(200);
    const result = await load.stop();
    expect(failures(result)).toBe(0);
    const done = await rollout(sy);
    expect(decided(done.judgements).map((j: Json) => [j.weight, j.verdict])).toEqual([
      [10, 'pass'],
      [25, 'pass'],
      [50, 'pass'],
    ]);
    expect((await admin(sy, 'GET', '/services/svc')).json).toMatchObject({ host: 'green', traffic: { green: 100 } });
    const events = (await admin(sy, 'GET', '/services/svc/history')).json.data.map((h: Json) => h.event);
    expect(events.filter((e: string) => e !== 'rollout_judgement')).toEqual(['rollout_started', 'rollout_step', 'rollout_step', 'rollout_succeeded']);
    expect(events.filter((e: string) => e === 'rollout_judgement').length).toBe(done.judgements.length);
  });

  it('rolls back on its own when green fails, leaving green at weight 0 and receiving nothing', async () => {
    const failing = await startUpstream((_req, res) => {
      res.writeHead(500, { 'x-upstream': 'green' });
      res.end('{"message":"broken"}');
    });
    open.push(failing);
    const sy = await start({}, failing.address);
    const load = startLoad(sy.proxy, { concurrency: 8, maxMs: 20_000, maxRequests: 200_000 });
    await load.sentAtLeast(100);
    const startedAt = Date.now();
    await admin(sy, 'POST', '/services/svc/rollout', { to: 'green', ...fast, failure_threshold: 2 });
    await waitFor(async () => (await rollout(sy)).state === 'rolled_back', 10_000, 'the rollback');
    const rolledBackIn = Date.now() - startedAt;
    const after = failing.hits;
    await load.sentAtLeast(500);
    const result = await load.stop();
    console.log(`rolled back ${rolledBackIn} ms after the start (2 failed 300 ms windows)`);
    expect(failing.hits).toBe(after); // nothing reached green after the rollback
    const r = await rollout(sy);
    expect(r.split).toEqual({ blue: 100, green: 0 });
    expect(decided(r.judgements).map((j: Json) => j.verdict)).toEqual(['fail', 'fail']);
    expect(r.reason).toMatch(/error rate 1 above max_error_rate 0.01/);
    expect((await admin(sy, 'GET', '/services/svc')).json).toMatchObject({ host: 'blue', traffic: { blue: 100 } });
    // Green's own 500s reached clients only during the 10% step: blue answered everything else.
    expect(result.byUpstream.get('blue')).toBeGreaterThan(result.byUpstream.get('green') ?? 0);
  });

  it('aborts at once under load with zero errors; conflicting calls get 409', async () => {
    const sy = await start();
    const load = startLoad(sy.proxy, { concurrency: 8, maxMs: 20_000, maxRequests: 200_000 });
    await load.sentAtLeast(100);
    await admin(sy, 'POST', '/services/svc/rollout', { to: 'green', steps: [50, 100], interval: '1h' });
    expect((await admin(sy, 'POST', '/services/svc/rollout', { to: 'green' })).status).toBe(409);
    const patch = await admin(sy, 'PATCH', '/services/svc', { host: 'green' });
    expect(patch.status).toBe(409);
    expect(patch.json.message).toMatch(/abort it, or send "force": true/);
    await load.sentAtLeast(300);
    const abort = await admin(sy, 'POST', '/services/svc/rollout/abort');
    expect(abort.json).toMatchObject({ state: 'aborted', split: { blue: 100, green: 0 } });
    const afterAbort = await startLoad(sy.proxy, { concurrency: 4, maxRequests: 200 }).done();
    expect(afterAbort.byUpstream.get('green') ?? 0).toBe(0);
    expect(afterAbort.byUpstream.get('blue')).toBe(200);
    await load.sentAtLeast(300);
    const result = await load.stop();
    expect(failures(result)).toBe(0);
    expect(result.byUpstream.get('green')).toBeGreaterThan(0); // the 50% step did send traffic to green
    expect((await admin(sy, 'POST', '/services/svc/rollout/resume')).status).toBe(409);
  });

  it('forces a switch over a running rollout, and rolls a switch back in one call', async () => {
    const sy = await start();
    await admin(sy, 'POST', '/services/svc/rollout', { to: 'green', interval: '1h' });
    const forced = await admin(sy, 'PATCH', '/services/svc', { host: 'green', force: true });
    expect(forced.status).toBe(200);
    expect((await rollout(sy)).state).toBe('aborted');
    expect(forced.json.traffic).toEqual({ green: 100 });
    const back = await admin(sy, 'POST', '/services/svc/rollback');
    expect(back.status).toBe(200);
    expect((await admin(sy, 'GET', '/services/svc')).json.traffic).toEqual({ blue: 100 });
  });

  it('refuses a forced switch or rollout that would not validate without aborting the running rollout', async () => {
    const sy = await start();
    await admin(sy, 'POST', '/services/svc/rollout', { to: 'green', interval: '1h' });
    const typo = await admin(sy, 'PATCH', '/services/svc', { host: 'gren', force: true });
    expect(typo.status).toBe(400);
    expect(typo.json).toMatchObject({ name: 'schema violation', fields: { host: expect.stringMatching(/unknown upstream "gren".*give its port too/) } });
    const badTo = await admin(sy, 'POST', '/services/svc/rollout', { to: 'purple', force: 'true' });
    expect(badTo.status).toBe(400);
    expect(badTo.json.fields).toEqual({ to: expect.stringMatching(/unknown upstream "purple"/) });
    expect(await rollout(sy)).toMatchObject({ state: 'running', to: 'green' });
  });

  it('holds at a manual gate until promoted', async () => {
    const sy = await start();
    const load = startLoad(sy.proxy, { concurrency: 4, maxMs: 20_000, maxRequests: 200_000 });
    await admin(sy, 'POST', '/services/svc/rollout', { to: 'green', ...fast, steps: [20, 100], gate: 'manual' });
    await waitFor(async () => (await rollout(sy)).state === 'paused', 10_000, 'the gate');
    expect(await rollout(sy)).toMatchObject({ split: { blue: 80, green: 20 }, reason: expect.stringMatching(/gate: manual/) });
    expect((await admin(sy, 'POST', '/services/svc/rollout/promote')).json.state).toBe('succeeded');
    expect(failures(await load.stop())).toBe(0);
    expect((await admin(sy, 'GET', '/services/svc')).json.host).toBe('green');
  });

  it('pauses for a person when there is too little traffic to judge', async () => {
    const sy = await start();
    await admin(sy, 'POST', '/services/svc/rollout', { to: 'green', steps: [10, 100], interval: '100ms', max_inconclusive: 2 });
    await waitFor(async () => (await rollout(sy)).state === 'paused', 10_000, 'the pause');
    const r = await rollout(sy);
    expect(r.judgements.map((j: Json) => j.verdict)).toEqual(['inconclusive', 'inconclusive']);
    expect(r.split).toEqual({ blue: 90, green: 10 });
  });

  it('sends override requests to green before any split, and keeps cookie-sticky clients on their colour', async () => {
    const sy = await start({
      overrides: [{ header: 'x-switchyard-upstream', value: 'green', upstream: 'green' }],
      sticky: { cookie: 'sy_bucket' },
    });
    const colour = async (headers: Record<string, string> = {}) => {
      const res = await request(`${sy.proxy}/`, { headers });
      return { colour: ((await res.body.json()) as Json).upstream, cookie: res.headers['set-cookie'] as string | undefined };
    };
    expect((await colour({ 'x-switchyard-upstream': 'green' })).colour).toBe('green');
    const first = await colour();
    expect(first.colour).toBe('blue');
    expect(first.cookie).toMatch(/^sy_bucket=\d+; Path=\/; HttpOnly; SameSite=Lax$/);
    await admin(sy, 'POST', '/services/svc/rollout', { to: 'green', steps: [50, 100], interval: '1h' });
    // Cookies at either end of the bucket range land on either side of a 50% split, every time.
    for (let i = 0; i < 5; i++) {
      expect((await colour({ cookie: 'sy_bucket=100' })).colour).toBe('blue');
      expect((await colour({ cookie: 'sy_bucket=9900' })).colour).toBe('green');
    }
    expect((await colour({ cookie: 'sy_bucket=100' })).cookie).toBeUndefined();
  });
});
