/**
 * SPEC 10, the fleet: three switchyard processes joined through one redis-server on loopback.
 * Twenty switches (PATCH …?wait=fleet on one instance), idle and again under load on another.
 * For each: the time from the call to each instance's apply (the `at` each instance announces
 * on the fleet's `applied` channel, on the same host clock as the call), the time to the
 * acknowledged answer, and a request to every instance right after the answer (its colour must
 * be the new one). Goal: every instance applied within 20 ms p99 of the call (Kong in database
 * mode polls every 5 s; Traefik throttles provider changes for 2 s).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { AdminClient } from './admin-client.js';
import { reservePort } from './free-port.js';
import type { LoadResult, LoadTask } from './load.js';
import { expectUpstream, probe } from './probe.js';
import { atExit, CPU, runTask } from './processes.js';
import { ms, num, table, type Goal, type ScenarioReport } from './report.js';
import { median, type Scenario } from './scenario.js';
import type { BenchSettings } from './settings.js';
import { percentile } from './switch-analysis.js';
import { type RunningSwitchyard, SERVICE, startSwitchyard } from './switchyard.js';
import { startUpstreams } from './upstreams.js';

const SWITCHES = 20;
const INSTANCES = 3;
const LIMIT_MS = 20;
const FLEET = 'bench';
const GOAL_APPLY = `fleet: every instance applied each switch within ${LIMIT_MS} ms p99 of the call (3 instances, ${SWITCHES} switches)`;
const GOAL_OLD = 'fleet: no instance serves the old colour once the ?wait=fleet answer is in; every instance confirms';

/** One switch as measured. */
interface FleetSwitch {
  readonly to: string;
  /** Call → each instance's apply, ms (null: no announcement heard). */
  readonly applyMs: (number | null)[];
  /** Call → the whole answer. */
  readonly ackMs: number;
  readonly serverMs: number | undefined;
  readonly status: number;
  /** Instances answering with the old colour right after the answer. */
  readonly oldAfterAck: number;
}

interface FleetRun {
  readonly idle: FleetSwitch[];
  readonly loaded: FleetSwitch[];
  readonly load: LoadResult | null;
}

