import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load/parse.js';
import { PassiveMonitor } from '../../src/health/passive.js';
import { HealthRegistry } from '../../src/health/registry.js';
import { TargetHealth, type Outcome } from '../../src/health/state.js';

const T = { successes: 2, http_failures: 3, tcp_failures: 1, timeouts: 2 };

function run(outcomes: Outcome[], start = true): boolean[] {
  const h = new TargetHealth('a:1');
  h.healthy = start;
  return outcomes.map((o) => {
    h.record(o, T, 'active');
    return h.healthy;
  });
}

describe('TargetHealth', () => {
  it.each<[string, Outcome[], boolean, boolean[]]>([
    ['http failures eject at the threshold', ['http_failure', 'http_failure', 'http_failure'], true, [true, true, false]],
    [
      'a success in between resets the failure count',
      ['http_failure', 'http_failure', 'success', 'http_failure', 'http_failure'],
      true,
      [true, true, true, true, true],
    ],
    ['one tcp failure is enough when tcp_failures is 1', ['tcp_failure'], true, [false]],
    ['timeouts count on their own', ['timeout', 'http_failure', 'timeout'], true, [true, true, false]],
    ['successes bring it back at the threshold', ['success', 'success'], false, [false, true]],
    ['a failure resets the success count', ['success', 'http_failure', 'success', 'success'], false, [false, false, false, true]],
  ])('%s', (_name, outcomes, start, expected) => {
    expect(run(outcomes, start)).toEqual(expected);
  });

  it('never changes state on a kind whose threshold is 0', () => {
    const h = new TargetHealth('a:1');
    const none = { successes: 0, http_failures: 0, tcp_failures: 0, timeouts: 0 };
    for (let i = 0; i < 100; i++) h.record('tcp_failure', none, 'active');
    expect(h.healthy).toBe(true);
    h.set(false, 'manual');
    for (let i = 0; i < 100; i++) h.record('success', none, 'active');
    expect(h.healthy).toBe(false);
  });

  it('reports a change of state only once', () => {
    const registry = new HealthRegistry();
    const changes: boolean[] = [];
    registry.onTransition((h) => changes.push(h.healthy));
    const h = registry.get('a:1');
    for (let i = 0; i < 10; i++) registry.record(h, 'tcp_failure', T, 'active', 'refused');
    for (let i = 0; i < 10; i++) registry.record(h, 'success', T, 'active', 'ok');
    expect(changes).toEqual([false, true]);
  });

  it('forgets addresses that leave the config, so a re-added target starts afresh', () => {
    const registry = new HealthRegistry();
    registry.set(registry.get('a:1'), false, 'manual', 'test');
    registry.retain(new Set(['a:1']));
    expect(registry.get('a:1').healthy).toBe(false);
    registry.retain(new Set());
    expect(registry.get('a:1').healthy).toBe(true);
  });
});

describe('PassiveMonitor', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const healthchecks = (extra: string) => {
    const parsed = parseConfig(`upstreams:\n  - name: u\n    healthchecks:\n${extra}`, 't.yaml');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    return parsed.config.upstreams[0].healthchecks;
  };

  it('ejects on configured statuses and, with passive checks alone, returns the target after the cool-down', () => {
    const hc = healthchecks('      passive: { unhealthy: { http_failures: 2 }, cooldown: 5 }');
    const registry = new HealthRegistry();
    const monitor = new PassiveMonitor(hc, registry, systemClock, 'up');
    const h = registry.get('a:1');
    monitor.status(h, 500);
    monitor.status(h, 404); // in neither list: says nothing
    expect(h.healthy).toBe(true);
    monitor.status(h, 503);
    expect(h.healthy).toBe(false);
    vi.advanceTimersByTime(4_999);
    expect(h.healthy).toBe(false);
    vi.advanceTimersByTime(1);
    expect(h.healthy).toBe(true);
    expect(h.source).toBe('cooldown');
  });

  it('leaves the return to active checks when they are on', () => {
    const hc = healthchecks('      passive: { unhealthy: { tcp_failures: 1 } }\n      active: { healthy: { interval: 1, successes: 1 } }');
    const registry = new HealthRegistry();
    const h = registry.get('a:1');
    new PassiveMonitor(hc, registry, systemClock, 'up').failure(h, 'tcp_failure', 'ECONNREFUSED');
    expect(h.healthy).toBe(false);
    vi.advanceTimersByTime(600_000);
    expect(h.healthy).toBe(false);
  });
});
