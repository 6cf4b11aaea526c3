import fs from 'node:fs';

/** Resident set size of a process in bytes (VmRSS), or 0 when it cannot be read. */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Sample the summed RSS of `pids()` every `everyMs` until stopped. */
export function sampleRss(pids: () => readonly number[], everyMs: number): { stop(): number[] } {
  const samples: number[] = [];
  const timer = setInterval(() => samples.push(pids().reduce((n, p) => n + rssBytes(p), 0)), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return samples;
    },
  };
}
