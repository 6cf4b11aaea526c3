import type { Clock, Timer } from '../clock.js';
import type { Config, Healthchecks } from '../config/schema/config-schema.js';
import { activeEnabled } from './passive.js';
import { probe as realProbe, type ProbeResult } from './probe.js';
import type { HealthRegistry } from './registry.js';
import type { TargetHealth } from './state.js';

type Active = Healthchecks['active'];

/** Probes one address once. Injected so that the scheduling can be tested without sockets. */
export type ProbeFn = (address: string, active: Active) => Promise<ProbeResult>;

/** One target of one upstream under active checks. */
interface Job {
  readonly key: string;
  readonly upstream: string;
  readonly address: string;
  readonly active: Active;
  readonly health: TargetHealth;
  readonly slots: Slots;
  timer?: Timer;
  probing: boolean;
  stopped: boolean;
}

/** Kong's `concurrency`: how many targets of one upstream are probed at once. */
class Slots {
  private busy = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.busy >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.busy++;
    try {
      return await fn();
    } finally {
      this.busy--;
      this.waiting.shift()?.();
    }
  }
}

/**
 * Active health checks: each target is probed every `healthy.interval` seconds while
 * healthy and every `unhealthy.interval` while not (0: not probed in that state). Each
 * round is one plain function; the schedule is a chain of timers on the injected Clock,
 * spread over the interval so that targets are not all probed at once.
 */
export class ActiveChecker {
  private readonly jobs = new Map<string, Job>();

  constructor(
    private readonly registry: HealthRegistry,
    private readonly clock: Clock,
    private readonly probe: ProbeFn = realProbe,
  ) {
    // A target whose state changed may now need probing at the other interval.
    registry.onTransition((health) => {
      for (const job of this.jobs.values()) if (job.health === health && !job.probing) this.schedule(job, 1);
    });
  }

  /** Start probing what the config asks for, and stop what it no longer does. */
  sync(config: Config): void {
    const wanted = new Set<string>();
    for (const up of config.upstreams) {
      if (!activeEnabled(up.healthchecks)) continue;
      const active = up.healthchecks.active;
      const settings = JSON.stringify(active);
      const slots = new Slots(active.concurrency);
      up.targets.forEach((t, i) => {
        const key = `${up.name}|${t.target}|${settings}`;
        wanted.add(key);
        if (this.jobs.has(key)) return;
        const job: Job = { key, upstream: up.name, address: t.target, active, health: this.registry.get(t.target), slots, probing: false, stopped: false };
        this.jobs.set(key, job);
        this.schedule(job, i / up.targets.length);
      });
    }
    for (const [key, job] of this.jobs) if (!wanted.has(key)) this.stop(job);
  }

  /** Probe a job's target once and count the result. */
  async round(job: Job): Promise<void> {
    job.probing = true;
    try {
      const result = await job.slots.run(() => this.probe(job.address, job.active));
      if (job.stopped || result.outcome === null) return;
      const a = job.active;
      const thresholds = { successes: a.healthy.successes, ...a.unhealthy };
      this.registry.record(job.health, result.outcome, thresholds, 'active', `${job.upstream} ${result.detail}`);
    } finally {
      job.probing = false;
      if (!job.stopped) this.schedule(job, 1);
    }
  }

  /** Stop every probe. */
  close(): void {
    for (const job of this.jobs.values()) this.stop(job);
  }

  /** Arm the job's timer for `fraction` of its current interval (none if that interval is 0). */
  private schedule(job: Job, fraction: number): void {
    if (job.timer) this.clock.clearTimeout(job.timer);
    job.timer = undefined;
    const interval = job.health.healthy ? job.active.healthy.interval : job.active.unhealthy.interval;
    if (interval <= 0) return;
    job.timer = this.clock.setTimeout(
      () => {
        job.timer = undefined;
        void this.round(job);
      },
      interval * 1000 * fraction,
    );
  }

  private stop(job: Job): void {
    job.stopped = true;
    if (job.timer) this.clock.clearTimeout(job.timer);
    this.jobs.delete(job.key);
  }
}
