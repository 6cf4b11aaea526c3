import { describe, expect, it } from 'vitest';
import { AdminHttpError, AdminUnreachableError } from '../../src/client/admin-client.js';
import { followRollout, type FollowDeps } from '../../src/client/follow.js';
import type { RolloutView } from '../../src/client/views.js';
import { passed, rolloutView } from '../helpers/rollout-view.js';

/**
 * Fake world for followRollout: time moves only when it sleeps, and each poll answers the
 * next of `answers` (a view, or an error to throw). Nothing waits for real.
 */
function world(answers: (RolloutView | Error)[], opts: { abortAfterPolls?: number } = {}) {
  let now = 1_000_000;
  const lines: string[] = [];
  const polledAt: number[] = [];
  const stop = new AbortController();
  const deps: FollowDeps = {
    now: () => now,
    print: (line) => lines.push(line.replace(/^\d\d:\d\d:\d\d\.\d{3} {2}/, '')),
    sleep: async (ms) => {
      now += ms;
    },
    poll: async () => {
      polledAt.push(now);
      if (polledAt.length === opts.abortAfterPolls) {
        stop.abort();
        throw new Error('aborted');
      }
      const next = answers.shift();
      if (next === undefined) throw new Error('polled more often than the test expected');
      if (next instanceof Error) throw next;
      return next;
    },
  };
  return { deps, lines, polledAt, signal: stop.signal, start: now };
}

const step = (n: number, split: [number, number], more: Partial<RolloutView> = {}) =>
  rolloutView({ step: n, split: { blue: split[0], green: split[1] }, ...more });

describe('followRollout', () => {
  it('prints each new judgement once, then the state when it moves, until the rollout succeeds', async () => {
    const j1 = passed(1, 10);
    const j2 = passed(2, 25);
    const w = world([
      step(1, [90, 10]), // nothing new: no line
      step(2, [75, 25], { judgements: [j1] }),
      step(4, [0, 100], { state: 'succeeded', reason: 'reached 100% on green', judgements: [j1, j2, passed(3, 50)] }),
    ]);
    const result = await followRollout(step(1, [90, 10]), w.deps, { signal: w.signal });
    expect(result.outcome).toBe('ended');
    expect(result.view.state).toBe('succeeded');
    expect(w.lines).toEqual([
      'running     step 1/4  blue 90% · green 10%',
      'judged      step 1/4  green 10%: pass (120 requests, 0 errors, error rate 0, p99 4 ms) — within analysis limits',
      'running     step 2/4  blue 75% · green 25%',
      'judged      step 2/4  green 25%: pass (120 requests, 0 errors, error rate 0, p99 4 ms) — within analysis limits',
      'judged      step 3/4  green 50%: pass (120 requests, 0 errors, error rate 0, p99 4 ms) — within analysis limits',
      'succeeded   step 4/4  blue 0% · green 100% — reached 100% on green',
    ]);
    expect(w.polledAt.map((t) => t - w.start)).toEqual([500, 1000, 1500]);
  });

  it('prints a pause with its reason and keeps following; skips judgements already shown', async () => {
    const old = passed(1, 10);
    const w = world([
      step(2, [75, 25], { state: 'paused', reason: 'paused by 127.0.0.1', judgements: [old] }),
      step(2, [100, 0], { state: 'aborted', reason: 'aborted by 127.0.0.1', judgements: [old] }),
    ]);
    const result = await followRollout(step(2, [75, 25], { judgements: [old] }), w.deps, { signal: w.signal, shown: 1 });
    expect(result).toMatchObject({ outcome: 'ended', view: { state: 'aborted' } });
    expect(w.lines).toEqual([
      'running     step 2/4  blue 75% · green 25%',
      'paused      step 2/4  blue 75% · green 25% — paused by 127.0.0.1',
      'aborted     step 2/4  blue 100% · green 0% — aborted by 127.0.0.1',
    ]);
  });

  it('gives up at the timeout, polling no later than it', async () => {
    const w = world([step(2, [75, 25]), step(2, [75, 25]), step(2, [75, 25])]);
    const result = await followRollout(step(2, [75, 25]), w.deps, { signal: w.signal, timeoutMs: 1200 });
    expect(result.outcome).toBe('timeout');
    expect(w.polledAt.map((t) => t - w.start)).toEqual([500, 1000, 1200]);
  });

  it('stops at once when interrupted (Ctrl-C), with the last view seen', async () => {
    const w = world([step(2, [75, 25])], { abortAfterPolls: 2 });
    const result = await followRollout(step(1, [90, 10]), w.deps, { signal: w.signal });
    expect(result).toMatchObject({ outcome: 'interrupted', view: { step: 2 } });
  });

  it('notices another rollout replacing the one it follows', async () => {
    const w = world([step(1, [90, 10], { started_at: '2025-01-01T00:05:00.000Z' })]);
    expect((await followRollout(step(1, [90, 10]), w.deps, { signal: w.signal })).outcome).toBe('replaced');
  });

  it('rides out an admin API that stops answering for less than the grace, and fails after it', async () => {
    const gone = () => new AdminUnreachableError('http://127.0.0.1:8001', 'ECONNREFUSED');
    const w = world([gone(), gone(), step(2, [75, 25], { state: 'succeeded' })]);
    expect((await followRollout(step(2, [75, 25]), w.deps, { signal: w.signal, graceMs: 5000 })).outcome).toBe('ended');
    expect(w.lines.slice(1, 3)).toEqual(['no answer   ECONNREFUSED; asking again for 5s', 'answering   the admin API answers again']);

    const down = world(Array.from({ length: 20 }, gone));
    await expect(followRollout(step(2, [75, 25]), down.deps, { signal: down.signal, graceMs: 2000 })).rejects.toBeInstanceOf(AdminUnreachableError);
    expect(down.polledAt.length).toBe(5); // 500 ms apart: first failure at 500, the last at 2500
  });

  it('passes the admin API refusing (a 404: the service was removed) straight up', async () => {
    const w = world([new AdminHttpError(404, 'service "svc" not found', {})]);
    await expect(followRollout(step(2, [75, 25]), w.deps, { signal: w.signal })).rejects.toThrow(/not found/);
  });
});
