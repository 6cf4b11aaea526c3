import { describe, expect, it } from 'vitest';
import { formatDuration, formatTraffic, judgementLine, rolloutBrief, rolloutReport, stateLine } from '../../src/client/rollout-format.js';
import { rolloutView as view } from '../helpers/rollout-view.js';

describe('rollout formatting', () => {
  it.each([
    [{ blue: 100 }, 'blue'],
    [{ blue: 75, green: 25 }, 'blue 75% · green 25%'],
    [{ blue: 100, green: 0 }, 'blue 100% · green 0%'],
    [{}, '-'],
  ])('traffic %o is "%s"', (traffic, text) => {
    expect(formatTraffic(traffic)).toBe(text);
  });

  it.each([
    [200, '200ms'],
    [1500, '1.5s'],
    [30_000, '30s'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [3_660_000, '1h1m'],
  ])('%i ms is "%s"', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('says where a rollout stands in a few words, and in a line', () => {
    expect(rolloutBrief(view())).toBe('running, step 2/4 → green');
    expect(rolloutBrief(view({ state: 'succeeded' }))).toBe('succeeded → green');
    expect(rolloutBrief(view({ state: 'rolled_back' }))).toBe('rolled back (was → green)');
    expect(stateLine(view())).toBe('running     step 2/4  blue 75% · green 25%');
    expect(stateLine(view({ state: 'paused', reason: 'paused by 127.0.0.1' }))).toBe('paused      step 2/4  blue 75% · green 25% — paused by 127.0.0.1');
  });

  it('gives each judgement its figures and reason', () => {
    const j = {
      at: '2025-01-01T00:00:30.000Z',
      step: 1,
      weight: 10,
      verdict: 'fail' as const,
      requests: 52,
      errors: 3,
      error_rate: 0.057692,
      p99_ms: 12.345678,
      reason: 'error rate 0.0577 above max_error_rate 0.01',
    };
    expect(judgementLine(j, view())).toBe(
      'judged      step 1/4  green 10%: fail (52 requests, 3 errors, error rate 0.0577, p99 12.3457 ms) — error rate 0.0577 above max_error_rate 0.01',
    );
    expect(judgementLine({ ...j, requests: 0, errors: 0, error_rate: 0, p99_ms: null, verdict: 'inconclusive', reason: 'r' }, view())).toMatch(
      /inconclusive \(0 requests, 0 errors, error rate 0, p99 -\) — r$/,
    );
    const report = rolloutReport(view({ judgements: [j] }));
    expect(report).toMatch(/^rollout of svc: blue → green, running, step 2\/4: blue 75% · green 25%\n {2}steps 10, 25, 50, 100% every 30s; /);
    expect(report).toMatch(
      /^AT +STEP +WEIGHT +VERDICT +REQUESTS +ERRORS +ERROR RATE +P99 MS +REASON\n2025-01-01T00:00:30.000Z +1 +10% +fail +52 +3 +0.0577 +12.3457 +error rate/m,
    );
  });
});
