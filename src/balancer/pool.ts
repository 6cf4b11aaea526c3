import { WeightedRoundRobin } from './weighted-round-robin.js';

/** What the balancer needs to know about a target: nothing but whether it may take traffic. */
export interface PoolMember {
  readonly address: string;
  /** False while health checks (or an operator) hold the target out of rotation. */
  readonly healthy: boolean;
}

/** A target and its weight within one upstream. */
export interface WeightedMember<T extends PoolMember> {
  readonly member: T;
  readonly weight: number;
}

const isHealthy = (m: PoolMember): boolean => m.healthy;

/** An upstream's targets with their weights and live health → pick(). */
export class Pool<T extends PoolMember> {
  readonly members: readonly WeightedMember<T>[];
  private readonly wrr: WeightedRoundRobin<T>;

  constructor(members: readonly WeightedMember<T>[]) {
    this.members = members;
    this.wrr = new WeightedRoundRobin(
      members.map((m) => m.member),
      members.map((m) => m.weight),
      isHealthy,
    );
  }

  /** The next healthy target with weight > 0, or undefined when there is none. */
  pick(): T | undefined {
    return this.wrr.pick();
  }

  /**
   * For a retry: a healthy target other than `not`, else `not` itself if it is still healthy.
   * The rotation is tried first (it spreads retries by weight); with weights as uneven as
   * 100:5 it may keep landing on `not`, so a scan makes sure another target is found.
   */
  pickOther(not: T): T | undefined {
    for (let i = 0; i < this.members.length; i++) {
      const t = this.wrr.pick();
      if (t === undefined || t !== not) return t;
    }
    for (const m of this.members) if (m.member !== not && m.weight > 0 && m.member.healthy) return m.member;
    return not.healthy ? not : undefined;
  }

  /** True when at least one target could take a request now. */
  hasHealthy(): boolean {
    for (const m of this.members) if (m.weight > 0 && m.member.healthy) return true;
    return false;
  }
}
