import { setTimeout as sleep } from 'node:timers/promises';
import { AdminUnreachableError } from './admin-client.js';
import { EXIT, printJson, type ClientContext } from './context.js';
import { formatDuration, isFinal, judgementLine, stateLine } from './rollout-format.js';
import { isRolloutView, type RolloutView } from './views.js';

/** How often --wait asks for the rollout. */
export const POLL_MS = 500;

/** How long --wait keeps asking an admin API that does not answer: rollouts outlive a restart. */
export const UNREACHABLE_GRACE_MS = 30_000;

/**
 * Remembers what has been printed of a rollout, so that each poll prints only what is
 * new: judgements not yet shown, then the state line if the state, step or reason moved.
 */
export class RolloutTracker {
  private shown: number;
  private last = '';

  /** `shown`: judgements already on screen (a report printed before following). */
  constructor(shown = 0) {
    this.shown = shown;
  }

  /** Lines for a new view of the rollout, each prefixed with a clock time. */
  update(v: RolloutView, now: number): string[] {
    const lines = v.judgements.slice(this.shown).map((j) => `${clock(Date.parse(j.at))}  ${judgementLine(j, v)}`);
    this.shown = Math.max(this.shown, v.judgements.length);
    const key = `${v.state}|${v.step}|${v.reason ?? ''}`;
    if (key !== this.last) lines.push(`${clock(now)}  ${stateLine(v)}`);
    this.last = key;
    return lines;
  }
}

/** What following a rollout needs from the world: injected so tests drive it without sleeping. */
export interface FollowDeps {
  poll(signal: AbortSignal): Promise<RolloutView>;
  print(line: string): void;
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** How following ended, with the last view seen. */
export interface FollowResult {
  readonly outcome: 'ended' | 'timeout' | 'interrupted' | 'replaced';
  readonly view: RolloutView;
}

/** Options of followRollout; the defaults are POLL_MS, no timeout, UNREACHABLE_GRACE_MS. */
export interface FollowOptions {
  readonly signal: AbortSignal;
  readonly pollMs?: number;
  readonly timeoutMs?: number;
  readonly graceMs?: number;
  /** Judgements already printed. */
  readonly shown?: number;
}

/**
 * Poll a rollout until it ends, `timeoutMs` passes, `signal` fires (Ctrl-C), or another
 * rollout of the service replaces it; print each judgement and state change on the way.
 * An admin API that stops answering is asked again for `graceMs` before giving up.
 */
export async function followRollout(first: RolloutView, deps: FollowDeps, opts: FollowOptions): Promise<FollowResult> {
  const { signal, pollMs = POLL_MS, timeoutMs, graceMs = UNREACHABLE_GRACE_MS } = opts;
  const deadline = timeoutMs === undefined ? Infinity : deps.now() + timeoutMs;
  const tracker = new RolloutTracker(opts.shown);
  let view = first;
  let lostSince: number | undefined;
  for (const line of tracker.update(view, deps.now())) deps.print(line);
  while (!isFinal(view.state)) {
    const left = deadline - deps.now();
    if (left <= 0) return { outcome: 'timeout', view };
    try {
      await deps.sleep(Math.min(pollMs, left), signal);
      const next = await deps.poll(signal);
      if (next.started_at !== first.started_at) return { outcome: 'replaced', view: next };
      view = next;
    } catch (err) {
      if (signal.aborted) return { outcome: 'interrupted', view };
      if (!(err instanceof AdminUnreachableError)) throw err;
      const now = deps.now();
      if (lostSince === undefined) deps.print(`${clock(now)}  ${'no answer'.padEnd(11)} ${err.reason}; asking again for ${formatDuration(graceMs)}`);
      lostSince ??= now;
      if (now - lostSince >= graceMs) throw err;
      continue;
    }
    if (lostSince !== undefined) deps.print(`${clock(deps.now())}  ${'answering'.padEnd(11)} the admin API answers again`);
    lostSince = undefined;
    for (const line of tracker.update(view, deps.now())) deps.print(line);
  }
  return { outcome: 'ended', view };
}

/**
 * `--wait`: follow a rollout on the terminal until it ends. Exit 0 if it succeeded, 1 if it
 * was rolled back or aborted or --timeout passed, 130 on Ctrl-C (the rollout goes on).
 */
export async function waitForRollout(ctx: ClientContext, first: RolloutView, timeoutMs: number | undefined, shown = 0): Promise<number> {
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  process.on('SIGINT', interrupt);
  let result: FollowResult;
  try {
    result = await followRollout(
      first,
      {
        poll: (signal) => ctx.client.get<RolloutView>(`/services/${encodeURIComponent(first.service)}/rollout`, { signal, shape: isRolloutView }),
        print: (line) => ctx.json || ctx.io.out(line + '\n'),
        now: Date.now,
        sleep: (ms, signal) => sleep(ms, undefined, { signal }),
      },
      { signal: stop.signal, timeoutMs, shown },
    );
  } finally {
    process.off('SIGINT', interrupt);
  }
  const v = result.view;
  if (ctx.json) printJson(ctx.io, v);
  const name = `the rollout of ${v.service} to ${v.to}`;
  switch (result.outcome) {
    case 'ended':
      if (v.state === 'succeeded') return EXIT.ok;
      ctx.io.err(`switchyard: ${name} ended ${v.state}: ${v.reason ?? 'no reason given'}\n`);
      return EXIT.failed;
    case 'timeout':
      ctx.io.err(`switchyard: --timeout ${formatDuration(timeoutMs ?? 0)} passed; ${name} is ${v.state} at step ${v.step}/${v.steps.length} and goes on\n`);
      return EXIT.failed;
    case 'interrupted':
      ctx.io.err(`\nswitchyard: stopped following; ${name} is ${v.state} and goes on (switchyard rollout abort ${v.service} stops it)\n`);
      return EXIT.interrupted;
    case 'replaced':
      ctx.io.err(`switchyard: another rollout of ${v.service} (to ${v.to}, started ${v.started_at}) replaced the one being followed\n`);
      return EXIT.failed;
  }
}

/** Local wall-clock time with milliseconds, "14:03:07.250": steps may be a fraction of a second apart. */
function clock(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}
