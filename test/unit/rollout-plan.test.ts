import { describe, expect, it } from 'vitest';
import { rolloutRequest } from '../../src/config/schema/config-schema.js';
import { checkBody } from '../../src/config/schema/validate.js';
import { TrafficRecorder, windowBetween } from '../../src/core/traffic.js';
import { BadInputError } from '../../src/errors.js';
import { planOf } from '../../src/rollout/plan.js';

/** A rollout request body as the admin API reads it: the config schema's `rollout` fields. */
const plan = (body: Record<string, unknown>) => {
  const { force: _force, ...request } = checkBody(rolloutRequest, body);
  return planOf('s', 'blue', request);
};

describe('rollout request', () => {
  it('applies the defaults', () => {
    expect(plan({ to: 'green' })).toEqual({
      service: 's',
      from: 'blue',
      to: 'green',
      steps: [10, 25, 50, 100],
      intervalMs: 30_000,
      analysis: { maxErrorRate: 0.01, maxP99Ms: 500, minRequests: 100, metrics: [] },
      failureThreshold: 2,
      onFailure: 'rollback',
      gate: 'auto',
      maxInconclusive: 5,
      onRestart: 'resume',
      gates: [],
    });
  });

  it.each([
    [{}, /missing required key "to"/, { '@entity': ['missing required key "to"'] }],
    [{ to: 'green', steps: [10, 5, 100] }, /steps: expected increasing percents/, { steps: expect.stringMatching(/increasing/) }],
    [{ to: 'green', steps: [10, 50] }, /ending at 100/, { steps: expect.any(String) }],
    [{ to: 'green', steps: [0, 100] }, /steps\[0\]: expected an integer from 1 to 100/, { steps: { 0: expect.any(String) } }],
    [{ to: 'green', interval: 'soon' }, /interval: expected a duration such as "30s"/, { interval: expect.any(String) }],
    [{ to: 'green', interval: 10 }, /from 50 ms/, { interval: expect.any(String) }],
    [{ to: 'green', on_failure: 'panic' }, /on_failure: expected one of "rollback", "pause"/, { on_failure: expect.any(String) }],
    [
      { to: 'green', analysis: { max_error_rate: 2 } },
      /analysis.max_error_rate: expected a number from 0 to 1/,
      { analysis: { max_error_rate: expect.any(String) } },
    ],
    [{ to: 'green', analysis: { p95: 1 } }, /unknown key "p95"/, { analysis: { p95: expect.any(String) } }],
    [{ to: 'green', colour: 'x' }, /unknown key "colour"/, { colour: expect.any(String) }],
    [{ to: 'green', failure_threshold: 0 }, /failure_threshold: expected an integer from 1/, { failure_threshold: expect.any(String) }],
    [{ to: 'green', toString: 1 }, /unknown key "toString"/, { toString: expect.any(String) }],
  ])("refuses %o in Kong's schema-violation shape", (body, message, fields) => {
    let error: unknown;
    try {
      plan(body);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BadInputError);
    expect(error).toMatchObject({ status: 400, message: expect.stringMatching(message), fields });
  });

  it('reads steps, numbers and durations in their text forms (form bodies, quoted JSON numbers)', () => {
    const p = plan({ to: 'green', steps: '10, 25,50,100', interval: '2m', failure_threshold: '3', force: 'true' });
    expect(p).toMatchObject({ steps: [10, 25, 50, 100], intervalMs: 120_000, failureThreshold: 3 });
    expect(['30s', '500ms', '1.5s', 250].map((interval) => plan({ to: 'green', interval }).intervalMs)).toEqual([30_000, 500, 1_500, 250]);
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
