import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { App } from '../../src/app.js';
import { parseConfig } from '../../src/config/load/parse.js';
import { closeDemoUpstreams, startDemoUpstream, type DemoUpstream } from '../../src/demo/upstreams.js';
import { deadAddress } from '../helpers/dead-address.js';
import { startLoad } from '../helpers/load.js';
import { blueGreenYaml, startSwitchyard, type Running } from '../helpers/switchyard.js';

describe('metrics, status and admin security', () => {
  const open: { close(): Promise<void> }[] = [];
  let demos: DemoUpstream[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
    await closeDemoUpstreams(demos.splice(0));
  });
  const start = async (service: Record<string, unknown> = {}, extraGreen: string[] = []) => {
    demos = await Promise.all([startDemoUpstream('blue'), startDemoUpstream('green')]);
    const sy = await startSwitchyard(blueGreenYaml({ blue: [demos[0].address], green: [demos[1].address, ...extraGreen] }, service));
    open.push(sy);
    return sy;
  };
  const metrics = async (sy: Running) => {
    const res = await request(`${sy.admin}/metrics`);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    return res.body.text();
  };

  it('exports requests, latency, health, split, switches, judgements, errors and Node defaults', async () => {
    const dead = await deadAddress();
    const sy = await start({}, [dead]);
    await startLoad(sy.proxy, { concurrency: 4, maxRequests: 50 }).done();
    await request(`${sy.admin}/services/svc`, { method: 'PATCH', body: 'host=green', headers: { 'content-type': 'application/x-www-form-urlencoded' } }).then(
      (r) => r.body.dump(),
    );
    await startLoad(sy.proxy, { concurrency: 4, maxRequests: 20 }).done();
    const text = await metrics(sy);
    const blue = demos[0].address;
    expect(text).toContain(`switchyard_requests_total{service="svc",upstream="blue",target="${blue}",code="200"} 50`);
    expect(text).toMatch(/switchyard_request_duration_seconds_bucket\{service="svc",upstream="blue",le="\+Inf"\} 50/);
    expect(text).toMatch(/switchyard_request_duration_seconds_count\{service="svc",upstream="green"\} 20/);
    expect(text).toContain(`switchyard_target_health{upstream="blue",target="${blue}",state="healthy"} 1`);
    expect(text).toContain('switchyard_split_weight{service="svc",upstream="green"} 100');
    expect(text).toContain('switchyard_switches_total{service="svc",kind="switch"} 1');
    expect(text).toMatch(/switchyard_config_generation 2/);
    // The dead green target refused connections: counted and retried elsewhere.
    expect(text).toMatch(new RegExp(`switchyard_upstream_errors_total\\{service="svc",upstream="green",target="${dead}",kind="connect"\\} [1-9]`));
    expect(text).toMatch(new RegExp(`switchyard_retries_total\\{service="svc",upstream="green",target="${dead}"\\} [1-9]`));
    expect(text).toMatch(/process_cpu_user_seconds_total/);
    expect(text).toMatch(/switchyard_connections\{listener="127\.0\.0\.1:\d+"\} \d+/);
    await request(`${sy.proxy}/x`, { headers: { host: 'nowhere.example' } }).then((r) => r.body.dump());
  });

  it('counts rollout judgements by verdict and answers 404 to no route with a counted error', async () => {
    const sy = await startSwitchyard(`
services: [{ name: svc, host: blue, routes: [{ paths: ["/api"] }] }]
upstreams: [{ name: blue, targets: [{ target: "127.0.0.1:1" }] }, { name: green, targets: [{ target: "127.0.0.1:2" }] }]
`);
    open.push(sy);
    await request(`${sy.proxy}/elsewhere`).then((r) => r.body.dump());
    await request(`${sy.admin}/services/svc/rollout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'green', steps: [10, 100], interval: '60ms', max_inconclusive: 1 }),
    }).then((r) => r.body.dump());
    let text = '';
    for (let i = 0; i < 200 && !text.includes('verdict="inconclusive"'); i++) {
      text = await metrics(sy);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(text).toContain('switchyard_rollout_judgements_total{service="svc",verdict="inconclusive"} 1');
    expect(text).toContain('switchyard_requests_total{service="",upstream="",target="",code="404"} 1');
  });

  it('turns per-request metrics off with metrics.enabled: false', async () => {
    const parsed = parseConfig('proxy: { listen: ["127.0.0.1:0"] }\nadmin: { listen: "127.0.0.1:0" }\nmetrics: { enabled: false }\n', 't.yaml');
    if (!parsed.ok) throw new Error('bad config');
    const app = await App.start({ config: parsed.config });
    open.push(app);
    const res = await request(`http://${app.adminAddress}/metrics`);
    expect(res.statusCode).toBe(404);
    expect(((await res.body.json()) as { message: string }).message).toMatch(/metrics are off/);
  });

  it('requires the bearer token on every admin call when one is set', async () => {
    const sy = await startSwitchyard('admin:\n  listen: "127.0.0.1:0"\n  token: ${TOKEN}\nproxy:\n  listen: ["127.0.0.1:0"]\n', { TOKEN: 's3cret' });
    open.push(sy);
    for (const [path, auth] of [
      ['/status', undefined],
      ['/metrics', 'Bearer wrong'],
      ['/services', 's3cret'],
      ['/config', 'Bearer s3cret2'],
    ] as const) {
      const res = await request(`${sy.admin}${path}`, { headers: auth ? { authorization: auth } : {} });
      expect(res.statusCode).toBe(401);
      expect(((await res.body.json()) as { message: string }).message).toMatch(/Authorization: Bearer/);
    }
    // The scheme is case-insensitive (RFC 9110 11.1).
    for (const scheme of ['bearer', 'BEARER']) {
      const res = await request(`${sy.admin}/status`, { headers: { authorization: `${scheme} s3cret` } });
      await res.body.dump();
      expect(res.statusCode).toBe(200);
    }
    const ok = await request(`${sy.admin}/status`, { headers: { authorization: 'Bearer s3cret' } });
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
  });

  it('refuses to expose the admin API beyond loopback without a token, saying how to fix it', async () => {
    const parsed = parseConfig('admin: { listen: "0.0.0.0:0" }\nproxy: { listen: ["127.0.0.1:0"] }\n', 't.yaml');
    if (!parsed.ok) throw new Error('bad config');
    await expect(App.start({ config: parsed.config })).rejects.toThrow(/refusing to expose the admin API on 0\.0\.0\.0:0 without a token: set admin\.token/);
  });

  it('logs every admin change with what changed and who asked, and no line per proxied request', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    demos = await Promise.all([startDemoUpstream('blue'), startDemoUpstream('green')]);
    const text = `proxy: { listen: ["127.0.0.1:0"] }\nadmin: { listen: "127.0.0.1:0" }\n${blueGreenYaml({ blue: [demos[0].address], green: [demos[1].address] })}`;
    const parsed = parseConfig(text, 't.yaml');
    if (!parsed.ok) throw new Error('bad config');
    const app = await App.start({ config: parsed.config, log: pino({ level: 'info' }, sink) });
    open.push(app);
    const before = lines.length;
    await startLoad(`http://${app.proxyAddresses[0]}`, { concurrency: 4, maxRequests: 100 }).done();
    expect(lines.length).toBe(before);
    await request(`http://${app.adminAddress}/services/svc`, {
      method: 'PATCH',
      body: '{"host":"green"}',
      headers: { 'content-type': 'application/json' },
    }).then((r) => r.body.dump());
    const change = lines.find((l) => l.msg === 'service switch');
    expect(change).toMatchObject({ service: 'svc', by: '127.0.0.1', detail: '{"host":"green"}', traffic: { green: 100 } });
  });
});
