/**
 * Child entry: hot reload timing. Rewrites switchyard's config file (as an editor does, by
 * rename, or in place) and polls GET /status every couple of ms until the generation moves,
 * all on one clock; then a burst of writes, and a broken file followed by a valid one.
 * Task: a ReloadTask; answers `result` with a ReloadRun.
 */
import fs from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { AdminClient } from './admin-client.js';
import { readTask, runChild, send } from './ipc.js';
import { probe } from './probe.js';

/** What the parent asks for. */
export interface ReloadTask {
  adminUrl: string;
  proxyUrl: string;
  configFile: string;
  /** The config with the service's host set to blue, and to green. */
  texts: Record<'blue' | 'green', string>;
  /** The host the file has at the start. */
  initialHost: 'blue' | 'green';
  iterations: number;
  pollMs: number;
  /** Give up on one change after this long. */
  timeoutMs: number;
  /** Pause after each change, so one change's events never run into the next. */
  gapMs: number;
  /** Stop rewriting after this many changes in a row were not applied. */
  maxMisses: number;
}

/** How a file was rewritten. */
export type WriteMode = 'rename' | 'in-place';

/** One timed change. */
export interface ChangeResult {
  mode: WriteMode;
  to: string;
  /** The write itself (start to rename/close). */
  writeMs: number;
  /** Write finished → first status answer with a higher generation; null if none within the timeout. */
  appliedMs: number | null;
  /** Write finished → the poll before that one was sent (the change happened in between). */
  notYetMs: number | null;
  generationDelta: number;
  statusWord: string | null;
  /** Colour of a proxied request sent once the generation moved. */
  confirmColour: string | null;
}

/** The burst: several writes a few ms apart. */
export interface BurstResult {
  writes: number;
  spacingMs: number;
  to: string;
  /** When each write finished, ms after the first began. */
  writesAtMs: number[];
  /** Last write finished → first higher generation. */
  appliedMs: number | null;
  /** Generation after the burst settled, minus before it (goal 1). */
  generationDelta: number;
  /** Generations seen by the polls, with when (ms after the first write). */
  seen: { atMs: number; generation: number }[];
  confirmColour: string | null;
}

/** A broken file, then a valid one. */
export interface BrokenResult {
  /** Write finished → first status "warn"; null if never within the timeout. */
  warnMs: number | null;
  /** Generation change while the broken file was on disk (goal 0). */
  generationDelta: number;
  statusWhileBroken: string | null;
  /** The valid file after it. */
  valid: ChangeResult;
}

/** Everything the run measured. */
export interface ReloadRun {
  initialGeneration: number | null;
  changes: ChangeResult[];
  /** Changes not attempted because the earlier ones were not applied. */
  skipped: number;
  burst: BurstResult | null;
  broken: BrokenResult | null;
}

interface Status {
  status: string | null;
  generation: number | null;
}

let tempCount = 0;

/** Rewrite the file: a temp file beside it renamed over it (as editors and write-file-atomic do), or in place. */
async function writeConfig(file: string, text: string, mode: WriteMode): Promise<void> {
  if (mode === 'in-place') return fs.writeFile(file, text);
  const temp = `${file}.${process.pid}.${tempCount++}`;
  await fs.writeFile(temp, text);
  await fs.rename(temp, file);
}

/** Polls GET /status on one kept-alive connection. */
class StatusPoller {
  constructor(
    private readonly admin: AdminClient,
    private readonly task: ReloadTask,
  ) {}

  async read(): Promise<Status & { startMs: number; endMs: number }> {
    const call = await this.admin.status();
    try {
      const body = JSON.parse(call.body) as { status?: string; details?: { generation?: number } };
      return { status: body.status ?? null, generation: body.details?.generation ?? null, startMs: call.startMs, endMs: call.endMs };
    } catch {
      return { status: null, generation: null, startMs: call.startMs, endMs: call.endMs };
    }
  }

  /** Poll until `done` holds or `untilMs`; returns the matching answer and the one before it. */
  async until(
    done: (s: Status) => boolean,
    untilMs: number,
    now: () => number,
  ): Promise<{ hit?: Status & { startMs: number; endMs: number }; before?: { startMs: number }; last: Status }> {
    let before: { startMs: number } | undefined;
    let last: Status = { status: null, generation: null };
    while (now() < untilMs) {
      const s = await this.read();
      last = s;
      if (done(s)) return { hit: s, before, last };
      before = s;
      await sleep(this.task.pollMs);
    }
    return { last };
  }
}

/** The colour a fresh proxied request is answered by. */
async function colourNow(proxyUrl: string): Promise<string | null> {
  return (await probe(proxyUrl)).upstream ?? null;
}

