/**
 * The two rollout runs the rollout scenarios share: a gradual rollout to healthy green
 * targets, and one to green targets answering 500 that must roll back. Each starts its own
 * upstreams and switchyard, runs the rollout client child, and stops everything.
 */
import { expectUpstream } from './probe.js';
import { CPU, runTask } from './processes.js';
import type { RolloutRun, RolloutTask } from './rollout-process.js';
import type { BenchSettings } from './settings.js';
import { SERVICE, startSwitchyard } from './switchyard.js';
import { startUpstreams, type UpstreamGroup } from './upstreams.js';

export const LOOPS = 32;
const MAX_REQUESTS = 500_000;
const WARMUP_MS = 1000;
const BEFORE_MS = 1000;
const AFTER_MS = 1000;
export const STEPS = [10, 25, 50, 100];
const ANALYSIS = { min_requests: 20, max_error_rate: 0.01, max_p99_ms: 1000 };

/** The accuracy run's plan: `interval` from the settings (default 2 s). */
export function accuracyPlan(s: BenchSettings): Record<string, unknown> {
  return { to: 'green', steps: STEPS, interval: `${s.rolloutIntervalSeconds}s`, analysis: ANALYSIS };
}

/** The rollback run's plan: one failed judgement rolls back. */
export const ROLLBACK_PLAN = { to: 'green', steps: STEPS, interval: '1s', analysis: ANALYSIS, failure_threshold: 1 };

/** How often each run polls GET rollout. */
export const POLL_MS = { accuracy: 50, rollback: 20 };

/** Blue pair (healthy) and green pair (answering `greenStatus`), switchyard on blue, the client child. */
async function runRollout(plan: Record<string, unknown>, greenStatus: number, pollMs: number, maxRolloutMs: number): Promise<RolloutRun> {
  const groups: UpstreamGroup[] = [];
  try {
    groups.push(await startUpstreams(['blue', 'blue']));
    groups.push(await startUpstreams(['green', 'green'], greenStatus));
    const [[b1, b2], [g1, g2]] = groups.map((g) => g.addresses);
    const sy = await startSwitchyard('blue', { blue: [b1, b2], green: [g1, g2] });
    try {
      await expectUpstream(sy.proxyUrl, 'blue');
      const task: RolloutTask = {
        proxyUrl: sy.proxyUrl,
        adminUrl: sy.adminUrl,
        service: SERVICE,
        loops: LOOPS,
        maxRequests: MAX_REQUESTS,
        warmupMs: WARMUP_MS,
        beforeMs: BEFORE_MS,
        afterMs: AFTER_MS,
        maxRolloutMs,
        pollMs,
        plan,
      };
      const run = await runTask<RolloutRun>('rollout-process', task, CPU.load, WARMUP_MS + BEFORE_MS + maxRolloutMs + AFTER_MS + 60_000);
      if (run.post.status !== 201) throw new Error(`POST /services/${SERVICE}/rollout answered ${run.post.status}: ${run.post.body.slice(0, 300)}`);
      return run;
    } finally {
      await sy.stop();
    }
  } finally {
    await Promise.all(groups.map((g) => g.stop()));
  }
}

let accuracy: Promise<RolloutRun> | undefined;

/** The accuracy run; run once per bench process and shared by the accuracy and chart scenarios. */
export function accuracyRun(s: BenchSettings): Promise<RolloutRun> {
  // Each step's interval plus judging slack, and a bound for a rollout that never ends.
  const maxMs = (STEPS.length + 2) * s.rolloutIntervalSeconds * 1000 + 5000;
  accuracy ??= runRollout(accuracyPlan(s), 200, POLL_MS.accuracy, maxMs);
  return accuracy;
}

/** The rollback run: green answers 500, so the first judgement fails and the rollout rolls back. */
export function rollbackRun(): Promise<RolloutRun> {
  return runRollout(ROLLBACK_PLAN, 500, POLL_MS.rollback, 8000);
}
