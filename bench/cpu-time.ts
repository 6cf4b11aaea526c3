import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

/**
 * CPU time a process used over a window, read from /proc/PID/stat (user + system, summed over
 * all its threads: JIT, GC and libuv's pool included). One method for every forwarder, the
 * real switchyard CLI included, which has no IPC channel to report `process.cpuUsage()` over.
 */
export interface CpuWindow {
  /** CPU µs the process used in the window. */
  cpuMicros: number;
  /** Wall-clock µs of the window. */
  wallMicros: number;
  /** Responses the load generator received in the window. */
  responses: number;
}

/** Clock ticks per second of /proc's utime and stime (`getconf CLK_TCK`; 100 when unknown). */
export function clockTicks(): number {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(out.stdout?.trim());
  return out.status === 0 && Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
}

/** utime + stime of `pid` in µs, or null where /proc/PID/stat cannot be read or parsed. */
export function processCpuMicros(pid: number, ticksPerSecond: number): number | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name sits in parentheses and may itself hold spaces or ")": split after the last ")".
  // What follows starts at field 3 (state), so fields 14 and 15 (utime, stime; proc(5)) are at 11 and 12.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? (ticks * 1e6) / ticksPerSecond : null;
}

/**
 * Start measuring `pid`'s CPU time now; `end(responses)` closes the window. Null throughout
 * where /proc is missing (not Linux), so callers can drop the figure instead of failing.
 */
export function startCpuWindow(pid: number, ticksPerSecond: number): { end(responses: number): CpuWindow | null } {
  const wall0 = performance.now();
  const cpu0 = processCpuMicros(pid, ticksPerSecond);
  return {
    end(responses) {
      const cpu1 = processCpuMicros(pid, ticksPerSecond);
      if (cpu0 === null || cpu1 === null) return null;
      return { cpuMicros: cpu1 - cpu0, wallMicros: (performance.now() - wall0) * 1000, responses };
    },
  };
}
