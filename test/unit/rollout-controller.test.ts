import { describe, expect, it } from 'vitest';
import type { Clock, Timer } from '../../src/clock.js';
import { parseConfig } from '../../src/config/parse.js';
import { silentLogger } from '../../src/log.js';
import { RolloutController } from '../../src/rollout/controller.js';
import { parsePlan } from '../../src/rollout/plan.js';
import { Runtime } from '../../src/runtime.js';
import { Switchboard } from '../../src/switchboard.js';

/** A clock whose time and timers the test moves by hand. */
class ManualClock implements Clock {
  time = 0;
  timers: { at: number; fn: () => void }[] = [];
  now = () => this.time;
  setTimeout = (fn: () => void, ms: number): Timer => {
    const t = { at: this.time + ms, fn };
    this.timers.push(t);
    return t as unknown as Timer;
  };
  clearTimeout = (t: Timer) => {
    this.timers = this.timers.filter((x) => x !== (t as unknown));
  };
  /** Fire the next timer, with the wall clock at `time`. */
  fire(time: number): void {
    const next = this.timers.shift();
    this.time = time;
    next?.fn();
  }
}

describe('RolloutController', () => {
  it('keeps counting a window when its timer fires a moment before the window ends', async () => {
    const parsed = parseConfig('services: [{ name: s, host: blue }]\nupstreams: [{ name: blue }, { name: green }]\n', 't.yaml');
    if (!parsed.ok) throw new Error('bad config');
    const clock = new ManualClock();
    const runtime = new Runtime(parsed.config, clock);
    const controller = new RolloutController(runtime, new Switchboard(runtime, silentLogger()));
    controller.start(parsePlan('s', 'blue', { to: 'green', steps: [10, 100], interval: 1000, analysis: { min_requests: 100 } }), 'test');
    const green = runtime.traffic.get('green');
    for (let i = 0; i < 80; i++) green.record(5, false);
    clock.fire(999); // early: nothing judged
    expect(controller.get('s').judgements).toEqual([]);
    for (let i = 0; i < 40; i++) green.record(5, false);
    clock.fire(1000);
    expect(controller.get('s').judgements.map((j) => [j.verdict, j.requests])).toEqual([['pass', 120]]);
    expect(controller.get('s').state).toBe('succeeded');
    await runtime.close();
  });
});
