/**
 * 1,000 keep-alive clients: switchyard (one process on the forwarder CPU) beside the bare
 * undici forwarder, unbounded and with a 128-connection pool, against an origin that is not
 * the bottleneck (nginx when installed). wrk on the load CPU drives 50 and then 1,000
 * connections; then switchyard serves 1,000 clients for about a million requests while its
 * RSS is sampled.
 */
import { spawnSync } from 'node:child_process';
import { bareUndici, bareUndici128, type Forwarder, switchyard } from './forwarders.js';
import { sampleRss } from './memory.js';
import { startOrigin } from './origin.js';
import { expectUpstream } from './probe.js';
import { CPU } from './processes.js';
import { ms, num, ratio, table, type Goal, type ScenarioReport } from './report.js';
import type { Scenario } from './scenario.js';
import type { BenchSettings } from './settings.js';
import { hasWrk, runWrk, type WrkResult } from './wrk.js';

const MANY = 1000;
const FEW = 50;
const SOAK_REQUESTS = 1_000_000;
const MB = 1024 * 1024;

const GOALS = {
  rate: `switchyard at ${MANY} clients ≥ 0.85× its own rate at ${FEW}`,
  clean: `switchyard at ${MANY} clients: 0 errors, 0 timeouts, 0 non-2xx`,
  p99: `switchyard p99 at ${MANY} clients ≤ bare undici's`,
  rss: `switchyard RSS ≤ 100 MB at ${MANY} clients`,
  flat: `switchyard RSS flat over ${num(SOAK_REQUESTS)} requests (last ≤ 1.1× the value a quarter in)`,
};

/** One forwarder's runs at both concurrencies. */
interface Row {
  forwarder: Forwarder;
  few: WrkResult;
  many: WrkResult;
  /** Established connections from the forwarder to the origin at the end of the many-clients run. */
  upstreamConnections: number;
  rssMaxBytes: number;
}