/** Write one change and time it until the generation moves past `generation`. */
async function timedChange(
  task: ReloadTask,
  poller: StatusPoller,
  now: () => number,
  text: string,
  to: string,
  mode: WriteMode,
  generation: number,
): Promise<ChangeResult> {
  const start = now();
  await writeConfig(task.configFile, text, mode);
  const written = now();
  const r = await poller.until((s) => s.generation !== null && s.generation > generation, written + task.timeoutMs, now);
  const result: ChangeResult = {
    mode,
    to,
    writeMs: written - start,
    appliedMs: r.hit ? r.hit.endMs - written : null,
    notYetMs: r.hit && r.before ? r.before.startMs - written : null,
    generationDelta: (r.last.generation ?? generation) - generation,
    statusWord: r.last.status,
    confirmColour: null,
  };
  if (r.hit) result.confirmColour = await colourNow(task.proxyUrl);
  return result;
}

/** Five writes 10 ms apart, alternating hosts; they should apply as one. */
async function burst(task: ReloadTask, poller: StatusPoller, now: () => number, fileHost: 'blue' | 'green', generation: number): Promise<BurstResult> {
  const writes = 5;
  const spacingMs = 10;
  const first = now();
  let host = fileHost;
  const writesAtMs: number[] = [];
  for (let i = 0; i < writes; i++) {
    if (i > 0) await sleep(Math.max(0, first + i * spacingMs - now()));
    host = host === 'blue' ? 'green' : 'blue';
    await writeConfig(task.configFile, task.texts[host], i % 2 === 0 ? 'rename' : 'in-place');
    writesAtMs.push(now() - first);
  }
  const lastWrite = now();
  const seen: BurstResult['seen'] = [];
  let appliedMs: number | null = null;
  let latest = generation;
  // Watch long enough for a second, late apply to show up too.
  while (now() < lastWrite + Math.max(1000, appliedMs === null ? task.timeoutMs : 0)) {
    const s = await poller.read();
    if (s.generation !== null && s.generation !== latest) {
      latest = s.generation;
      seen.push({ atMs: s.endMs - first, generation: latest });
      appliedMs ??= s.endMs - lastWrite;
    }
    if (appliedMs !== null && now() > lastWrite + appliedMs + 500) break;
    await sleep(task.pollMs);
  }
  return {
    writes,
    spacingMs,
    to: host,
    writesAtMs,
    appliedMs,
    generationDelta: latest - generation,
    seen,
    confirmColour: appliedMs !== null ? await colourNow(task.proxyUrl) : null,
  };
}

/** A file with a YAML syntax error must be refused (status warn, same generation); a valid one after it applies. */
async function broken(task: ReloadTask, poller: StatusPoller, now: () => number, fileHost: 'blue' | 'green', generation: number): Promise<BrokenResult> {
  const bad = task.texts[fileHost].replace('proxy:\n', 'proxy: [\n');
  await writeConfig(task.configFile, bad, 'rename');
  const written = now();
  const warn = await poller.until((s) => s.status === 'warn' || (s.generation ?? generation) !== generation, written + task.timeoutMs, now);
  // Keep watching a little: a late apply of the broken file would show here.
  const settle = await poller.until((s) => (s.generation ?? generation) !== generation, now() + 300, now);
  const last = settle.hit ?? settle.last;
  const to = fileHost === 'blue' ? 'green' : 'blue';
  const valid = await timedChange(task, poller, now, task.texts[to], to, 'in-place', last.generation ?? generation);
  return {
    warnMs: warn.hit?.status === 'warn' ? warn.hit.endMs - written : null,
    generationDelta: (last.generation ?? generation) - generation,
    statusWhileBroken: warn.hit?.status ?? warn.last.status,
    valid,
  };
}

runChild(async () => {
  const task = readTask<ReloadTask>();
  const origin = performance.now();
  const now = (): number => performance.now() - origin;
  const admin = new AdminClient(task.adminUrl, origin);
  await admin.warm();
  const poller = new StatusPoller(admin, task);
  const initial = await poller.read();
  let generation = initial.generation ?? 0;
  let fileHost = task.initialHost;
  const changes: ChangeResult[] = [];
  let misses = 0;
  for (let i = 0; i < task.iterations && misses < task.maxMisses; i++) {
    const to = fileHost === 'blue' ? 'green' : 'blue';
    const change = await timedChange(task, poller, now, task.texts[to], to, i % 2 === 0 ? 'rename' : 'in-place', generation);
    changes.push(change);
    fileHost = to;
    generation += change.generationDelta;
    misses = change.appliedMs === null ? misses + 1 : 0;
    await sleep(task.gapMs);
  }
  const anyApplied = changes.some((c) => c.appliedMs !== null);
  const burstResult = anyApplied ? await burst(task, poller, now, fileHost, generation) : null;
  if (burstResult) {
    fileHost = burstResult.to as 'blue' | 'green';
    generation += burstResult.generationDelta;
    await sleep(task.gapMs);
  }
  const brokenResult = anyApplied ? await broken(task, poller, now, fileHost, generation) : null;
  await admin.close();
  send({
    type: 'result',
    result: {
      initialGeneration: initial.generation,
      changes,
      skipped: task.iterations - changes.length,
      burst: burstResult,
      broken: brokenResult,
    } satisfies ReloadRun,
  });
});
