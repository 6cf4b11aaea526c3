import { describe, expect, it } from 'vitest';
import { parseDuration, parsePlan, parseSteps } from '../../src/rollout/plan.js';
import { TrafficRecorder, windowBetween } from '../../src/rollout/window.js';

describe('parsePlan', () => {
  it('applies the defaults', () => {
    expect(parsePlan('s', 'blue', { to: 'green' })).toEqual({
      service: 's', from: 'blue', to: 'green', steps: [10, 25, 50, 100], intervalMs: 30_000,
      analysis: { maxErrorRate: 0.01, maxP99Ms: 500, minRequests: 100 },
      failureThreshold: 2, onFailure: 'rollback', gate: 'auto', maxInconclusive: 5, onRestart: 'resume',
    });
  });

  it.each([
    [{}, /to: expected the name of the upstream/],
    [{ to: 'blue' }, /already sends its traffic to blue/],
    [{ to: 'green', steps: [10, 5, 100] }, /steps: expected increasing whole percents/],
    [{ to: 'green', steps: [10, 50] }, /the last step must be 100/],
    [{ to: 'green', steps: [0, 100] }, /steps: expected/],
    [{ to: 'green', interval: 'soon' }, /interval: expected a duration such as "30s"/],
    [{ to: 'green', interval: 10 }, /at least 50 ms/],
    [{ to: 'green', on_failure: 'panic' }, /on_failure: expected one of rollback, pause/],
    [{ to: 'green', analysis: { max_error_rate: 2 } }, /analysis.max_error_rate: expected a number from 0 to 1/],
    [{ to: 'green', analysis: { p95: 1 } }, /analysis: unknown field\(s\) p95/],
    [{ to: 'green', colour: 'x' }, /unknown field\(s\) colour/],
    [{ to: 'green', failure_threshold: 0 }, /failure_threshold: expected a number from 1/],
  ])('refuses %o', (body, message) => {
    expect(() => parsePlan('s', 'blue', body)).toThrow(message);
  });

  it('reads steps and durations in their text forms', () => {
    expect(parseSteps('10, 25,50,100')).toEqual([10, 25, 50, 100]);
    expect([parseDuration('30s', 'i'), parseDuration('2m', 'i'), parseDuration('500ms', 'i'), parseDuration('1.5s', 'i'), parseDuration(250, 'i')])
      .toEqual([30_000, 120_000, 500, 1_500, 250]);
  });
});

describe('TrafficRecorder', () => {
  it('gives requests, errors and a p99 within 10% for the window between two readings', () => {
    const r = new TrafficRecorder();
    for (let i = 0; i < 50; i++) r.record(1000, true); // before the window
    const start = r.read();
    for (let i = 0; i < 990; i++) r.record(10, false);
    for (let i = 0; i < 10; i++) r.record(300, true);
    const w = windowBetween(start, r.read());
    expect(w.requests).toBe(1000);
    expect(w.errors).toBe(10);
    expect(w.p99Ms).toBeGreaterThanOrEqual(10);
    expect(w.p99Ms).toBeLessThanOrEqual(11);
    expect(windowBetween(r.read(), r.read())).toEqual({ requests: 0, errors: 0 });
  });
});