/** A redis-server of the bench's own on a free loopback port, without persistence. */
async function startRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await reservePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const forget = atExit(() => child.kill('SIGKILL'));
  const failed = new Promise<never>((_, reject) =>
    child.once('error', (err) => reject(new Error(`redis-server could not start (${err.message}): install it (apt-get install redis-server)`))),
  );
  const url = `redis://127.0.0.1:${port}`;
  const ready = (async () => {
    for (let i = 0; i < 100; i++) {
      const c = createClient({ url, socket: { reconnectStrategy: false } });
      c.on('error', () => undefined);
      try {
        await c.connect();
        await c.ping();
        await c.close();
        return;
      } catch {
        await sleep(50);
      }
    }
    throw new Error('redis-server did not answer within 5 s');
  })();
  await Promise.race([ready, failed]);
  return {
    url,
    stop: async () => {
      forget();
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** Switch `count` times through `admin`, alternating colours, measuring each as described above. */
async function switches(admin: AdminClient, instances: RunningSwitchyard[], heard: Map<number, Map<string, number>>, count: number): Promise<FleetSwitch[]> {
  const out: FleetSwitch[] = [];
  let colour = 'blue';
  for (let i = 0; i < count; i++) {
    colour = colour === 'blue' ? 'green' : 'blue';
    const callAt = Date.now();
    const call = await admin.patchServiceFleetWide(SERVICE, { host: colour });
    const probes = await Promise.all(instances.map((s) => probe(s.proxyUrl)));
    let version = 0;
    try {
      version = (JSON.parse(call.body) as { fleet?: { version?: number } }).fleet?.version ?? 0;
    } catch {
      version = 0;
    }
    const times = heard.get(version) ?? new Map<string, number>();
    out.push({
      to: colour,
      applyMs: instances.map((_, k) => {
        const at = times.get(`i${k + 1}`);
        return at === undefined ? null : Math.max(0, at - callAt);
      }),
      ackMs: call.endMs - call.startMs,
      serverMs: call.serverMs,
      status: call.status,
      oldAfterAck: probes.filter((p) => p.upstream !== colour).length,
    });
    // Apart, so that one switch's announcements and write-backs do not overlap the next call.
    await sleep(100);
  }
  return out;
}

async function runFleet(s: BenchSettings): Promise<FleetRun> {
  const redis = await startRedis();
  const upstreams = await startUpstreams(['blue', 'green']);
  const running: RunningSwitchyard[] = [];
  const sub = createClient({ url: redis.url });
  sub.on('error', () => undefined);
  try {
    const [blue, green] = upstreams.addresses;
    // One after another: the first seeds the fleet, the others join it. Each may use both CPUs.
    for (let k = 1; k <= INSTANCES; k++) {
      running.push(
        await startSwitchyard('blue', { blue: [blue], green: [green] }, { fleet: { redis: redis.url, name: FLEET, instance: `i${k}` }, cpus: '0-1' }),
      );
    }
    for (const sy of running) await expectUpstream(sy.proxyUrl, 'blue');
    // Each instance announces the version it applied, with when (its Date.now(), this host's clock).
    const heard = new Map<number, Map<string, number>>();
    await sub.connect();
    await sub.subscribe(`switchyard:{${FLEET}}:applied`, (message) => {
      const m = JSON.parse(message) as { id: string; version: number; at: number };
      let v = heard.get(m.version);
      if (!v) heard.set(m.version, (v = new Map()));
      if (!v.has(m.id)) v.set(m.id, m.at);
    });
    const origin = performance.now();
    const admin = new AdminClient(running[1].adminUrl, origin);
    await admin.warm();
    const idle = await switches(admin, running, heard, SWITCHES);
    // Under load: autocannon on the first instance, pinned beside the upstreams, while the second is switched.
    const seconds = Math.max(8, s.switchPhaseSeconds * 2 + 6);
    const task: LoadTask = { url: running[0].proxyUrl, connections: 10, pipelining: 1, seconds, warmupSeconds: 0 };
    const loadRun = runTask<LoadResult>('load-process', task, CPU.load, (seconds + 20) * 1000);
    await sleep(1000);
    const loaded = await switches(admin, running, heard, SWITCHES);
    const load = await loadRun.catch(() => null);
    await admin.close();
    return { idle, loaded, load };
  } finally {
    await sub.close().catch(() => undefined);
    for (const sy of running) await sy.stop();
    await upstreams.stop();
    await redis.stop();
  }
}

const applies = (list: FleetSwitch[]): number[] => list.flatMap((sw) => sw.applyMs.filter((t): t is number => t !== null));
const missing = (list: FleetSwitch[]): number => list.reduce((n, sw) => n + sw.applyMs.filter((t) => t === null).length + (sw.status === 200 ? 0 : 1), 0);

function row(label: string, list: FleetSwitch[]): string[] {
  const a = applies(list);
  const acks = list.map((sw) => sw.ackMs);
  const server = list.flatMap((sw) => (sw.serverMs === undefined ? [] : [sw.serverMs]));
  return [
    label,
    num(list.length),
    ms(median(a)),
    ms(percentile(a, 0.99)),
    ms(Math.max(...a)),
    ms(median(acks)),
    ms(percentile(acks, 0.99)),
    ms(Math.max(...acks)),
    server.length > 0 ? ms(median(server)) : '–',
    num(list.reduce((n, sw) => n + sw.oldAfterAck, 0)),
    num(missing(list)),
  ];
}

function lines(run: FleetRun): string[] {
  const load = run.load;
  return [
    ...table(
      [
        'phase',
        'switches',
        'apply p50 ms',
        'apply p99 ms',
        'apply max ms',
        'answer p50 ms',
        'answer p99 ms',
        'answer max ms',
        'server-side p50 ms',
        'old colour after answer',
        'not confirmed',
      ],
      [row('idle', run.idle), row('under load', run.loaded), row('all', [...run.idle, ...run.loaded])],
    ),
    '',
    `${INSTANCES} switchyard processes (each may use both CPUs) joined as one fleet through a redis-server on loopback; each switch is PATCH /services/${SERVICE}?wait=fleet on the second instance. ` +
      "Apply: from the call to each instance's announcement of the new version (its own clock, the same host's), over all instances; answer: call to the whole acknowledged answer. " +
      'After each answer one request on a fresh connection to every instance checks its colour. ' +
      (load
        ? `Under load: autocannon, 10 connections, on the first instance: ${num(load.reqPerSec)} req/s, ${num(load.errors + load.timeouts + load.non2xx)} errors or non-2xx.`
        : 'Under load: the load run failed.'),
  ];
}

function goals(run: FleetRun): Goal[] {
  const all = [...run.idle, ...run.loaded];
  const a = applies(all);
  const p99 = percentile(a, 0.99);
  const old = all.reduce((n, sw) => n + sw.oldAfterAck, 0);
  const lost = missing(all);
  return [
    {
      text: GOAL_APPLY,
      actual: `p99 ${ms(p99)} ms, max ${ms(Math.max(...a))} ms over ${a.length} applies`,
      met: a.length === all.length * INSTANCES && p99 <= LIMIT_MS,
    },
    { text: GOAL_OLD, actual: `${old} old-colour answers, ${lost} not confirmed`, met: old === 0 && lost === 0 },
  ];
}

/** The fleet scenario. */
export const fleet: Scenario = {
  id: 'fleet',
  title: 'A fleet switched as one (SPEC 10)',
  goals: [GOAL_APPLY, GOAL_OLD],
  async run(s): Promise<ScenarioReport> {
    const run = await runFleet(s);
    const a = applies([...run.idle, ...run.loaded]);
    console.log(`  ${a.length} applies, p99 ${ms(percentile(a, 0.99))} ms`);
    return { id: this.id, title: this.title, lines: lines(run), goals: goals(run), data: run };
  },
};
