/**
 * SPEC 7, hot reload: switchyard started from a config file that the bench then rewrites,
 * toggling the service's host, by rename (as editors do) and in place, alternately. How long
 * from the write finishing to the new generation in GET /status (goal: under 200 ms each
 * time)? Does a burst of writes apply once? Is a broken file refused, and the next one taken?
 */
import { expectUpstream } from './probe.js';
import { CPU, runTask } from './processes.js';
import type { BrokenResult, BurstResult, ChangeResult, ReloadRun, ReloadTask, WriteMode } from './reload-process.js';
import { ms, num, table, type Goal, type ScenarioReport } from './report.js';
import { median, type Scenario } from './scenario.js';
import type { BenchSettings } from './settings.js';
import { percentile } from './switch-analysis.js';
import { startSwitchyard } from './switchyard.js';
import { startUpstreams } from './upstreams.js';

const LIMIT_MS = 200;
const TIMEOUT_MS = 2000;
const POLL_MS = 2;
const GOAL_LATENCY = `hot reload: every file change applied within ${LIMIT_MS} ms of the write`;
const GOAL_BURST = 'hot reload: 5 writes 10 ms apart apply once (generation +1)';
const GOAL_BROKEN = 'hot reload: a broken file is refused (status warn, same generation), the next valid one applies';

/** Blue and green demo upstreams, switchyard on blue, the reload child. */
async function runReloads(s: BenchSettings): Promise<ReloadRun> {
  const upstreams = await startUpstreams(['blue', 'green']);
  try {
    const [blue, green] = upstreams.addresses;
    const sy = await startSwitchyard('blue', { blue: [blue], green: [green] });
    try {
      await expectUpstream(sy.proxyUrl, 'blue');
      const task: ReloadTask = {
        adminUrl: sy.adminUrl,
        proxyUrl: sy.proxyUrl,
        configFile: sy.configFile,
        texts: { blue: sy.yamlFor('blue'), green: sy.yamlFor('green') },
        initialHost: 'blue',
        iterations: s.reloadIterations,
        pollMs: POLL_MS,
        timeoutMs: TIMEOUT_MS,
        gapMs: 100,
        maxMisses: 2,
      };
      return await runTask<ReloadRun>('reload-process', task, CPU.load, s.reloadIterations * (TIMEOUT_MS + 500) + 20_000);
    } finally {
      await sy.stop();
    }
  } finally {
    await upstreams.stop();
  }
}

const late = (c: ChangeResult): boolean => c.appliedMs === null || c.appliedMs >= LIMIT_MS;
const applied = (list: ChangeResult[]): number[] => list.flatMap((c) => (c.appliedMs === null ? [] : [c.appliedMs]));

/** One row of the latency table: a write mode, or all changes. */
function latencyRow(label: string, list: ChangeResult[]): string[] {
  const times = applied(list);
  const confirmed = list.filter((c) => c.confirmColour === c.to).length;
  const stat = (v: number): string => (times.length > 0 ? ms(v) : '–');
  const extra = list.filter((c) => c.appliedMs !== null && c.generationDelta !== 1).length;
  return [
    label,
    num(list.length),
    `${num(times.length)}${times.length < list.length ? ` (${list.length - times.length} not within ${TIMEOUT_MS / 1000} s)` : ''}`,
    stat(median(times)),
    stat(percentile(times, 0.9)),
    stat(Math.max(...times)),
    num(list.filter(late).length),
    `${num(confirmed)} of ${num(times.length)}`,
    num(extra),
  ];
}

/** A burst's outcome in words. */
function burstText(b: BurstResult | null): string {
  if (b === null) return 'not run: no single change was applied';
  if (b.appliedMs === null) return `not applied within ${TIMEOUT_MS / 1000} s`;
  const seen = b.seen.map((x) => `${x.generation} seen at ${ms(x.atMs)} ms`).join(', ');
  const writes = b.writesAtMs.map((t) => t.toFixed(1)).join(', ');
  return `generation +${b.generationDelta}, applied ${ms(b.appliedMs)} ms after the last write (writes done at ${writes} ms; new generation ${seen}); proxied request answered by ${b.confirmColour ?? '–'} (expected ${b.to})`;
}

