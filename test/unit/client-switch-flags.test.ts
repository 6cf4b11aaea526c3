import { describe, expect, it } from 'vitest';
import { rolloutBody, waitTimeout } from '../../src/client/switch.js';

describe('switch flags', () => {
  it('makes an instant switch without --steps or --interval', () => {
    expect(rolloutBody('green', {})).toBeUndefined();
    expect(rolloutBody('green', { force: true })).toBeUndefined();
  });

  it('builds the rollout request, numbers as numbers, leaving out what was not given', () => {
    expect(rolloutBody('green', { steps: '10,25,50,100', interval: '30s' })).toEqual({ to: 'green', steps: [10, 25, 50, 100], interval: '30s' });
    expect(
      rolloutBody('green', {
        interval: '200ms',
        'max-error-rate': '0.05',
        'max-p99-ms': '250',
        'min-requests': '0',
        'failure-threshold': '3',
        'on-failure': 'pause',
        gate: 'manual',
        'max-inconclusive': '4',
        'on-restart': 'pause',
        force: true,
        wait: true,
      }),
    ).toEqual({
      to: 'green',
      interval: '200ms',
      analysis: { max_error_rate: 0.05, max_p99_ms: 250, min_requests: 0 },
      failure_threshold: 3,
      on_failure: 'pause',
      gate: 'manual',
      max_inconclusive: 4,
      on_restart: 'pause',
      force: true,
    });
  });

  it('sends what does not parse as written, so the server says what is wrong with it', () => {
    expect(rolloutBody('green', { steps: '10,x,100', 'min-requests': 'lots' })).toEqual({ to: 'green', steps: '10,x,100', analysis: { min_requests: 'lots' } });
  });

  it.each(['wait', 'timeout', 'gate', 'min-requests'])('refuses --%s without --steps or --interval', (flag) => {
    expect(() => rolloutBody('green', { [flag]: flag === 'wait' ? true : '1' })).toThrow(new RegExp(`--${flag} applies to a gradual rollout`));
  });

  it('reads --timeout only with --wait', () => {
    expect(waitTimeout({})).toBeUndefined();
    expect(waitTimeout({ wait: true, timeout: '2m' })).toBe(120_000);
    expect(() => waitTimeout({ timeout: '2m' })).toThrow(/give --wait too/);
    expect(() => waitTimeout({ wait: true, timeout: 'soon' })).toThrow(/--timeout: expected a duration/);
  });
});
