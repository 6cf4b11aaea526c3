import { describe, expect, it } from 'vitest';
import type { Clock, Timer } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load/parse.js';
import { History } from '../../src/core/history.js';
import { ChangePipeline } from '../../src/core/pipeline.js';
import { ProxyState } from '../../src/core/state.js';
import { silentLogger } from '../../src/log.js';
import { RolloutController } from '../../src/rollout/controller.js';
import { planOf } from '../../src/rollout/plan.js';
import { rolloutRequest } from '../../src/config/schema/config-schema.js';
import { checkBody } from '../../src/config/schema/validate.js';

/** A clock whose time and timers the test moves by hand. */
class ManualClock implements Clock {
  time = 0;
  timers: { at: number; fn: () => void; handle: Timer }[] = [];
  now = () => this.time;
  elapsed = () => this.time;
  setTimeout = (fn: () => void, ms: number): Timer => {
    // A real (never started) timer object stands for the handle, so no cast is needed.
    const handle = setTimeout(() => undefined, 0);
    clearTimeout(handle);
    this.timers.push({ at: this.time + ms, fn, handle });
    return handle;
  };
  clearTimeout = (t: Timer) => {
    this.timers = this.timers.filter((x) => x.handle !== t);
  };
  /** Fire the next timer, with the wall clock at `time`. */
  fire(time: number): void {
    const next = this.timers.shift();
    this.time = time;
    next?.fn();
  }
}

function setup() {
  const parsed = parseConfig('services: [{ name: s, host: blue }]\nupstreams: [{ name: blue }, { name: green }]\n', 't.yaml');
  if (!parsed.ok) throw new Error('bad config');
  const clock = new ManualClock();
  const state = new ProxyState(parsed.config, clock);
  const pipeline = new ChangePipeline(state, new History(), silentLogger());
  return { clock, state, pipeline, controller: new RolloutController(pipeline, state.traffic, clock) };
}

const request = (body: Record<string, unknown>) => {
  const { force: _force, ...plan } = checkBody(rolloutRequest, body);
  return planOf('s', 'blue', plan);
};

describe('RolloutController', () => {
  it('keeps counting a window when its timer fires a moment before the window ends', async () => {
    const { clock, state, controller } = setup();
    controller.start(request({ to: 'green', steps: [10, 100], interval: 1000, analysis: { min_requests: 100 } }), { via: 'admin', by: 'test' });
    const green = state.traffic.get('green');
    for (let i = 0; i < 80; i++) green.record(5, false);
    clock.fire(999); // early: nothing judged
    expect(controller.get('s').judgements).toEqual([]);
    for (let i = 0; i < 40; i++) green.record(5, false);
    clock.fire(1000);
    expect(controller.get('s').judgements.map((j) => [j.verdict, j.requests])).toEqual([['pass', 120]]);
    expect(controller.get('s').state).toBe('succeeded');
    await state.close();
  });

  it('takes every step through the pipeline: history says who, the config keeps progress and the host to roll back to', async () => {
    const { clock, state, pipeline, controller } = setup();
    controller.start(request({ to: 'green', steps: [50, 100], interval: 1000, analysis: { min_requests: 0 } }), { via: 'admin', by: '10.0.0.9' });
    expect(state.current.config.services[0]).toMatchObject({ split: { blue: 50, green: 50 }, rollout: { to: 'green', step: 1 } });
    clock.fire(1000); // a pass at 50% takes the last step, 100%: the rollout has succeeded
    const svc = state.current.config.services[0];
    expect(svc).toMatchObject({ host: 'green', previous_host: 'blue' });
    expect(svc.split).toBeUndefined();
    expect(pipeline.history.list('s').map((e) => [e.event, e.via, e.by])).toEqual([
      ['rollout_started', 'admin', '10.0.0.9'],
      ['rollout_judgement', 'rollout', 'rollout'],
      ['rollout_succeeded', 'rollout', 'rollout'],
    ]);
    await state.close();
  });

  it('refuses a plan the config would refuse, and leaves nothing behind', async () => {
    const { state, pipeline, controller } = setup();
    expect(() => controller.start(request({ to: 'purple' }), { via: 'admin', by: 'test' })).toThrow(/unknown upstream "purple"/);
    expect(() => controller.start(request({ to: 'blue' }), { via: 'admin', by: 'test' })).toThrow(/already the service's host/);
    expect(controller.active('s')).toBe(false);
    expect(state.current.generation).toBe(1);
    expect(pipeline.history.list('s')).toEqual([]);
    await state.close();
  });
});
