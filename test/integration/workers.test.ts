import http2 from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { closeDemoUpstreams, type DemoUpstream, startDemoUpstream } from '../../src/demo/upstreams.js';
import { type StartedCli, startCli } from '../helpers/cli-process.js';
import { deadAddress } from '../helpers/dead-address.js';
import { failures, startLoad } from '../helpers/load.js';
import { blueGreenYaml } from '../helpers/switchyard.js';
import { waitFor } from '../helpers/wait.js';

type Json = Record<string, any>;

/** A new connection per request, so that every worker gets some (each connection goes to one worker). */
const fresh = new Agent({ pipelining: 0 });

describe('proxy workers (switchyard start --workers 2)', () => {
  let sy: StartedCli | undefined;
  let demos: DemoUpstream[] = [];
  afterEach(async () => {
    if (sy) expect(await sy.stop()).toBe(0);
    sy = undefined;
    await closeDemoUpstreams(demos.splice(0));
  });

  const start = async (service: Record<string, unknown> = {}) => {
    demos = await Promise.all([startDemoUpstream('blue'), startDemoUpstream('green')]);
    sy = await startCli(blueGreenYaml({ blue: [demos[0].address], green: [demos[1].address] }, service), ['--workers', '2']);
    return sy;
  };
  const admin = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> => {
    const res = await request(`${sy?.admin}${path}`, {
      method: method as 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.statusCode, json: (await res.body.json()) as Json };
  };
  const workers = async (): Promise<Json[]> => (await admin('GET', '/status')).json.details.workers;
  /** The requests answered 200 that /metrics counts, summed over its series. */
  const answered200 = async (): Promise<number> => {
    const text = await (await request(`${sy?.admin}/metrics`)).body.text();
    return [...text.matchAll(/^switchyard_requests_total\{[^}]*code="200"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };
  /** Requests in tens, each on a new connection, until every worker has served some; how many were sent. */
  const untilEveryWorkerServed = async (): Promise<number> => {
    let sent = 0;
    await waitFor(
      async () => {
        sent += (await send(10)).length;
        return (await workers()).every((w) => w.requests > 0);
      },
      15_000,
      'both workers to serve requests',
    );
    return sent;
  };
  /** `n` requests, each on a new connection; the upstream colour of each answer. */
  const send = async (n: number): Promise<string[]> => {
    const colours: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await request(`${sy?.proxy}/`, { dispatcher: fresh });
      expect(res.statusCode).toBe(200);
      colours.push(String(res.headers['x-upstream']));
      await res.body.dump();
    }
    return colours;
  };

  it('starts N workers that all serve the listener, and lists them in /status', async () => {
    await start();
    const listed = await workers();
    expect(listed.map((w) => [w.slot, w.state, w.generation])).toEqual([
      [1, 'serving', 1],
      [2, 'serving', 1],
    ]);
    expect(new Set(listed.map((w) => w.pid)).size).toBe(2);
    // Connections are spread over the workers: within a bounded number, each has served some.
    await untilEveryWorkerServed();
  });

  it('acks a switch only once every worker serves it: no request started after the ack reaches the old colour', async () => {
    await start();
    const load = startLoad(sy!.proxy, { concurrency: 8, maxMs: 20_000, maxRequests: 100_000 });
    await load.sentAtLeast(200);
    const patched = await admin('PATCH', '/services/svc', { host: 'green' });
    expect(patched.status).toBe(200);
    expect(patched.json.warnings).toBeUndefined();
    // Requests sent from now on (new connections and kept-alive ones on both workers) all go to green.
    const after = await send(40);
    await load.sentAtLeast(500);
    const result = await load.stop();
    expect(after.every((c) => c === 'green')).toBe(true);
    expect(failures(result)).toBe(0);
    const status = (await admin('GET', '/status')).json.details;
    expect(status.workers.map((w: Json) => w.generation)).toEqual([2, 2]);
    expect(status.last_change).toMatchObject({ generation: 2, confirmed: 2 });
    expect(status.last_change.spread_ms).toBeGreaterThanOrEqual(0);
  });

  it('restarts a killed worker; only requests in flight on it fail', async () => {
    await start();
    const [first] = await workers();
    const load = startLoad(sy!.proxy, { concurrency: 4, maxMs: 30_000, maxRequests: 200_000 });
    await load.sentAtLeast(200);
    // A scrape before the kill: the killed worker's counts stay in the sums after it.
    const counted = await answered200();
    expect(counted).toBeGreaterThan(0);
    process.kill(first.pid, 'SIGKILL');
    await waitFor(
      async () => {
        const w = (await workers())[0];
        return w.state === 'serving' && w.pid !== first.pid && w.restarts === 1;
      },
      15_000,
      'the worker to be restarted',
    );
    const before = load.result.errors.length;
    await load.sentAtLeast(300);
    const result = await load.stop();
    // Only what the killed worker held fails: per client connection the request in flight on it and,
    // with reuseport, a reconnect that landed in its listening socket's queue as it died.
    expect(failures(result)).toBeLessThanOrEqual(2 * 4);
    expect([...result.statuses.keys()]).toEqual([200]);
    expect(result.errors.length).toBe(before);
    expect(sy!.logs.some((l) => l.msg === 'proxy worker died: restarting it' && l.signal === 'SIGKILL')).toBe(true);
    // Summed counters never go back (Prometheus would read a reset): the new worker starts from 0.
    expect(await answered200()).toBeGreaterThanOrEqual(counted + 300 - 2 * 4);
  });

  it('serves HTTP/2 (h2c, proxy.http2) from every worker', async () => {
    demos = await Promise.all([startDemoUpstream('blue'), startDemoUpstream('green')]);
    const head = 'proxy:\n  listen: ["127.0.0.1:0"]\n  http2: true\nadmin:\n  listen: "127.0.0.1:0"\n';
    sy = await startCli(head + blueGreenYaml({ blue: [demos[0].address], green: [demos[1].address] }), ['--workers', '2']);
    const origin = sy.proxy;
    // One request per new HTTP/2 connection, until each worker has served some.
    const h2get = () =>
      new Promise<number>((resolve, reject) => {
        const session = http2.connect(origin);
        session.on('error', reject);
        const stream = session.request({ ':path': '/' });
        stream.on('response', (h) => {
          stream.resume();
          stream.on('end', () => {
            session.close();
            resolve(Number(h[':status']));
          });
        });
        stream.on('error', reject);
        stream.end();
      });
    await waitFor(
      async () => {
        for (let i = 0; i < 10; i++) expect(await h2get()).toBe(200);
        return (await workers()).every((w) => w.requests > 0);
      },
      15_000,
      'both workers to serve HTTP/2 requests',
    );
  });

  it('sums every worker in /metrics', async () => {
    await start();
    const sent = await untilEveryWorkerServed();
    const res = await request(`${sy!.admin}/metrics`);
    const text = await res.body.text();
    const counted = [...text.matchAll(/^switchyard_requests_total\{[^}]*code="200"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(counted).toBe(sent);
    expect(text).toMatch(/^switchyard_config_generation 1$/m);
  });

  it("merges every worker's mirror report, and sums their mirror counts in /metrics", async () => {
    await start({ mirror: { upstream: 'green' } });
    const sent = await untilEveryWorkerServed();
    // The demo colours answer with their own names: every pair differs in its body.
    await waitFor(async () => (await admin('GET', '/services/svc/mirror')).json.totals.compared === sent, 10_000, 'every pair to be compared');
    const report = (await admin('GET', '/services/svc/mirror')).json;
    expect(report.mismatches.body).toBe(sent);
    expect(report.samples.length).toBe(Math.min(sent, 20));
    const text = await (await request(`${sy?.admin}/metrics`)).body.text();
    expect(text).toMatch(new RegExp(`^switchyard_mirror_requests_total\\{service="svc",result="mismatch_body"\\} ${sent}$`, 'm'));
  });

  it('judges a rollout on the traffic of every worker', async () => {
    await start();
    const started = await admin('POST', '/services/svc/rollout', {
      to: 'green',
      steps: [50, 100],
      interval: '3s',
      analysis: { min_requests: 1, max_error_rate: 0.5, max_p99_ms: 5000 },
    });
    expect(started.status).toBe(201);
    const colours = await send(60);
    const sentBy = Date.now();
    const greens = colours.filter((c) => c === 'green').length;
    await waitFor(async () => (await admin('GET', '/services/svc/rollout')).json.judgements.length > 0, 15_000, 'the first judgement');
    const done = (await admin('GET', '/services/svc/rollout')).json;
    // Every request was sent within the first window, so the window counts all green answers, from both workers.
    expect(Date.parse(started.json.next_judgement_at)).toBeGreaterThan(sentBy);
    expect(done.judgements[0].requests).toBe(greens);
    expect((await workers()).every((w) => w.requests > 0)).toBe(true);
  });

  it('answers a change within its bound when a worker cannot confirm it, naming that worker', async () => {
    await start();
    const [, second] = await workers();
    process.kill(second.pid, 'SIGSTOP');
    try {
      const patched = await admin('PATCH', '/services/svc', { host: 'green' });
      expect(patched.status).toBe(200);
      expect(patched.json.warnings).toEqual([`worker 2 (pid ${second.pid}) did not confirm generation 2 within 1000 ms`]);
    } finally {
      process.kill(second.pid, 'SIGCONT');
    }
    // Once it runs again it catches up.
    await waitFor(async () => (await workers())[1].generation === 2, 10_000, 'the stopped worker to catch up');
  });

  it('decides health in the primary from what the workers see, and sends it back to them', async () => {
    demos = await Promise.all([startDemoUpstream('blue'), startDemoUpstream('green')]);
    const dead = await deadAddress();
    const yaml = blueGreenYaml({ blue: [demos[0].address, dead], green: [demos[1].address] }).replace(
      '"name":"blue",',
      '"name":"blue","healthchecks":{"passive":{"unhealthy":{"tcp_failures":1}}},',
    );
    sy = await startCli(yaml, ['--workers', '2']);
    // Connect failures are retried on the live target: every answer is a 200 while the dead one is found out.
    await send(20);
    await waitFor(
      async () => (await admin('GET', '/upstreams/blue/health')).json.data.find((t: Json) => t.target === dead)?.health === 'UNHEALTHY',
      10_000,
      'the dead target to be ejected',
    );
    const logged = sy.logs.filter((l) => l.msg === 'target is unhealthy' && l.target === dead);
    expect(logged).toHaveLength(1);
  });

  it('drains every worker at SIGTERM and exits 0', async () => {
    await start();
    const pids = (await workers()).map((w) => w.pid as number);
    const running = sy!;
    sy = undefined;
    expect(await running.stop()).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });
});