/** Established TCP connections to `address` ("127.0.0.1:PORT"), counted with ss (0 where it is missing). */
function connectionsTo(address: string): number {
  const port = address.slice(address.lastIndexOf(':') + 1);
  const out = spawnSync('ss', ['-Htn', 'state', 'established', 'dst', `127.0.0.1:${port}`], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.split('\n').filter((l) => l.trim() !== '').length : 0;
}

async function measure(forwarder: Forwarder, origin: string, s: BenchSettings): Promise<Row> {
  const running = await forwarder.start(origin);
  try {
    await expectUpstream(running.url, 'blue');
    await runWrk(`${running.url}/`, FEW, s.warmupSeconds, CPU.load);
    const few = await runWrk(`${running.url}/`, FEW, s.seconds, CPU.load);
    const pid = running.pid;
    const rss = sampleRss(() => (pid ? [pid] : []), 250);
    let upstreamConnections = 0;
    const counting = setTimeout(
      () => {
        upstreamConnections = connectionsTo(origin);
      },
      (s.seconds * 1000) / 2,
    );
    const many = await runWrk(`${running.url}/`, MANY, s.seconds, CPU.load);
    clearTimeout(counting);
    const samples = rss.stop();
    return { forwarder, few, many, upstreamConnections, rssMaxBytes: Math.max(0, ...samples) };
  } finally {
    await running.stop();
  }
}

/** switchyard at 1,000 clients for about SOAK_REQUESTS requests, RSS sampled every second. */
async function soakRss(origin: string, rate: number): Promise<{ seconds: number; result: WrkResult; samples: number[] }> {
  const running = await switchyard.start(origin);
  try {
    await expectUpstream(running.url, 'blue');
    const seconds = Math.max(10, Math.ceil(SOAK_REQUESTS / Math.max(rate, 1)) + 2);
    const pid = running.pid;
    const rss = sampleRss(() => (pid ? [pid] : []), 1000);
    const result = await runWrk(`${running.url}/`, MANY, seconds, CPU.load);
    return { seconds, result, samples: rss.stop() };
  } finally {
    await running.stop();
  }
}

function errorsOf(r: WrkResult): number {
  return r.connectErrors + r.readErrors + r.writeErrors + r.timeouts + r.non2xx;
}

function row(r: Row): string[] {
  const m = r.many;
  return [
    r.forwarder.label,
    num(r.few.reqPerSec),
    num(m.reqPerSec),
    ratio(m.reqPerSec / r.few.reqPerSec),
    ms(r.few.p99Ms),
    ms(m.p50Ms),
    ms(m.p99Ms),
    `${num(m.timeouts)} / ${num(m.connectErrors + m.readErrors + m.writeErrors)} / ${num(m.non2xx)}`,
    num(r.upstreamConnections),
    r.rssMaxBytes > 0 ? num(r.rssMaxBytes / MB) : '–',
  ];
}

export const manyClients: Scenario = {
  id: 'many-clients',
  title: `${num(MANY)} keep-alive clients`,
  goals: Object.values(GOALS),
  async run(s): Promise<ScenarioReport> {
    if (!hasWrk()) throw new Error('wrk is not installed (apt-get install wrk): autocannon cannot drive 1,000 connections from one core');
    const origin = await startOrigin();
    try {
      const rows: Row[] = [];
      for (const f of [switchyard, bareUndici, bareUndici128]) rows.push(await measure(f, origin.address, s));
      const sy = rows[0];
      const soak = await soakRss(origin.address, sy.many.reqPerSec);
      const quarter = soak.samples[Math.floor(soak.samples.length / 4)] ?? 0;
      const last = soak.samples.at(-1) ?? 0;
      const rssMax = Math.max(sy.rssMaxBytes, ...soak.samples);
      const lines = [
        ...table(
          [
            'forwarder',
            `req/s at ${FEW}`,
            `req/s at ${MANY}`,
            `${MANY} / ${FEW}`,
            `p99 ms at ${FEW}`,
            `p50 ms at ${MANY}`,
            `p99 ms at ${MANY}`,
            'timeouts / socket errors / non-2xx',
            'connections to origin',
            'RSS max MB',
          ],
          rows.map(row),
        ),
        '',
        `Origin: ${origin.kind === 'nginx' ? 'nginx, one worker on the load CPU' : 'the Node demo upstream on the load CPU (nginx is not installed: at 1,000 clients the origin may be the bottleneck)'}. wrk -t1 on the load CPU, ${s.seconds} s per run after a ${s.warmupSeconds} s warm-up at ${FEW}; a timeout is a request wrk saw no answer to within 2 s. Connections to origin: established sockets from the forwarder to the origin halfway through the ${MANY}-client run.`,
        `RSS over ${num(soak.result.requests)} requests at ${MANY} clients (${soak.seconds} s, ${num(soak.result.reqPerSec)} req/s, ${num(soak.result.timeouts)} timeouts): ${soak.samples.map((b) => num(b / MB)).join(', ')} MB, one sample a second.`,
      ];
      const goals: Goal[] = [
        { text: GOALS.rate, actual: ratio(sy.many.reqPerSec / sy.few.reqPerSec), met: sy.many.reqPerSec >= 0.85 * sy.few.reqPerSec },
        { text: GOALS.clean, actual: `${num(sy.many.timeouts)} timeouts, ${num(errorsOf(sy.many) - sy.many.timeouts)} other`, met: errorsOf(sy.many) === 0 },
        { text: GOALS.p99, actual: `${ms(sy.many.p99Ms)} vs ${ms(rows[1].many.p99Ms)} ms`, met: sy.many.p99Ms <= rows[1].many.p99Ms },
        { text: GOALS.rss, actual: `max ${num(rssMax / MB)} MB`, met: rssMax > 0 && rssMax <= 100 * MB },
        { text: GOALS.flat, actual: `${num(quarter / MB)} → ${num(last / MB)} MB`, met: quarter > 0 && last <= 1.1 * quarter },
      ];
      return {
        id: 'many-clients',
        title: this.title,
        lines,
        goals,
        data: { origin: origin.kind, rows: rows.map((r) => ({ ...r, forwarder: r.forwarder.id })), soak },
      };
    } finally {
      await origin.stop();
    }
  },
};
