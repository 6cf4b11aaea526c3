/**
 * Child entry: the target-kill run. Runs the request-logging client (noting which target
 * answered), SIGKILLs one target's process on schedule and polls the upstream's health until
 * that target shows as UNHEALTHY, all on one clock (this process's performance.now), so the
 * kill, the answers and the health polls are directly comparable.
 * Task: a TargetKillTask; answers `result` with a TargetKillRun.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { AdminClient, type TimedCall } from './admin-client.js';
import { readTask, runChild, send } from './ipc.js';
import { clientPool, createLog, runColourLoops, trimLog, type ColourLog, type LoopControl } from './switch-client.js';

/** What the parent asks for. */
export interface TargetKillTask {
  proxyUrl: string;
  adminUrl: string;
  upstream: string;
  /** The upstream's targets in config order; the log names them by 1 + index. */
  targets: string[];
  /** Index in `targets` of the target to kill, and the pid of the process serving it alone. */
  victim: number;
  victimPid: number;
  loops: number;
  /** Upper bound on requests (the log's capacity). */
  maxRequests: number;
  /** Unlogged load first, so connection set-up to both targets is done before the log starts. */
  warmupMs: number;
  /** Load before the kill, and after it. */
  beforeMs: number;
  afterMs: number;
  /** Health poll interval after the kill. */
  pollMs: number;
}

/** One health poll: when it ran (ms on the run's clock) and the killed target's health in it. */
export interface HealthPoll {
  startMs: number;
  endMs: number;
  status: number;
  /** Kong's word ("HEALTHY", "UNHEALTHY", …); null when the answer did not list the target. */
  health: string | null;
}

/** Everything the run logged. */
export interface TargetKillRun {
  log: ColourLog;
  /** When SIGKILL was sent. */
  killMs: number;
  /** One poll just before the kill, then the polls after it, until UNHEALTHY or the load's end. */
  polls: HealthPoll[];
}

/** Sleep until `atMs` on the run's clock (no-op if already past). */
function sleepUntil(origin: number, atMs: number): Promise<void> {
  return sleep(Math.max(0, atMs - (performance.now() - origin)));
}

/** The health of `target` in a `GET /upstreams/{u}/health` answer (`{"data":[{target, health}]}`). */
function healthOf(call: TimedCall, target: string): string | null {
  if (call.status !== 200) return null;
  try {
    const { data } = JSON.parse(call.body) as { data?: { target?: string; health?: string }[] };
    return data?.find((t) => t.target === target)?.health ?? null;
  } catch {
    return null;
  }
}

/** One timed health poll for the victim. */
async function poll(admin: AdminClient, task: TargetKillTask): Promise<HealthPoll> {
  const call = await admin.upstreamHealth(task.upstream);
  return { startMs: call.startMs, endMs: call.endMs, status: call.status, health: healthOf(call, task.targets[task.victim]) };
}

/** Kill on schedule, end the load `afterMs` later, and poll every `pollMs` until ejection or then. */
async function killAndWatch(task: TargetKillTask, admin: AdminClient, control: LoopControl): Promise<Omit<TargetKillRun, 'log'>> {
  const polls: HealthPoll[] = [];
  const now = (): number => performance.now() - control.origin;
  let killMs = NaN;
  try {
    await sleepUntil(control.origin, task.beforeMs);
    polls.push(await poll(admin, task));
    killMs = now();
    process.kill(task.victimPid, 'SIGKILL');
    control.deadlineMs = killMs + task.afterMs;
    const maxPolls = Math.ceil(task.afterMs / task.pollMs) + 1;
    for (let i = 0; i < maxPolls && now() < control.deadlineMs; i++) {
      await sleepUntil(control.origin, killMs + i * task.pollMs);
      const p = await poll(admin, task);
      polls.push(p);
      if (p.health === 'UNHEALTHY') break;
    }
  } finally {
    // Failed before the kill: stop the load soon rather than at the far-off safety bound.
    if (Number.isNaN(killMs)) control.deadlineMs = now();
  }
  return { killMs, polls };
}

runChild(async () => {
  const task = readTask<TargetKillTask>();
  const pool = clientPool(task.proxyUrl, task.loops);
  await runColourLoops(pool, task.loops, createLog(task.maxRequests), { origin: performance.now(), deadlineMs: task.warmupMs });
  const origin = performance.now();
  const admin = new AdminClient(task.adminUrl, origin);
  await admin.warm();
  // killAndWatch moves the deadline; this bound only matters if a poll hangs before the kill.
  const control: LoopControl = { origin, deadlineMs: task.beforeMs + task.afterMs + 15_000 };
  const log = createLog(task.maxRequests);
  const loops = runColourLoops(pool, task.loops, log, control, task.targets);
  const watched = await killAndWatch(task, admin, control).finally(() => loops);
  await loops;
  await admin.close();
  await pool.close();
  send({ type: 'result', result: { log: trimLog(log), ...watched } satisfies TargetKillRun });
});
