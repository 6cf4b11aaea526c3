/**
 * Child entry: a gradual rollout under load. Runs the colour-logging client, starts the
 * rollout through the admin API, polls it until it ends, then fetches the service's history;
 * all on one clock (this process's performance.now), with the wall-clock time of the log's
 * origin so that the server's ISO timestamps can be placed on that clock too.
 * Task: a RolloutTask; answers `result` with a RolloutRun.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { AdminClient, type TimedCall } from './admin-client.js';
import { readTask, runChild, send } from './ipc.js';
import { clientPool, createLog, runColourLoops, trimLog, type ColourLog, type LoopControl } from './switch-client.js';

/** What the parent asks for. */
export interface RolloutTask {
  proxyUrl: string;
  adminUrl: string;
  service: string;
  loops: number;
  /** Upper bound on requests (the log's capacity). */
  maxRequests: number;
  /** Unlogged load first, so JIT warm-up and connection set-up are done. */
  warmupMs: number;
  /** Logged load before the rollout starts, and after a poll has seen it end. */
  beforeMs: number;
  afterMs: number;
  /** Stop polling (and the load) if the rollout has not ended by then. */
  maxRolloutMs: number;
  pollMs: number;
  /** The `POST /services/{service}/rollout` body. */
  plan: Record<string, unknown>;
}

/** The fields of `GET /services/{name}/rollout` the bench reads. */
export interface RolloutView {
  state: string;
  step: number;
  steps: number[];
  split: Record<string, number>;
  reason: string | null;
  started_at: string | null;
  ended_at: string | null;
  judgements: {
    at: string;
    step: number;
    weight: number;
    verdict: string;
    requests: number;
    errors: number;
    error_rate: number;
    p99_ms: number | null;
    reason: string;
  }[];
}

/** One poll of the rollout: when it ran (ms on the run's clock) and what it showed. */
export interface RolloutPoll {
  startMs: number;
  endMs: number;
  status: number;
  state: string | null;
  step: number | null;
  /** Percent on the new upstream in the answer's split. */
  toWeight: number | null;
}

/** One entry of `GET /services/{name}/history`. */
export interface HistoryItem {
  at: string;
  event: string;
  traffic: Record<string, number>;
  generation: number;
  by?: string;
  detail?: string;
}

/** Everything the run logged. */
export interface RolloutRun {
  log: ColourLog;
  /** Date.now() at the log's origin (ms since the epoch). */
  wallAtOriginMs: number;
  post: TimedCall;
  polls: RolloutPoll[];
  /** The last rollout view a poll returned; null if none parsed. */
  final: RolloutView | null;
  history: HistoryItem[];
}

const ENDED = new Set(['succeeded', 'rolled_back', 'aborted', 'paused']);

function parse<T>(call: TimedCall): T | null {
  if (call.status !== 200 && call.status !== 201) return null;
  try {
    return JSON.parse(call.body) as T;
  } catch {
    return null;
  }
}

/** Poll every `pollMs` until the rollout is no longer running, or `untilMs`. */
async function pollUntilEnded(
  task: RolloutTask,
  admin: AdminClient,
  origin: number,
  untilMs: number,
): Promise<{ polls: RolloutPoll[]; final: RolloutView | null }> {
  const polls: RolloutPoll[] = [];
  let final: RolloutView | null = null;
  const to = String(task.plan.to);
  for (let next = performance.now() - origin; next < untilMs; next += task.pollMs) {
    await sleep(Math.max(0, next - (performance.now() - origin)));
    const call = await admin.rollout(task.service);
    const view = parse<RolloutView>(call);
    if (view !== null) final = view;
    polls.push({
      startMs: call.startMs,
      endMs: call.endMs,
      status: call.status,
      state: view?.state ?? null,
      step: view?.step ?? null,
      toWeight: view?.split?.[to] ?? null,
    });
    if (view !== null && ENDED.has(view.state)) break;
  }
  return { polls, final };
}

/** Start the rollout on schedule, follow it, and end the load `afterMs` after it ended. */
async function rollOut(task: RolloutTask, admin: AdminClient, control: LoopControl): Promise<Omit<RolloutRun, 'log' | 'wallAtOriginMs'>> {
  const now = (): number => performance.now() - control.origin;
  try {
    await sleep(task.beforeMs);
    const post = await admin.startRollout(task.service, task.plan);
    if (post.status !== 201) return { post, polls: [], final: parse<RolloutView>(post), history: [] };
    const { polls, final } = await pollUntilEnded(task, admin, control.origin, post.endMs + task.maxRolloutMs);
    control.deadlineMs = now() + task.afterMs;
    const history = parse<{ data: HistoryItem[] }>(await admin.history(task.service))?.data ?? [];
    return { post, polls, final, history };
  } finally {
    // Every path ends the load at most `afterMs` from now (failures included).
    control.deadlineMs = Math.min(control.deadlineMs, now() + task.afterMs);
  }
}

runChild(async () => {
  const task = readTask<RolloutTask>();
  const pool = clientPool(task.proxyUrl, task.loops);
  await runColourLoops(pool, task.loops, createLog(task.maxRequests), { origin: performance.now(), deadlineMs: task.warmupMs });
  const origin = performance.now();
  const wallAtOriginMs = Date.now() - (performance.now() - origin);
  const admin = new AdminClient(task.adminUrl, origin);
  await admin.warm();
  // rollOut moves the deadline; this bound only matters if an admin call hangs.
  const control: LoopControl = { origin, deadlineMs: task.beforeMs + task.maxRolloutMs + task.afterMs + 5000 };
  const log = createLog(task.maxRequests);
  const loops = runColourLoops(pool, task.loops, log, control);
  const result = await rollOut(task, admin, control).finally(() => loops);
  await loops;
  await admin.close();
  await pool.close();
  send({ type: 'result', result: { log: trimLog(log), wallAtOriginMs, ...result } satisfies RolloutRun });
});
