import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoad } from '../helpers/load.js';
import { startPrometheus, type TestPrometheus } from '../helpers/prometheus.js';
import { blueGreenYaml, type Running, startSwitchyard } from '../helpers/switchyard.js';
import { closeAll, startEchoUpstream, type TestUpstream } from '../helpers/upstreams.js';
import { waitFor } from '../helpers/wait.js';

interface View {
  state: string;
  judgements: { step: number; verdict: string; reason: string; metrics?: Record<string, number | null> }[];
}

/** Rollouts judged on PromQL over series a real Prometheus scraped from switchyard itself. */
describe('rollout analysis from Prometheus', () => {
  let blue: TestUpstream;
  let green: TestUpstream;
  let sy: Running;
  let prom: TestPrometheus;

  beforeAll(async () => {
    blue = await startEchoUpstream('blue');
    green = await startEchoUpstream('green');
    sy = await startSwitchyard(blueGreenYaml({ blue: [blue.address], green: [green.address] }));
    prom = await startPrometheus([sy.admin.replace('http://', '')]);
  }, 40_000);
  afterAll(async () => {
    await prom?.stop();
    await sy?.close();
    await closeAll([blue, green]);
  });

  const rollout = async (metrics: unknown[], extra: Record<string, unknown> = {}) => {
    const res = await fetch(`${sy.admin}/services/svc/rollout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'green', steps: [50, 100], interval: 1500, analysis: { min_requests: 1, metrics }, max_inconclusive: 20, ...extra }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
  };
  const view = async () => (await (await fetch(`${sy.admin}/services/svc/rollout`)).json()) as View;
  const reset = async () => {
    await fetch(`${sy.admin}/services/svc`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"host":"blue","force":true}' });
  };

  it('passes a step whose query is within bounds, and shows the value', async () => {
    const load = startLoad(sy.proxy, { concurrency: 2, maxMs: 30_000 });
    try {
      // The new upstream's share as Prometheus scraped it: 50 during the step.
      await rollout([
        { name: 'green_share', prometheus: prom.url, query: 'max(switchyard_split_weight{service="{{service}}",upstream="{{upstream}}"})', max: 100 },
      ]);
      await waitFor(async () => (await view()).state === 'succeeded', 20_000, 'the rollout to pass on Prometheus');
      const passed = (await view()).judgements.find((j) => j.verdict === 'pass');
      expect(passed?.metrics?.green_share).toEqual(expect.any(Number));
      expect(passed?.reason).toMatch(/green_share [\d.]+ within bounds/);
    } finally {
      await load.stop();
      await reset();
    }
  });

  it('fails (and rolls back) on a value out of bounds', async () => {
    const load = startLoad(sy.proxy, { concurrency: 2, maxMs: 30_000 });
    try {
      await rollout([{ name: 'requests', prometheus: prom.url, query: 'sum(switchyard_requests_total{service="{{service}}"})', max: 1 }], {
        failure_threshold: 1,
      });
      await waitFor(async () => (await view()).state === 'rolled_back', 20_000, 'the rollback');
      const failed = (await view()).judgements.find((j) => j.verdict === 'fail');
      expect(failed?.reason).toMatch(/requests \d+ above max 1/);
    } finally {
      await load.stop();
      await reset();
    }
  });

  it('is inconclusive, never a pass or a fail, on a bad query, an empty result or a dead Prometheus', async () => {
    const load = startLoad(sy.proxy, { concurrency: 2, maxMs: 30_000 });
    try {
      await rollout([
        { name: 'broken', prometheus: prom.url, query: 'sum(rate(', max: 1 },
        { name: 'empty', prometheus: prom.url, query: 'switchyard_no_such_metric', max: 1 },
        { name: 'dead', prometheus: 'http://127.0.0.1:9', query: 'up', max: 1 },
      ]);
      await waitFor(async () => (await view()).judgements.length >= 1, 20_000, 'a judgement');
      const [j] = (await view()).judgements;
      expect(j.verdict).toBe('inconclusive');
      expect(j.reason).toMatch(/broken: query failed/);
      expect(j.reason).toMatch(/empty: no data/);
      expect(j.reason).toMatch(/dead: Prometheus could not be asked/);
      expect(j.metrics).toEqual({ broken: null, empty: null, dead: null });
      expect((await view()).state).toBe('running');
    } finally {
      await load.stop();
      await reset();
    }
  });
});
