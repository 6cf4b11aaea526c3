/**
 * Soak: a long run with changes all the way through — 1 M requests (BENCH_SOAK_REQUESTS)
 * while switchyard is switched between blue and green every second and its config file is
 * edited (a real hot reload) every 5 s. The questions: does any request fail, does memory
 * stay flat, and do file descriptors come back to where they started.
 */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'undici';
import type { LoadResult, LoadTask } from './load.js';
import { expectUpstream } from './probe.js';
import { CPU, runTask } from './processes.js';
import { num, table, type Goal, type ScenarioReport } from './report.js';
import type { Scenario } from './scenario.js';
import type { BenchSettings } from './settings.js';
import { SERVICE, startSwitchyard } from './switchyard.js';
import { startUpstreams } from './upstreams.js';

const CONNECTIONS = 50;
const SWITCH_EVERY_MS = 1000;
const RELOAD_EVERY = 5; // switches
const GOAL_ERRORS = 'soak: no errors, timeouts or non-2xx over the whole run';
const GOAL_RSS = 'soak: RSS flat after warm-up (every sample after the first third within ±10% of their median)';
const GOAL_FDS = 'soak: open file descriptors back to the baseline after the load';
const GOAL_CHANGES = 'soak: every switch answered 200 and every file edit applied';

/** One sample of the switchyard process. */
interface Sample {
  atSeconds: number;
  rssMb: number;
  fds: number;
  /** V8 heap in use, from switchyard's own /metrics: flat when nothing leaks, whatever RSS does. */
  heapUsedMb?: number;
}

