/**
 * Child entry: the switch-under-load run. Runs the colour-logging client and, on a fixed
 * schedule, the admin switches, all on one clock (this process's performance.now), so send
 * times, answer times and admin call times are directly comparable.
 * Task: a SwitchTask; answers `result` with a SwitchRun.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'undici';
import { AdminClient, type TimedCall } from './admin-client.js';
import type { LoopDelay } from './loop-probe.js';
import { readLoopDelays } from './loop-probe-reader.js';
import { readTask, runChild, send } from './ipc.js';
import { clientPool, createLog, runColourLoops, trimLog, type ColourLog, type LoopControl } from './switch-client.js';

/** What the parent asks for. */
export interface SwitchTask {
  proxyUrl: string;
  adminUrl: string;
  service: string;
  loops: number;
  /** Upper bound on requests (the log's capacity). */
  maxRequests: number;
  /** Unlogged load first, so JIT warm-up and connection set-up do not count as "before". */
  warmupMs: number;
  /** Load before the first switch, between the switches, and after the last one. */
  beforeMs: number;
  holdMs: number;
  afterMs: number;
  /** Hosts to switch to, in order (e.g. green, then back to blue). */
  hosts: string[];
  /** Where the loop probes preloaded into switchyard write (see loop-probe.ts), and the processes to ask: the primary first. */
  probeDir: string;
  pids: number[];
}

/** One switch as it happened. */
export interface SwitchCall extends TimedCall {
  to: string;
  /** Each process's event-loop delay from just before the call to 100 ms after its answer (the primary first). */
  loopSwitch: LoopDelay[];
  /** The same over as long a stretch of plain load just before, as the yardstick. */
  loopPlain: LoopDelay[];
  /** With workers: the spread of their apply times for this change (GET /status last_change). */
  spreadMs?: number;
}

/** How long after a switch's answer its event-loop delay window stays open. */
const ELD_AFTER_MS = 100;

/** Everything the run logged. */
export interface SwitchRun {
  log: ColourLog;
  calls: SwitchCall[];
}

/** Sleep until `atMs` on the run's clock (no-op if already past). */
function sleepUntil(origin: number, atMs: number): Promise<void> {
  return sleep(Math.max(0, atMs - (performance.now() - origin)));
}

/** Issue the switches on schedule, then set the loops' deadline `afterMs` past the last. */
async function switchOnSchedule(task: SwitchTask, admin: AdminClient, control: LoopControl): Promise<SwitchCall[]> {
  const calls: SwitchCall[] = [];
  let next = task.beforeMs;
  try {
    for (const to of task.hosts) {
      // A stretch of plain load as long as the switch's window, as the yardstick for its event-loop delay.
      await sleepUntil(control.origin, next - 300);
      await readLoopDelays(task.probeDir, task.pids);
      await sleep(ELD_AFTER_MS + 50);
      const loopPlain = await readLoopDelays(task.probeDir, task.pids);
      await sleepUntil(control.origin, next);
      const call = await admin.patchService(task.service, { host: to });
      await sleep(ELD_AFTER_MS);
      const loopSwitch = await readLoopDelays(task.probeDir, task.pids);
      const status = await admin.status();
      const spreadMs = (JSON.parse(status.body) as { details: { last_change?: { spread_ms: number } } }).details.last_change?.spread_ms;
      calls.push({ ...call, to, loopSwitch, loopPlain, spreadMs });
      if (call.status !== 200) break;
      next = call.endMs + task.holdMs;
    }
  } finally {
    // On success keep the load `afterMs` past the last switch; on failure stop it soon.
    const last = calls.at(-1);
    const ok = last !== undefined && last.status === 200 && calls.length === task.hosts.length;
    control.deadlineMs = ok ? last.endMs + task.afterMs : performance.now() - control.origin;
  }
  return calls;
}

/** The logged run: loops from a fresh origin, switches on schedule. */
async function logSwitches(task: SwitchTask, pool: Pool): Promise<SwitchRun> {
  const origin = performance.now();
  const admin = new AdminClient(task.adminUrl, origin);
  await admin.warm();
  const totalMs = task.beforeMs + task.hosts.length * task.holdMs + task.afterMs;
  // The schedule moves the deadline; this bound only matters if an admin call hangs.
  const control: LoopControl = { origin, deadlineMs: totalMs + 15_000 };
  const log = createLog(task.maxRequests);
  const loops = runColourLoops(pool, task.loops, log, control);
  const calls = await switchOnSchedule(task, admin, control).finally(() => loops);
  await loops;
  await admin.close();
  return { log: trimLog(log), calls };
}

runChild(async () => {
  const task = readTask<SwitchTask>();
  const pool = clientPool(task.proxyUrl, task.loops);
  const warmup: LoopControl = { origin: performance.now(), deadlineMs: task.warmupMs };
  await runColourLoops(pool, task.loops, createLog(task.maxRequests), warmup);
  const result = await logSwitches(task, pool);
  await pool.close();
  send({ type: 'result', result });
});
