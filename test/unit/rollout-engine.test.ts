import { describe, expect, it } from 'vitest';
import type { WindowFigures } from '../../src/core/traffic.js';
import { judge, RolloutEngine, type RolloutPlan } from '../../src/rollout/engine.js';

const plan = (over: Partial<RolloutPlan> = {}): RolloutPlan => ({
  service: 's',
  from: 'blue',
  to: 'green',
  steps: [10, 25, 50, 100],
  intervalMs: 1000,
  analysis: { maxErrorRate: 0.01, maxP99Ms: 500, minRequests: 100, metrics: [] },
  failureThreshold: 2,
  onFailure: 'rollback',
  gate: 'auto',
  maxInconclusive: 3,
  onRestart: 'resume',
  gates: [],
  ...over,
});
const good: WindowFigures = { requests: 200, errors: 0, p99Ms: 20 };
const bad: WindowFigures = { requests: 200, errors: 50, p99Ms: 20 };
const slow: WindowFigures = { requests: 200, errors: 0, p99Ms: 900 };
const quiet: WindowFigures = { requests: 3, errors: 0, p99Ms: 5 };

/** Feed windows one interval apart; return the weight after each. */
function drive(e: RolloutEngine, windows: WindowFigures[]): number[] {
  return windows.map((w) => {
    e.evaluate(e.nextJudgementAt ?? 0, w);
    return e.weight();
  });
}

describe('judge', () => {
  it.each([
    [good, 'pass'],
    [bad, 'fail'],
    [slow, 'fail'],
    [quiet, 'inconclusive'],
    [{ requests: 100, errors: 1, p99Ms: 500 }, 'pass'], // limits are inclusive
    [{ requests: 0, errors: 0 }, 'inconclusive'],
  ] as const)('%o → %s', (w, verdict) => expect(judge(plan(), w).verdict).toBe(verdict));
});

describe('RolloutEngine', () => {
  it('walks the steps on passing judgements and succeeds at 100%', () => {
    const e = new RolloutEngine(plan(), 0);
    expect(e.weight()).toBe(10);
    expect(e.nextJudgementAt).toBe(1000);
    expect(drive(e, [good, good, good])).toEqual([25, 50, 100]);
    expect(e.state).toBe('succeeded');
    expect(e.judgements.map((j) => j.verdict)).toEqual(['pass', 'pass', 'pass']);
    expect(e.nextJudgementAt).toBeUndefined();
  });

  it('does not judge before the window has ended', () => {
    const e = new RolloutEngine(plan(), 0);
    expect(e.evaluate(999, good)).toBeUndefined();
    expect(e.weight()).toBe(10);
  });

  it('re-judges a failed step and rolls back at the failure threshold, leaving the new upstream at 0', () => {
    const e = new RolloutEngine(plan(), 0);
    expect(drive(e, [good, bad, good, slow])).toEqual([25, 25, 50, 0]);
    expect(e.state).toBe('rolled_back');
    expect(e.reason).toMatch(/2 failed judgement\(s\): p99 900 ms above max_p99_ms 500/);
  });

  it('pauses instead of rolling back with on_failure: pause', () => {
    const e = new RolloutEngine(plan({ onFailure: 'pause', failureThreshold: 1 }), 0);
    drive(e, [bad]);
    expect(e.state).toBe('paused');
    expect(e.weight()).toBe(10);
    e.resume(5000);
    expect(e.state).toBe('running');
    expect(e.nextJudgementAt).toBe(6000);
  });

  it('waits on too little traffic and pauses for a person after max_inconclusive', () => {
    const e = new RolloutEngine(plan(), 0);
    expect(drive(e, [quiet, quiet])).toEqual([10, 10]);
    expect(e.state).toBe('running');
    drive(e, [quiet]);
    expect(e.state).toBe('paused');
    expect(e.reason).toMatch(/3 inconclusive judgements/);
    expect(e.judgements.every((j) => j.verdict === 'inconclusive')).toBe(true);
  });

  it('holds at a manual gate before the final step until promoted', () => {
    const e = new RolloutEngine(plan({ gate: 'manual' }), 0);
    expect(drive(e, [good, good, good])).toEqual([25, 50, 50]);
    expect(e.state).toBe('paused');
    expect(e.atGate()).toBe(true);
    expect(() => e.resume(10)).toThrow(/manual gate/);
    e.promote(10);
    expect(e.state).toBe('succeeded');
    expect(e.weight()).toBe(100);
  });

  it('aborts back to 0 at once from any live state, and refuses commands once ended', () => {
    const e = new RolloutEngine(plan(), 0);
    drive(e, [good]);
    e.pause('by hand');
    e.abort(5);
    expect(e.state).toBe('aborted');
    expect(e.weight()).toBe(0);
    expect(() => e.abort(6)).toThrow(/aborted/);
    expect(() => e.promote(6)).toThrow(/aborted/);
    expect(() => e.pause('x')).toThrow(/aborted/);
  });

  it('ignores judgements while paused', () => {
    const e = new RolloutEngine(plan(), 0);
    e.pause('by hand');
    expect(e.evaluate(10_000, good)).toBeUndefined();
    expect(e.weight()).toBe(10);
  });

  it('restores a saved rollout at its step: running resumes with a fresh window, on_restart pause holds', () => {
    const saved = { step: 2, state: 'running' as const, failures: 1, startedAt: 0 };
    const resumed = RolloutEngine.restore(plan(), saved, 5000);
    expect([resumed.state, resumed.weight(), resumed.failures, resumed.nextJudgementAt]).toEqual(['running', 50, 1, 6000]);
    const held = RolloutEngine.restore(plan({ onRestart: 'pause' }), saved, 5000);
    expect([held.state, held.weight()]).toEqual(['paused', 50]);
    expect(held.reason).toMatch(/on_restart: pause/);
    expect(held.progress()).toMatchObject({ step: 2, state: 'paused', failures: 1 });
  });
});

