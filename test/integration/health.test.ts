import type { Config } from '../../src/config/schema/config-schema.js';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { failures, startLoad } from '../helpers/load.js';
import { startSwitchyard, type Running } from '../helpers/switchyard.js';
import { closeAll, startUpstream, type TestUpstream } from '../helpers/upstreams.js';
import { waitFor } from '../helpers/wait.js';

/** An upstream whose answer the test controls: 200 by default, with `x-upstream: NAME`. */
async function controlled(name: string) {
  const state = { status: 200, body: '{"status":"pass"}' };
  const up = await startUpstream((_req, res) => {
    res.writeHead(state.status, { 'content-type': 'application/json', 'x-upstream': name });
    res.end(state.body);
  });
  return Object.assign(up, { state });
}

const yaml = (targets: Record<string, TestUpstream[]>, healthchecks: string, service = '{ name: s, host: u, routes: [{ paths: ["/"] }] }') => `
services: [${service}]
upstreams:
${Object.entries(targets)
  .map(
    ([name, list]) => `  - name: ${name}
    targets: [${list.map((t) => `{ target: "${t.address}" }`).join(', ')}]
    healthchecks: ${healthchecks}`,
  )
  .join('\n')}
`;

describe('health checks', () => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await closeAll(open.splice(0).reverse());
  });
  const start = async (text: string): Promise<Running> => {
    const sy = await startSwitchyard(text);
    open.push(sy);
    return sy;
  };
  const ups = async (...names: string[]) => {
    const list = await Promise.all(names.map(controlled));
    open.push(...list);
    return list;
  };
  const health = async (sy: Running, upstream = 'u') => {
    const res = await request(`${sy.admin}/upstreams/${upstream}/health`);
    const body = (await res.body.json()) as { data: { target: string; health: string; weight: number }[] };
    return Object.fromEntries(body.data.map((t) => [t.target, t.health]));
  };

  it('ejects a target that stops listening within interval × tcp_failures (+ one interval)', async () => {
    const [a, b] = await ups('a', 'b');
    const sy = await start(yaml({ u: [a, b] }, '{ active: { type: tcp, healthy: { interval: 0.2 }, unhealthy: { interval: 0.2, tcp_failures: 2 } } }'));
    expect(await health(sy)).toEqual({ [a.address]: 'HEALTHY', [b.address]: 'HEALTHY' });
    const killedAt = Date.now();
    await b.close();
    await waitFor(async () => (await health(sy))[b.address] === 'UNHEALTHY', 5_000, 'b to be ejected');
    const elapsed = Date.now() - killedAt;
    expect(elapsed).toBeLessThan(0.2 * 2 * 1000 + 200 + 500); // bound plus scheduling slack on a loaded machine
    expect((await health(sy))[a.address]).toBe('HEALTHY');
  });

  it('ejects a target answering 500s after http_failures, and readmits it after healthy.successes', async () => {
    const [a, b] = await ups('a', 'b');
    const sy = await start(
      yaml({ u: [a, b] }, '{ active: { http_path: /health, healthy: { interval: 0.1, successes: 2 }, unhealthy: { interval: 0.1, http_failures: 3 } } }'),
    );
    b.state.status = 500;
    await waitFor(async () => (await health(sy))[b.address] === 'UNHEALTHY', 5_000, 'b to be ejected');
    const before = b.hits;
    const result = await startLoad(sy.proxy, { concurrency: 4, maxRequests: 200 }).done();
    expect(result.byUpstream.get('a')).toBe(200);
    // Only probes reached b while it was out of rotation.
    b.state.status = 200;
    await waitFor(async () => (await health(sy))[b.address] === 'HEALTHY', 5_000, 'b to come back');
    expect(b.hits - before).toBeGreaterThanOrEqual(2);
    const again = await startLoad(sy.proxy, { concurrency: 4, maxRequests: 200 }).done();
    expect(again.byUpstream.get('b')).toBeGreaterThan(0);
  });

  it('judges a Tyk-style probe by its JSON body: 200 with "status": "fail" is a failure', async () => {
    const [a, b] = await ups('a', 'b');
    const sy = await start(
      yaml(
        { u: [a, b] },
        '{ active: { http_path: /hello, expect: { json: { status: pass } }, healthy: { interval: 0.1, successes: 1 }, unhealthy: { interval: 0.1, http_failures: 1 } } }',
      ),
    );
    b.state.body = '{"status":"fail","details":{}}';
    await waitFor(async () => (await health(sy))[b.address] === 'UNHEALTHY', 5_000, 'b to be ejected');
    b.state.body = '{"status":"pass"}';
    await waitFor(async () => (await health(sy))[b.address] === 'HEALTHY', 5_000, 'b to come back');
  });

  it("probes another port than the target's when active.port is set (Kong's status listener)", async () => {
    const [a, status] = await ups('a', 'status');
    status.state.status = 503; // the node is draining: its status listener says so, its proxy port still answers
    const statusPort = status.address.split(':')[1];
    const sy = await start(
      yaml(
        { u: [a] },
        `{ active: { http_path: /status/ready, port: ${statusPort}, healthy: { interval: 0.1 }, unhealthy: { interval: 0.1, http_failures: 1 } } }`,
      ),
    );
    await waitFor(async () => (await health(sy))[a.address] === 'UNHEALTHY', 5_000, 'a to be ejected by its status port');
    expect(status.hits).toBeGreaterThan(0);
  });

  it('with one of three targets killed under load: zero client errors with retries, some without', async () => {
    for (const retries of [5, 0]) {
      const [a, b, c] = await ups('a', 'b', 'c');
      const service = `{ name: s, host: u, retries: ${retries}, routes: [{ paths: ["/"] }] }`;
      const sy = await start(
        yaml(
          { u: [a, b, c] },
          '{ active: { type: tcp, healthy: { interval: 0.5 }, unhealthy: { interval: 0.5, tcp_failures: 2 } }, passive: { unhealthy: { tcp_failures: 1 } } }',
          service,
        ),
      );
      const load = startLoad(sy.proxy, { concurrency: 8, maxRequests: 20_000, maxMs: 15_000 });
      await load.sentAtLeast(300);
      await c.close();
      await waitFor(async () => (await health(sy))[c.address] === 'UNHEALTHY', 5_000, 'c to be ejected');
      await load.sentAtLeast(300);
      const result = await load.stop();
      const failed = failures(result);
      console.log(`retries=${retries}: ${result.sent} requests, ${failed} failed while a target died`);
      if (retries > 0) expect(failed).toBe(0);
      else expect(failed).toBeGreaterThan(0);
    }
  });

  it('answers 503 naming the upstream when every target is down', async () => {
    const [a] = await ups('a');
    const sy = await start(yaml({ u: [a] }, '{ active: { type: tcp, healthy: { interval: 0.1 }, unhealthy: { interval: 0.1, tcp_failures: 1 } } }'));
    await a.close();
    await waitFor(async () => (await health(sy))[a.address] === 'UNHEALTHY', 5_000, 'a to be ejected');
    const res = await request(`${sy.proxy}/`);
    expect(res.statusCode).toBe(503);
    expect(await res.body.json()).toEqual({ message: 'No healthy upstream', code: 'NO_HEALTHY_TARGET' });
  });

  it('fails over from green to blue during a split when green has no healthy target', async () => {
    const [blue, green] = await ups('blue', 'green');
    const service = '{ name: s, host: blue, split: { blue: 50, green: 50 }, routes: [{ paths: ["/"] }] }';
    const sy = await start(
      yaml(
        { blue: [blue], green: [green] },
        '{ active: { type: tcp, healthy: { interval: 0.1 }, unhealthy: { interval: 0.1, tcp_failures: 1 } }, passive: { unhealthy: { tcp_failures: 1 } } }',
        service,
      ),
    );
    const load = startLoad(sy.proxy, { concurrency: 8, maxRequests: 20_000, maxMs: 15_000 });
    await load.sentAtLeast(200);
    await green.close();
    await waitFor(async () => (await health(sy, 'green'))[green.address] === 'UNHEALTHY', 5_000, 'green to be ejected');
    await load.sentAtLeast(400);
    const result = await load.stop();
    expect(failures(result)).toBe(0);
    expect(result.byUpstream.get('green')).toBeGreaterThan(0);
    expect(result.byUpstream.get('blue')).toBeGreaterThan(result.byUpstream.get('green')!);
  });

  it('never fails over to an upstream that only an override names', async () => {
    const [blue, green] = await ups('blue', 'green');
    const service = '{ name: s, host: blue, overrides: [{ header: x-canary, value: "1", upstream: green }], routes: [{ paths: ["/"] }] }';
    const sy = await start(yaml({ blue: [blue], green: [green] }, '{}', service));
    await request(`${sy.admin}/upstreams/blue/targets/${blue.address}/unhealthy`, { method: 'POST' });
    const res = await request(`${sy.proxy}/`);
    expect(res.statusCode).toBe(503);
    expect(await res.body.json()).toEqual({ message: 'No healthy upstream', code: 'NO_HEALTHY_TARGET' });
    expect(green.hits).toBe(0);
    expect((await request(`${sy.proxy}/`, { headers: { 'x-canary': '1' } })).statusCode).toBe(200);
  });

  it('takes manual marks (POST and PUT, 204), keeps them across a reload, and starts a re-added target afresh', async () => {
    const [a, b] = await ups('a', 'b');
    const text = yaml({ u: [a, b] }, '{}');
    const sy = await start(text);
    expect(await health(sy)).toEqual({ [a.address]: 'HEALTHCHECKS_OFF', [b.address]: 'HEALTHCHECKS_OFF' });
    const mark = (target: string, state: string, method = 'POST') =>
      request(`${sy.admin}/upstreams/u/targets/${encodeURIComponent(target)}/${state}`, { method: method as 'POST' });
    expect((await mark(b.address, 'unhealthy')).statusCode).toBe(204);
    expect((await health(sy))[b.address]).toBe('UNHEALTHY');
    const r1 = await startLoad(sy.proxy, { concurrency: 4, maxRequests: 100 }).done();
    expect(r1.byUpstream.get('a')).toBe(100);

    // A reload with the target unchanged keeps its state.
    const config = sy.app.state.current.config;
    const reload = (next: Config) => sy.app.pipeline.apply({ kind: 'config', config: next }, { via: 'file', by: 'test' });
    reload(config);
    expect((await health(sy))[b.address]).toBe('UNHEALTHY');
    // Removed and re-added: it comes back fresh, not stuck.
    reload({ ...config, upstreams: [{ ...config.upstreams[0], targets: [config.upstreams[0].targets[0]] }] });
    reload(config);
    expect((await health(sy))[b.address]).toBe('HEALTHCHECKS_OFF');

    expect((await mark(a.address, 'unhealthy', 'PUT')).statusCode).toBe(204);
    expect((await mark(a.address, 'healthy', 'PUT')).statusCode).toBe(204);
    expect((await health(sy))[a.address]).toBe('HEALTHY');
    const missing = await mark('10.9.9.9:1', 'healthy');
    expect(missing.statusCode).toBe(404);
    expect(((await missing.body.json()) as { message: string }).message).toMatch(/not found in upstream u/);
  });
});