/** Resident set size (MB) and open fds of a process, from /proc; undefined off Linux. */
function sample(pid: number, startedAt: number): Sample | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
    return { atSeconds: (Date.now() - startedAt) / 1000, rssMb: rssKb / 1024, fds: fs.readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

/** What the soak measured. */
interface SoakRun {
  load: LoadResult;
  switches: number;
  switchFailures: number;
  reloads: number;
  generationBefore: number;
  generationAfter: number;
  samples: Sample[];
  fdsBefore: number;
  fdsAfter: number;
}

async function heapUsed(admin: Client): Promise<number | undefined> {
  const { body } = await admin.request({ path: '/metrics', method: 'GET' });
  const m = /^nodejs_heap_size_used_bytes (\S+)/m.exec(await body.text());
  return m ? Number(m[1]) / 1024 / 1024 : undefined;
}

async function generation(admin: Client): Promise<number> {
  const { body } = await admin.request({ path: '/status', method: 'GET' });
  return ((await body.json()) as { details: { generation: number } }).details.generation;
}

async function runSoak(requests: number): Promise<SoakRun> {
  const upstreams = await startUpstreams(['blue', 'green']);
  try {
    const [blue, green] = upstreams.addresses;
    const sy = await startSwitchyard('blue', { blue: [blue], green: [green] });
    const admin = new Client(sy.adminUrl);
    try {
      await expectUpstream(sy.proxyUrl, 'blue');
      const pid = sy.pid ?? 0;
      const startedAt = Date.now();
      const fdsBefore = sample(pid, startedAt)?.fds ?? Number.NaN;
      const generationBefore = await generation(admin);
      const task: LoadTask = { url: sy.proxyUrl, connections: CONNECTIONS, pipelining: 1, seconds: 3600, warmupSeconds: 0, amount: requests };
      let running = true;
      const load = runTask<LoadResult>('load-process', task, CPU.load, 3_600_000).finally(() => {
        running = false;
      });
      const samples: Sample[] = [];
      let switches = 0;
      let switchFailures = 0;
      let reloads = 0;
      // One loop makes every change in turn, so a file edit never races a write-back of a switch.
      while (running) {
        await sleep(SWITCH_EVERY_MS);
        if (!running) break;
        const host = switches % 2 === 0 ? 'green' : 'blue';
        const res = await admin.request({
          path: `/services/${SERVICE}`,
          method: 'PATCH',
          body: JSON.stringify({ host }),
          headers: { 'content-type': 'application/json' },
        });
        await res.body.dump();
        switches++;
        if (res.statusCode !== 200) switchFailures++;
        if (switches % RELOAD_EVERY === 0) {
          // A hand edit: the same config with a new comment, applied as a reload.
          const text = fs.readFileSync(sy.configFile, 'utf8').replace(/\n# soak edit \d+\n$/, '\n');
          fs.writeFileSync(sy.configFile, `${text}# soak edit ${reloads}\n`);
          reloads++;
        }
        const s = sample(pid, startedAt);
        if (s) samples.push({ ...s, heapUsedMb: await heapUsed(admin) });
      }
      const result = await load;
      // Client connections close when the load ends; idle upstream connections expire after
      // the keep-alive timeout (4 s): wait for both, at most 20 s.
      let fdsAfter = Number.NaN;
      for (let i = 0; i < 200; i++) {
        fdsAfter = sample(pid, startedAt)?.fds ?? Number.NaN;
        if (fdsAfter <= fdsBefore) break;
        await sleep(100);
      }
      const generationAfter = await generation(admin);
      return { load: result, switches, switchFailures, reloads, generationBefore, generationAfter, samples, fdsBefore, fdsAfter };
    } finally {
      await admin.close();
      await sy.stop();
    }
  } finally {
    await upstreams.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? Number.NaN;
}

export const soak: Scenario = {
  id: 'soak',
  title: 'Soak: 1 M requests with a switch every second and a reload every 5 s',
  goals: [GOAL_ERRORS, GOAL_RSS, GOAL_FDS, GOAL_CHANGES],
  async run(s: BenchSettings): Promise<ScenarioReport> {
    const run = await runSoak(s.soakRequests);
    const l = run.load;
    // Warm-up: the first third of the run. Under this load V8 grows its heap in steps to a
    // plateau (heap used stays flat, see the table) during the first ~30 s; after that RSS is what it keeps.
    const steady = run.samples.slice(Math.ceil(run.samples.length / 3));
    const rss = steady.map((x) => x.rssMb);
    const mid = median(rss);
    const spread = rss.length > 0 ? Math.max(...rss.map((r) => Math.abs(r - mid) / mid)) : Number.NaN;
    // Every switch is a generation, and so is every file edit (a comment changes the text, not the config).
    const expectedGenerations = run.switches + run.reloads;
    const applied = run.generationAfter - run.generationBefore;
    const goals: Goal[] = [
      {
        text: GOAL_ERRORS,
        actual: `${num(l.errors)} errors, ${num(l.timeouts)} timeouts, ${num(l.non2xx)} non-2xx in ${num(l.totalRequests)}`,
        met: l.errors + l.timeouts + l.non2xx === 0 && l.totalRequests >= s.soakRequests,
      },
      { text: GOAL_RSS, actual: Number.isNaN(spread) ? 'not measured' : `±${(spread * 100).toFixed(1)}% around ${mid.toFixed(1)} MB`, met: spread <= 0.1 },
      { text: GOAL_FDS, actual: `${run.fdsBefore} before, ${run.fdsAfter} after`, met: run.fdsAfter <= run.fdsBefore },
      {
        text: GOAL_CHANGES,
        actual: `${run.switches - run.switchFailures}/${run.switches} switches, generation +${applied} of +${expectedGenerations}`,
        met: run.switchFailures === 0 && applied === expectedGenerations,
      },
    ];
    const every = Math.max(1, Math.floor(run.samples.length / 12));
    const rows = run.samples
      .filter((_, i) => i % every === 0 || i === run.samples.length - 1)
      .map((x) => [x.atSeconds.toFixed(0), x.rssMb.toFixed(1), x.heapUsedMb === undefined ? '–' : x.heapUsedMb.toFixed(1), String(x.fds)]);
    const lines = [
      `${num(l.totalRequests)} requests in ${l.seconds.toFixed(0)} s (${num(l.reqPerSec)} req/s, ${CONNECTIONS} connections): ${num(l.errors)} errors, ${num(l.timeouts)} timeouts, ${num(l.non2xx)} non-2xx; p50 ${l.p50Ms.toFixed(2)} ms, p99 ${l.p99Ms.toFixed(2)} ms.`,
      `${run.switches} switches (${run.switchFailures} refused), ${run.reloads} file edits; generation ${run.generationBefore} → ${run.generationAfter}.`,
      `RSS after warm-up: median ${mid.toFixed(1)} MB, largest deviation ±${(spread * 100).toFixed(1)}%. File descriptors: ${run.fdsBefore} before the load, ${run.fdsAfter} after it.`,
      '',
      ...table(['s', 'RSS MB', 'heap used MB', 'fds'], rows),
    ];
    return { id: 'soak', title: this.title, lines, goals, data: { ...run, rssMedianMb: mid, rssSpread: spread } };
  },
};
