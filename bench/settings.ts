import os from 'node:os';
import path from 'node:path';
import { canPin } from './processes.js';
import { cliPath } from './switchyard.js';
import type { RunMeta } from './report.js';

/** Bench settings, from the environment (all optional). */
export interface BenchSettings {
  /** BENCH_SECONDS: measured seconds per overhead run (default 8). */
  seconds: number;
  /** BENCH_WARMUP_SECONDS: warm-up before each overhead run (default 2). */
  warmupSeconds: number;
  /** BENCH_CONNECTIONS: autocannon connections (default 50). */
  connections: number;
  /** BENCH_ROUNDS: overhead rounds over all forwarders; medians are reported (default 2). */
  rounds: number;
  /** BENCH_SWITCH_PHASE_SECONDS: load before, between and after the switches (default 2). */
  switchPhaseSeconds: number;
  /** BENCH_ROLLOUT_INTERVAL_SECONDS: each rollout step's interval in the accuracy run (default 2). */
  rolloutIntervalSeconds: number;
  /** BENCH_RELOAD_ITERATIONS: config file rewrites timed by the reload scenario (default 20). */
  reloadIterations: number;
  /** Requests in the soak run. */
  soakRequests: number;
  /** BENCH_SCENARIOS: comma-separated scenario ids to run (default all). */
  scenarios: string[] | null;
}

/** A positive number from the environment, or the default. */
function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

/** Read the settings from `env`. */
export function readSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  return {
    seconds: positive(env, 'BENCH_SECONDS', 8),
    warmupSeconds: positive(env, 'BENCH_WARMUP_SECONDS', 2),
    connections: Math.round(positive(env, 'BENCH_CONNECTIONS', 50)),
    rounds: Math.round(positive(env, 'BENCH_ROUNDS', 2)),
    switchPhaseSeconds: positive(env, 'BENCH_SWITCH_PHASE_SECONDS', 2),
    rolloutIntervalSeconds: positive(env, 'BENCH_ROLLOUT_INTERVAL_SECONDS', 2),
    reloadIterations: Math.round(positive(env, 'BENCH_RELOAD_ITERATIONS', 20)),
    soakRequests: Math.round(positive(env, 'BENCH_SOAK_REQUESTS', 1_000_000)),
    scenarios: env.BENCH_SCENARIOS ? env.BENCH_SCENARIOS.split(',').map((s) => s.trim()) : null,
  };
}

/** The machine and settings, for the report header and the JSON files. */
export function describeRun(s: BenchSettings): RunMeta {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    switchyard: path.relative(process.cwd(), cliPath()),
    cpus: `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown'}`,
    // Other work on the machine skews every figure; a high value here explains odd numbers.
    'load average at start': os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    pinning: canPin() ? 'taskset: forwarder on CPU 0, load + upstreams on CPU 1' : 'none (taskset unavailable)',
    'overhead run': `${s.connections} connections, pipelining 1, ${s.warmupSeconds} s warm-up + ${s.seconds} s, ${s.rounds} round(s)`,
    'switch run': `32 request loops, 1 s warm-up, switch after ${s.switchPhaseSeconds} s, back after ${s.switchPhaseSeconds} s more`,
    'target-kill run': '32 request loops, 1 s warm-up, one of two targets killed after 2 s, 3 s more; retries 5, then 0',
    'rollout run': `32 request loops, 1 s warm-up, steps 10/25/50/100% every ${s.rolloutIntervalSeconds} s; then a rollback from a green answering 500`,
    'reload run': `${s.reloadIterations} config file rewrites (rename and in place, alternating), a burst of 5, a broken file`,
    'soak run': `${s.soakRequests} requests at 50 connections; a switch every second, a config file edit every 5 switches`,
  };
}