/** The broken file's outcome in words. */
function brokenText(b: BrokenResult | null): string[] {
  if (b === null) return ['not run: no single change was applied', 'not run'];
  const warn =
    b.warnMs !== null ? `status "warn" after ${ms(b.warnMs)} ms` : `status never "warn" within ${TIMEOUT_MS / 1000} s (last: "${b.statusWhileBroken ?? '–'}")`;
  const v = b.valid;
  const valid =
    v.appliedMs === null
      ? `not applied within ${TIMEOUT_MS / 1000} s`
      : `applied ${ms(v.appliedMs)} ms after the write (generation +${v.generationDelta}), status then "${v.statusWord ?? '–'}", answered by ${v.confirmColour ?? '–'} (expected ${v.to})`;
  return [`${warn}; generation +${b.generationDelta} while it was on disk (${TIMEOUT_MS / 1000} s bound + 300 ms)`, valid];
}

function lines(run: ReloadRun): string[] {
  const byMode = (m: WriteMode): ChangeResult[] => run.changes.filter((c) => c.mode === m);
  const headers = ['write', 'changes', 'applied', 'median ms', 'p90 ms', 'max ms', `≥ ${LIMIT_MS} ms or not applied`, 'new colour answered', 'generation ≠ +1'];
  const rows = [latencyRow('rename over', byMode('rename')), latencyRow('in place', byMode('in-place')), latencyRow('all', run.changes)];
  const [brokenLine, validLine] = brokenText(run.broken);
  return [
    ...table(headers, rows),
    '',
    `Each change toggles the service's host (blue ↔ green) in the config file, alternately written to a temp file and renamed over it, or rewritten in place; ${run.changes.length} done` +
      (run.skipped > 0 ? `, ${run.skipped} skipped after ${run.changes.length} in a row were not applied` : '') +
      '. ' +
      `Time from the write finishing (rename or close returned) to the first GET /status answer (polled every ${POLL_MS} ms on a kept-alive connection) showing a higher generation; ` +
      'then one proxied request on a fresh connection checks the colour. No load runs meanwhile.',
    '',
    ...table(
      ['check', 'result'],
      [
        ['burst: 5 writes 10 ms apart', burstText(run.burst)],
        ['broken file (YAML syntax error)', brokenLine ?? ''],
        ['valid file after it', validLine ?? ''],
      ],
    ),
  ];
}

function goals(run: ReloadRun): Goal[] {
  const times = applied(run.changes);
  const all = run.changes.length > 0 && times.length === run.changes.length;
  const latency: Goal = {
    text: GOAL_LATENCY,
    actual:
      times.length === 0
        ? `none applied within ${TIMEOUT_MS / 1000} s`
        : `max ${ms(Math.max(...times))} ms; ${times.length} of ${run.changes.length + run.skipped} applied`,
    met: all && run.skipped === 0 && !run.changes.some(late),
  };
  const b = run.burst;
  const burst: Goal = {
    text: GOAL_BURST,
    actual: b === null ? 'not run' : b.appliedMs === null ? 'not applied' : `+${b.generationDelta}`,
    met: b !== null && b.appliedMs !== null && b.generationDelta === 1,
  };
  const k = run.broken;
  const refused = k !== null && k.warnMs !== null && k.generationDelta === 0;
  const brokenGoal: Goal = {
    text: GOAL_BROKEN,
    actual:
      k === null
        ? 'not run'
        : `${k.warnMs !== null ? 'warn' : `status ${k.statusWhileBroken ?? '–'}`}, generation +${k.generationDelta}; valid one ${k.valid.appliedMs !== null ? 'applied' : 'not applied'}`,
    met: refused && k.valid.appliedMs !== null && k.valid.confirmColour === k.valid.to,
  };
  return [latency, burst, brokenGoal];
}

/** The reload-latency scenario. */
export const reloadLatency: Scenario = {
  id: 'reload-latency',
  title: 'Hot reload latency (SPEC 7)',
  goals: [GOAL_LATENCY, GOAL_BURST, GOAL_BROKEN],
  async run(s): Promise<ScenarioReport> {
    const run = await runReloads(s);
    const times = applied(run.changes);
    console.log(`  ${times.length} of ${run.changes.length + run.skipped} changes applied` + (times.length > 0 ? `, max ${ms(Math.max(...times))} ms` : ''));
    return { id: this.id, title: this.title, lines: lines(run), goals: goals(run), data: run };
  },
};
