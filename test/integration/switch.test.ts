import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from 'undici';
import { closeDemoUpstreams, startDemoUpstream, type DemoUpstream } from '../../src/demo/upstreams.js';
import { blueGreenYaml, startSwitchyard, type Running } from '../helpers/switchyard.js';

/** One logged request: when it was sent, and which colour answered. */
interface Sample {
  sentAt: number;
  doneAt: number;
  status: number;
  colour: string;
  error?: string;
}

describe('instant switch under load', () => {
  let upstreams: DemoUpstream[];
  let sy: Running;

  beforeAll(async () => {
    upstreams = await Promise.all([startDemoUpstream('blue'), startDemoUpstream('blue'), startDemoUpstream('green'), startDemoUpstream('green')]);
    const [b1, b2, g1, g2] = upstreams.map((u) => u.address);
    sy = await startSwitchyard(blueGreenYaml({ blue: [b1, b2], green: [g1, g2] }));
  });
  afterAll(async () => {
    await sy.close();
    await closeDemoUpstreams(upstreams);
  });

  it('sends every request that starts after the switch returns to the new colour, with no errors', async () => {
    const client = new Pool(sy.proxy, { connections: 32 });
    const admin = new Pool(sy.admin, { connections: 1 });
    const samples: Sample[] = [];
    let stop = false;
    const started = performance.now();

    // 24 concurrent clients, each bounded by count and time, so the load always ends.
    const loop = async () => {
      for (let i = 0; i < 5_000 && !stop && performance.now() - started < 20_000; i++) {
        const sentAt = performance.now();
        try {
          const res = await client.request({ path: '/', method: 'GET' });
          await res.body.dump();
          samples.push({ sentAt, doneAt: performance.now(), status: res.statusCode, colour: String(res.headers['x-upstream']) });
        } catch (err) {
          samples.push({ sentAt, doneAt: performance.now(), status: 0, colour: '', error: (err as Error).message });
        }
      }
    };
    const loops = Array.from({ length: 24 }, loop);

    // Each switch: wait until some traffic has flowed, flip, and note when the call returned.
    const switches: { colour: string; calledAt: number; returnedAt: number }[] = [];
    const waitForSamples = async (n: number) => {
      const target = samples.length + n;
      while (samples.length < target && performance.now() - started < 20_000) await new Promise((r) => setImmediate(r));
    };
    for (const colour of ['green', 'blue', 'green', 'blue', 'green']) {
      await waitForSamples(300);
      const calledAt = performance.now();
      const res = await admin.request({
        path: '/services/svc',
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ host: colour }),
      });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
      switches.push({ colour, calledAt, returnedAt: performance.now() });
    }
    await waitForSamples(300);
    stop = true;
    await Promise.all(loops);
    await client.close();
    await admin.close();

    expect(samples.filter((s) => s.error !== undefined || s.status !== 200)).toEqual([]);
    // A request sent after switch k returned, and answered before switch k+1 was called,
    // can only have gone to switch k's colour. (Requests around a call may go either way.)
    let checked = 0;
    switches.forEach((sw, k) => {
      const nextCall = switches[k + 1]?.calledAt ?? Infinity;
      const window = samples.filter((s) => s.sentAt >= sw.returnedAt && s.doneAt <= nextCall);
      checked += window.length;
      expect(window.filter((s) => s.colour !== sw.colour)).toEqual([]);
    });
    expect(checked).toBeGreaterThan(1000);
    // The test must have seen both colours in volume for the assertion above to mean anything.
    expect(samples.filter((s) => s.colour === 'green').length).toBeGreaterThan(500);
    expect(samples.filter((s) => s.colour === 'blue').length).toBeGreaterThan(500);
  });
});