describe('rollout gates', () => {
  const gated = plan({
    gates: [
      { url: 'http://127.0.0.1:1/step', before: 'step', timeoutMs: 1000 },
      { url: 'http://127.0.0.1:1/promote', before: 'promote', timeoutMs: 1000 },
    ],
  });

  it('asks the step gates before every step, and the promote gates before the final one only', () => {
    const e = new RolloutEngine(gated, 0);
    expect(e.gatesDue().map((g) => g.before)).toEqual(['step']);
    e.evaluate(1000, good);
    e.evaluate(2000, good);
    expect(e.step).toBe(2);
    expect(e.gatesDue().map((g) => g.before)).toEqual(['step', 'promote']);
  });

  it('holds where it is when a gate refuses: inconclusive whatever the figures, pausing after max_inconclusive', () => {
    const e = new RolloutEngine(gated, 0);
    const j = e.evaluate(1000, good, 'gate http://127.0.0.1:1/step answered 503');
    expect(j).toMatchObject({ verdict: 'inconclusive', reason: 'gate http://127.0.0.1:1/step answered 503' });
    expect(e.step).toBe(0);
    e.evaluate(2000, good, 'refused');
    e.evaluate(3000, good, 'refused');
    expect(e.state).toBe('paused');
    expect(e.gatesDue()).toEqual([]);
  });
});

describe('the shadow phase (analysis.min_mirror_match)', () => {
  const shadowPlan = (over: Partial<RolloutPlan> = {}) =>
    plan({ analysis: { maxErrorRate: 0.01, maxP99Ms: 500, minRequests: 100, metrics: [], minMirrorMatch: 0.99 }, ...over });
  // Windows of a shadow phase are mirrored pairs: errors are the pairs that did not match.
  const matching: WindowFigures = { requests: 200, errors: 1, p99Ms: 900 };
  const differing: WindowFigures = { requests: 200, errors: 3, p99Ms: 5 };

  it('moves no traffic until the mirror matches, then takes the steps as usual', () => {
    const e = new RolloutEngine(shadowPlan(), 0);
    expect(e.shadow).toBe(true);
    expect(e.weight()).toBe(0);
    // A slow mirror is no reason to hold: only the match rate (199/200) and the pair count are judged.
    expect(drive(e, [quiet, matching, good])).toEqual([0, 10, 25]);
    expect(e.judgements.map((j) => [j.step, j.verdict])).toEqual([
      [-1, 'inconclusive'],
      [-1, 'pass'],
      [0, 'pass'],
    ]);
    expect(e.judgements[1].reason).toBe('mirror match rate 0.995 at least min_mirror_match 0.99');
  });

  it('fails on a match rate below min_mirror_match and rolls back without ever moving traffic', () => {
    const e = new RolloutEngine(shadowPlan({ failureThreshold: 1 }), 0);
    expect(drive(e, [differing])).toEqual([0]);
    expect(e.state).toBe('rolled_back');
    expect(e.reason).toBe('1 failed judgement(s): mirror match rate 0.985 below min_mirror_match 0.99');
  });

  it('is saved as step 0 and restored there', () => {
    const e = RolloutEngine.restore(shadowPlan(), { step: -1, state: 'running', failures: 0, startedAt: 0 }, 0);
    expect(e.shadow).toBe(true);
    // Without min_mirror_match a saved shadow step starts at step 1.
    expect(RolloutEngine.restore(plan(), { step: -1, state: 'running', failures: 0, startedAt: 0 }, 0).step).toBe(0);
  });
});
