import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookServer } from '../helpers/hook-server.js';
import { startLoad } from '../helpers/load.js';
import { blueGreenYaml, type Running, startSwitchyard } from '../helpers/switchyard.js';
import { closeAll, startEchoUpstream, type TestUpstream } from '../helpers/upstreams.js';
import { waitFor } from '../helpers/wait.js';

/** A gate on loopback whose answer the test sets: 503 until opened. */
async function gate() {
  let status = 503;
  const server = await startHookServer(() => status);
  return {
    ...server,
    /** The bodies it was sent, with the gate header. */
    get asked() {
      return server.got.map((r): Record<string, unknown> => ({ ...(JSON.parse(r.body) as Record<string, unknown>), header: r.headers['x-switchyard-gate'] }));
    },
    open: () => {
      status = 200;
    },
  };
}

interface View {
  state: string;
  step: number;
  split: Record<string, number>;
  judgements: { step: number; verdict: string; reason: string }[];
}

describe('rollout gates (real webhook servers)', () => {
  let blue: TestUpstream;
  let green: TestUpstream;
  let sy: Running;
  const closers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    blue = await startEchoUpstream('blue');
    green = await startEchoUpstream('green');
  });
  afterAll(async () => {
    await closeAll(closers);
    await closeAll([blue, green]);
  });

  const rollout = async (gates: unknown[], steps: number[]) => {
    sy = await startSwitchyard(blueGreenYaml({ blue: [blue.address], green: [green.address] }));
    closers.push(sy);
    const res = await fetch(`${sy.admin}/services/svc/rollout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'green', steps, interval: 300, analysis: { min_requests: 1 }, max_inconclusive: 50, gates }),
    });
    expect(res.status).toBe(201);
  };
  const view = async () => (await (await fetch(`${sy.admin}/services/svc/rollout`)).json()) as View;

  it('holds a step while its gate answers 503 (inconclusive, never a pass), and moves on once it answers 2xx', async () => {
    const g = await gate();
    closers.push(g);
    await rollout([{ url: g.url }], [50, 100]);
    const load = startLoad(sy.proxy, { concurrency: 2, maxMs: 20_000 });
    try {
      await waitFor(async () => (await view()).judgements.length >= 2, 10_000, 'two held judgements');
      const held = await view();
      expect(held.step).toBe(1);
      expect(held.split).toEqual({ blue: 50, green: 50 });
      expect(
        held.judgements.every((j) => j.verdict === 'inconclusive' && /gate http:\/\/127\.0\.0\.1:\d+\/hook \(before step\) answered 503/.test(j.reason)),
      ).toBe(true);
      expect(g.asked[0]).toMatchObject({ service: 'svc', from: 'blue', to: 'green', step: 1, weight: 50, next_weight: 100, header: 'step' });
      g.open();
      await waitFor(async () => (await view()).state === 'succeeded', 10_000, 'the rollout to finish');
    } finally {
      await load.stop();
    }
  });

  it('asks a promote gate only before the final step', async () => {
    const g = await gate();
    closers.push(g);
    await rollout([{ url: g.url, before: 'promote' }], [20, 60, 100]);
    const load = startLoad(sy.proxy, { concurrency: 2, maxMs: 20_000 });
    try {
      await waitFor(async () => (await view()).judgements.filter((j) => j.step === 2).length >= 2, 10_000, 'step 2 held');
      const v = await view();
      expect(v.judgements[0]).toMatchObject({ step: 1, verdict: 'pass' });
      expect(v.split).toEqual({ blue: 40, green: 60 });
      expect(g.asked.every((a) => a.step === 2 && a.header === 'promote')).toBe(true);
      g.open();
      await waitFor(async () => (await view()).state === 'succeeded', 10_000, 'the promotion');
    } finally {
      await load.stop();
    }
  });

  it('refuses a gate that is not an http(s) URL', async () => {
    sy = await startSwitchyard(blueGreenYaml({ blue: [blue.address], green: [green.address] }));
    closers.push(sy);
    const res = await fetch(`${sy.admin}/services/svc/rollout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'green', gates: [{ url: 'file:///etc/passwd' }] }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/gates\[0\]\.url: expected an http:\/\/ or https:\/\/ URL/);
  });
});
