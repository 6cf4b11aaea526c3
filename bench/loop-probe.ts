/**
 * Preloaded into switchyard's processes by the bench (`node --import`, through NODE_OPTIONS,
 * so cluster workers get it too): an event-loop delay histogram at 1 ms resolution
 * (perf_hooks.monitorEventLoopDelay) that switchyard itself does not pay for. On SIGUSR2 a
 * process writes what it saw since the last signal to LOOP_PROBE_DIR/PID.json and starts over.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** One process's event-loop delay over a window, in milliseconds. */
export interface LoopDelay {
  pid: number;
  maxMs: number;
  p99Ms: number;
  p50Ms: number;
  samples: number;
}

const dir = process.env.LOOP_PROBE_DIR;
if (dir) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  process.on('SIGUSR2', () => {
    const seen: LoopDelay = {
      pid: process.pid,
      maxMs: h.count > 0 ? h.max / 1e6 : 0,
      p99Ms: h.count > 0 ? h.percentile(99) / 1e6 : 0,
      p50Ms: h.count > 0 ? h.percentile(50) / 1e6 : 0,
      samples: h.count,
    };
    h.reset();
    void writeFile(join(dir, `${process.pid}.json`), JSON.stringify(seen));
  });
}
