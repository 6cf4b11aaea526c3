import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load/parse.js';
import { ActiveChecker } from '../../src/health/active.js';
import type { ProbeResult } from '../../src/health/probe.js';
import { HealthRegistry } from '../../src/health/registry.js';

function config(targets: string[], active: string) {
  const yaml = `upstreams:\n  - name: u\n    targets: [${targets.map((t) => `{ target: "${t}" }`).join(', ')}]\n    healthchecks:\n      active: ${active}\n`;
  const parsed = parseConfig(yaml, 't.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.config;
}

describe('ActiveChecker', () => {
  let probes: { at: number; address: string }[];
  let answer: (address: string) => ProbeResult;
  let registry: HealthRegistry;
  let checker: ActiveChecker;

  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
    probes = [];
    answer = () => ({ outcome: 'success', detail: 'ok' });
    registry = new HealthRegistry();
    checker = new ActiveChecker(registry, systemClock, async (address) => {
      probes.push({ at: Date.now(), address });
      return answer(address);
    });
  });
  afterEach(() => {
    checker.close();
    vi.useRealTimers();
  });

  it('spreads the first probes over the interval, then probes each target every interval', async () => {
    checker.sync(config(['a:1', 'b:1', 'c:1', 'd:1'], '{ healthy: { interval: 4 } }'));
    await vi.advanceTimersByTimeAsync(8_000);
    expect(probes.map((p) => `${p.address}@${p.at}`)).toEqual([
      'a:1@0',
      'b:1@1000',
      'c:1@2000',
      'd:1@3000',
      'a:1@4000',
      'b:1@5000',
      'c:1@6000',
      'd:1@7000',
      'a:1@8000',
    ]);
  });

  it('ejects after tcp_failures failed probes and readmits after healthy.successes', async () => {
    checker.sync(config(['a:1'], '{ healthy: { interval: 1, successes: 2 }, unhealthy: { interval: 0.5, tcp_failures: 3 } }'));
    const h = registry.get('a:1');
    answer = () => ({ outcome: 'tcp_failure', detail: 'ECONNREFUSED' });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(h.healthy).toBe(true); // probes at 0 and 1000
    await vi.advanceTimersByTimeAsync(1);
    expect(h.healthy).toBe(false); // third failure at 2000
    answer = () => ({ outcome: 'success', detail: 'ok' });
    await vi.advanceTimersByTimeAsync(500);
    expect(h.healthy).toBe(false); // one success at 2500, unhealthy.interval apart
    await vi.advanceTimersByTimeAsync(500);
    expect(h.healthy).toBe(true); // second at 3000
  });

  it('does not probe in a state whose interval is 0, and resumes when the state changes', async () => {
    checker.sync(config(['a:1'], '{ healthy: { interval: 0 }, unhealthy: { interval: 1, successes: 1 } }'));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(probes).toEqual([]);
    registry.set(registry.get('a:1'), false, 'manual', 'test');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(probes.length).toBe(1);
  });

  it('stops probing a target removed from the config, and restarts on changed settings', async () => {
    checker.sync(config(['a:1', 'b:1'], '{ healthy: { interval: 1 } }'));
    await vi.advanceTimersByTimeAsync(1_000);
    checker.sync(config(['a:1'], '{ healthy: { interval: 1 } }'));
    probes = [];
    await vi.advanceTimersByTimeAsync(3_000);
    expect(new Set(probes.map((p) => p.address))).toEqual(new Set(['a:1']));
    checker.sync(config(['a:1'], '{ healthy: { interval: 0 } }'));
    probes = [];
    await vi.advanceTimersByTimeAsync(3_000);
    expect(probes).toEqual([]);
  });

  it('ignores a status in neither list', async () => {
    checker.sync(config(['a:1'], '{ healthy: { interval: 1 }, unhealthy: { http_failures: 1 } }'));
    answer = () => ({ outcome: null, detail: 'status 418' });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(registry.get('a:1').healthy).toBe(true);
  });

  it('probes at most `concurrency` targets of an upstream at once', async () => {
    let running = 0;
    let most = 0;
    checker.close();
    checker = new ActiveChecker(registry, systemClock, async () => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 900));
      running--;
      return { outcome: 'success', detail: 'ok' };
    });
    checker.sync(config(['a:1', 'b:1', 'c:1', 'd:1'], '{ healthy: { interval: 1 }, concurrency: 2 }'));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(most).toBe(2);
  });
});
