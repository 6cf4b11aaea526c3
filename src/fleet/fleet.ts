import { hostname } from 'node:os';
import { createClient } from 'redis';
import type { Config } from '../config/schema/config-schema.js';
import type { ChangePipeline, SharedLog } from '../core/pipeline.js';
import type { TrafficSource } from '../core/traffic.js';
import { ConflictError, SwitchyardError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RolloutController } from '../rollout/controller.js';
import { LeaderLease } from './lease.js';
import { FleetLog, fleetKeys, type LogEntry, type RedisLike } from './log.js';
import { type InstanceRecord, Membership } from './membership.js';
import { fromShared, sharedText } from './shared.js';
import { FleetTraffic, parseCounts } from './traffic.js';

/** Where this instance is in the fleet, and how to reach Redis. */
export interface FleetOptions {
  /** redis:// or rediss:// URL (may carry a password). */
  readonly url: string;
  readonly name: string;
  readonly instance: string;
  /** Heartbeat TTL: an instance silent this long has left. */
  readonly heartbeatMs?: number;
  /** Leader lease TTL: a dead leader is replaced within about this long. */
  readonly leaseMs?: number;
}

/** What the fleet works on: the running instance. */
export interface FleetHost {
  readonly pipeline: ChangePipeline;
  readonly rollouts: RolloutController;
  /** This process's own rollout traffic (summed over its workers). */
  readonly traffic: TrafficSource;
  /** Healthy and total targets per upstream, as this instance sees them. */
  health(): Record<string, { healthy: number; total: number }>;
}

/** An instance's applied version and when, as GET /fleet and `?wait=fleet` give them. */
export interface AppliedAt {
  readonly id: string;
  readonly version: number;
  readonly applied_at: string;
}

/** What `?wait=fleet` found: who applied the version, and who did not in time. */
export interface FleetProof {
  readonly version: number;
  readonly instances: readonly (AppliedAt & { readonly after_ms: number })[];
  readonly missing: readonly string[];
}

const DEFAULT_HEARTBEAT_MS = 2000;
const DEFAULT_LEASE_MS = 3000;
const FOLLOW_BLOCK_MS = 1000;
/** How long start-up waits for Redis before serving the local file alone (and joining once Redis answers). */
const JOIN_WAIT_MS = 5000;

/** The default instance id: HOSTNAME:PID. */
export function defaultInstance(): string {
  return `${hostname()}:${process.pid}`;
}

/** A Redis URL without its password, for logs and answers. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis (unparsable URL)';
  }
}

type Client = ReturnType<typeof createClient>;

/**
 * One instance's membership of a fleet (SPEC 10). The fleet's config lives in Redis as an
 * ordered log of versions; this instance
 * - joins by seeding an empty log from its file, or by applying the newest version;
 * - follows the log, applying every other instance's version in order, validated like a file;
 * - records each change made here as the next version (SharedLog.propose) against the version
 *   it was made on, so two instances' changes cannot both win: the loser's answer is 409 and
 *   its instance applies the winner's version;
 * - keeps a heartbeat (id, admin address, version, health), announces each version it applies,
 *   and tries for the leader lease, which runs the rollouts on the sum of every instance's traffic.
 * With Redis unreachable it serves the last version it applied and refuses changes (503);
 * when Redis is back it catches up, or seeds the log again where Redis lost it.
 */
export class Fleet implements SharedLog {
  readonly name: string;
  readonly id: string;
  readonly traffic: FleetTraffic;
  /** The newest version this instance runs (0 before it joined). */
  version = 0;
  /** When it applied that version (epoch ms). */
  appliedAt = 0;
  /** Set when this instance's file differed from the fleet's config when it joined. */
  following?: string;
  /** The last version refused as invalid, and why (cleared once a later one applies). */
  refused?: { readonly version: number; readonly reason: string };
  refusedTotal = 0;
  leader = false;
  /** Live instances at the last heartbeat. */
  liveCount = 0;

  private readonly cmd: Client;
  private readonly blocking: Client;
  private readonly sub: Client;
  private readonly log: FleetLog;
  private readonly follower: FleetLog;
  private readonly members: Membership;
  private readonly lease: LeaderLease;
  private readonly keys: ReturnType<typeof fleetKeys>;
  private readonly boot = Date.now();
  private readonly heartbeatMs: number;
  private host?: FleetHost;
  private admin = '';

  /** The last version read from the log (applied, refused, or this instance's own). */
  private cursor = 0;
  /** The version the next change made here is proposed on top of. */
  private planned = 0;
  /** Bumped whenever the running config stops being the one changes were planned on (a remote version, a lost proposal). */
  private epoch = 0;
  /** Own proposals in flight: version → the text proposed, and when this instance swapped it in. */
  private readonly pending = new Map<number, { readonly text: string; readonly at: number }>();
  /** Proposals are sent one at a time, in the order they were made. */
  private chain: Promise<unknown> = Promise.resolve();
  /** The shared text of the config running here. */
  private running = '';
  private synced = false;
  private downSince?: number;
  private downReason = 'not connected yet';
  private closed = false;
  private beatTimer?: NodeJS.Timeout;
  private following$?: Promise<void>;
  private readonly waiters = new Set<(a: AppliedAt) => void>();
  /** Resolves start() once the first join is done. */
  private joinedOnce?: () => void;
  /** Resolves start() once the first join is done. */
  constructor(
    private readonly options: FleetOptions,
    private readonly logger: Logger,
  ) {
    this.name = options.name;
    this.id = options.instance;
    this.keys = fleetKeys(options.name);
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    // Commands fail at once while Redis is away (no offline queue): a change is refused, not held.
    this.cmd = createClient({
      url: options.url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 2000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000) },
    });
    this.blocking = this.cmd.duplicate();
    this.sub = this.cmd.duplicate();
    for (const c of [this.cmd, this.blocking, this.sub]) c.on('error', (err: unknown) => this.down(err));
    this.cmd.on('ready', () => {
      if (this.downSince !== undefined) this.logger.info({ fleet: this.name, redis: redactUrl(options.url) }, 'fleet: Redis is reachable again');
    });
    const redis = this.cmd as unknown as RedisLike;
    this.log = new FleetLog(redis, options.name);
    this.follower = new FleetLog(this.blocking as unknown as RedisLike, options.name);
    this.members = new Membership(redis, options.name, this.heartbeatMs);
    this.lease = new LeaderLease(redis, options.name, options.leaseMs ?? DEFAULT_LEASE_MS);
    this.traffic = new FleetTraffic((nonce) => this.askForTraffic(nonce));
  }

  /**
   * Connect and join: seed the fleet from this instance's config, or apply the fleet's
   * newest version. Waits up to JOIN_WAIT_MS for Redis; without it, the instance serves its
   * file (changes refused) and joins when Redis answers.
   */
  async start(host: FleetHost): Promise<void> {
    this.host = host;
    this.running = sharedText(host.pipeline.current.config);
    host.pipeline.share(this);
    const connect = (c: Client) => c.connect().catch((err: unknown) => this.down(err));
    await Promise.race([Promise.all([connect(this.cmd), connect(this.blocking), connect(this.sub)]), delay(JOIN_WAIT_MS)]);
    await this.sub
      .subscribe([this.keys.applied, this.keys.report, this.keys.reports], (message, channel) => this.heard(channel, message))
      .catch((err: unknown) => this.down(err));
    const joined = new Promise<void>((resolve) => {
      this.joinedOnce = resolve;
    });
    this.following$ = this.follow();
    await Promise.race([joined, delay(JOIN_WAIT_MS)]);
    if (!this.synced)
      this.logger.warn(
        { fleet: this.name, reason: this.downReason },
        'fleet: not joined yet: serving the local config file; changes are refused until Redis answers',
      );
  }

  /** Start the heartbeat (and the bid for the lease), with the admin address other instances see. */
  serve(admin: string): void {
    this.admin = admin;
    const tick = () => {
      void this.beat().finally(() => {
        if (!this.closed) this.beatTimer = setTimeout(tick, Math.max(100, Math.floor(this.heartbeatMs / 3)));
      });
    };
    tick();
  }

  /** Why a change cannot be made now; undefined when it can. */
  blocked(): string | undefined {
    if (this.synced && this.cmd.isReady) return undefined;
    return `the fleet's Redis (${redactUrl(this.options.url)}) is unreachable (${this.downReason}): changes are refused so that instances cannot disagree; every instance keeps serving the version it has (here ${this.version})`;
  }

  /** Record a change made here as the next version; see SharedLog. */
  propose(config: Config): Promise<number> {
    const text = sharedText(config);
    // A change to this instance's own sections only (listeners, log level) is no fleet version.
    if (text === this.running) return Promise.resolve(this.version);
    this.running = text;
    const expected = this.planned;
    const version = expected + 1;
    this.planned = version;
    // This instance serves the change from now (the pipeline swapped it in just before): that is when it applied it.
    const swappedAt = Date.now();
    this.pending.set(version, { text, at: swappedAt });
    const epoch = this.epoch;
    const meta = JSON.stringify({ instance: this.id, at: swappedAt });
    const recorded = this.chain.then(async () => {
      if (epoch !== this.epoch) throw this.lost(epoch, 'another change came first');
      let result: { ok: boolean; version: number };
      try {
        result = await this.log.append(expected, text, meta);
      } catch (err) {
        throw this.lost(epoch, undefined, err);
      }
      if (!result.ok) throw this.lost(epoch, `version ${result.version} came first`);
      if (this.pending.get(version)?.text === text) {
        this.pending.delete(version);
        if (version > this.cursor) this.cursor = version;
        this.applied(version, swappedAt);
      }
      return version;
    });
    this.chain = recorded.catch(() => undefined);
    return recorded;
  }

  /**
   * A proposal that did not make it into the log. The running config is no longer one the
   * fleet has: what comes next from the log replaces it (the winner's version), or the resync
   * puts the newest version back.
   */
  private lost(epoch: number, conflict?: string, err?: unknown): SwitchyardError {
    if (epoch === this.epoch) {
      this.epoch++;
      this.pending.clear();
      this.planned = this.cursor;
      this.running = '';
      if (!conflict) this.synced = false;
    }
    if (conflict)
      return new ConflictError(
        `another instance changed the fleet at the same time (${conflict}); this change was not kept and its instance follows the fleet's version: read the entity again and retry`,
      );
    return new SwitchyardError(
      'UNAVAILABLE',
      `the fleet's Redis went away while this change was being recorded (${err instanceof Error ? err.message : String(err)}); it is undone once Redis is back unless it was recorded: check with GET /fleet`,
    );
  }

  /** The follower: join (or resync), then apply every new version in order, until closed. */
  private async follow(): Promise<void> {
    while (!this.closed) {
      try {
        if (!this.synced) await this.sync();
        const entries = await this.follower.follow(this.cursor, FOLLOW_BLOCK_MS);
        for (const e of entries) this.receive(e);
      } catch (err) {
        if (this.closed) return;
        this.down(err);
        await delay(200);
      }
    }
  }

  /**
   * Join or rejoin: an empty log is seeded from this instance's config (a new fleet), a log
   * behind this instance is seeded again (Redis restarted without its data), a log ahead is
   * caught up by the follower (only its newest version at the first join).
   */
  private async sync(): Promise<void> {
    const pipeline = this.requireHost().pipeline;
    const head = await this.log.head();
    if (head === undefined || head.version < this.version) {
      const meta = JSON.stringify({ instance: this.id, at: Date.now(), seed: true });
      const text = sharedText(pipeline.current.config);
      const seeded = this.version === 0 ? await this.log.append(0, text, meta) : await this.log.seed(this.version, text, meta);
      // Another instance seeded first: join its version instead.
      if (!seeded.ok) return this.sync();
      this.logger.info(
        { fleet: this.name, version: seeded.version },
        this.version === 0 ? 'fleet: new fleet seeded from this config' : 'fleet: Redis had lost the log: seeded it again with the version this instance runs',
      );
      this.cursor = this.planned = seeded.version;
      this.running = text;
      this.applied(seeded.version);
    } else if (this.cursor === 0) {
      this.receive(head, true);
    } else if (head.version === this.cursor && head.config !== this.running && this.pending.size === 0) {
      // A change made here while Redis went away never reached the log: the log's version is put back.
      this.cursor = head.version - 1;
      this.receive(head);
    }
    this.synced = this.cursor > 0;
    if (this.synced) {
      this.downSince = undefined;
      this.joinedOnce?.();
    }
  }

  /** A version from the log: this instance's own (confirmed), or another's (validated, then applied). */
  private receive(e: LogEntry, joining = false): void {
    if (e.version <= this.cursor) return;
    this.cursor = e.version;
    const mine = this.pending.get(e.version);
    this.pending.delete(e.version);
    if (mine?.text === e.config) {
      this.applied(e.version, mine.at);
      return;
    }
    const { pipeline } = this.requireHost();
    const by = instanceOf(e.meta);
    const made = fromShared(e.config, pipeline.current.config);
    // Whatever it holds, the next change made here goes on top of this version.
    this.epoch++;
    this.pending.clear();
    this.planned = e.version;
    if ('error' in made) {
      this.refused = { version: e.version, reason: made.error };
      this.refusedTotal++;
      this.logger.error(
        { fleet: this.name, version: e.version, by, reason: made.error },
        'fleet: refused a version that is not a valid config; still serving the one before',
      );
      return;
    }
    const text = sharedText(made.config);
    if (text !== this.running) {
      if (joining) {
        this.following = `this instance's config file differed from the fleet's: it follows fleet version ${e.version} (set by ${by})`;
        this.logger.warn({ fleet: this.name, version: e.version, by }, `fleet: ${this.following}`);
      }
      this.running = text;
      try {
        pipeline.apply({ kind: 'config', config: made.config }, { via: 'fleet', by });
      } catch (err) {
        this.refused = { version: e.version, reason: err instanceof Error ? err.message : String(err) };
        this.refusedTotal++;
        this.logger.error({ fleet: this.name, version: e.version, by, reason: this.refused.reason }, 'fleet: could not apply a version');
        return;
      }
    }
    this.applied(e.version);
  }

  /** This instance runs `version` now: say so to the fleet (a waiting ?wait=fleet hears it at once). */
  private applied(version: number, at = Date.now()): void {
    this.version = version;
    this.appliedAt = at;
    if (this.refused && this.refused.version < version) this.refused = undefined;
    if (!this.cmd.isReady) return;
    const message = JSON.stringify({ id: this.id, version, at: this.appliedAt });
    this.cmd.publish(this.keys.applied, message).catch(() => undefined);
    if (this.admin) void this.beat();
  }

  /** Renew this instance's record and bid for the lease; step down when Redis is away. */
  private async beat(): Promise<void> {
    if (this.closed) return;
    try {
      await this.members.beat(this.record());
      this.liveCount = (await this.members.list()).length;
      await this.leads(await this.lease.hold(this.id));
    } catch (err) {
      this.down(err);
      await this.leads(false);
    }
  }

  /** Become the leader (the rollouts run here, judged on fresh fleet-wide counts) or stop being it. */
  private async leads(now: boolean): Promise<void> {
    if (now === this.leader) return;
    this.leader = now;
    const { rollouts } = this.requireHost();
    if (!now) {
      rollouts.follow();
      this.logger.info({ fleet: this.name }, 'fleet: no longer the leader');
      return;
    }
    this.logger.info({ fleet: this.name }, 'fleet: leader: rollouts run here');
    await this.traffic.refresh();
    if (this.leader && !this.closed) rollouts.lead(this.id);
  }

  private record(): InstanceRecord {
    return {
      id: this.id,
      admin: this.admin,
      version: this.version,
      applied_at: this.appliedAt,
      leader: this.leader,
      upstreams: this.requireHost().health(),
      at: Date.now(),
    };
  }

  /** The live instances, as their last heartbeats say. */
  instances(): Promise<InstanceRecord[]> {
    return this.members.list();
  }

  /** Who holds the leader lease now. */
  holder(): Promise<string | undefined> {
    return this.lease.holder();
  }

  /**
   * `?wait=fleet`: resolve once every live instance has applied `version` (or a later one),
   * or after `timeoutMs` with the instances that did not. `since` is when the call arrived.
   */
  async waitFor(version: number, timeoutMs: number, since: number): Promise<FleetProof> {
    const got = new Map<string, AppliedAt>();
    let wanted: Set<string> | undefined;
    let finish = () => {};
    const complete = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const check = () => {
      if (wanted && [...wanted].every((id) => got.has(id))) finish();
    };
    const hear = (a: AppliedAt) => {
      if (a.version >= version && !got.has(a.id)) got.set(a.id, a);
      check();
    };
    this.waiters.add(hear);
    let timer: NodeJS.Timeout | undefined;
    try {
      const live = await this.members.list();
      wanted = new Set(live.map((m) => m.id));
      wanted.add(this.id);
      if (this.version >= version) hear({ id: this.id, version: this.version, applied_at: new Date(this.appliedAt).toISOString() });
      for (const m of live) if (m.version >= version) hear({ id: m.id, version: m.version, applied_at: new Date(m.applied_at ?? m.at).toISOString() });
      await Promise.race([complete, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    } finally {
      clearTimeout(timer);
      this.waiters.delete(hear);
    }
    const instances = [...got.values()]
      .map((a) => ({ ...a, after_ms: Math.max(0, Date.parse(a.applied_at) - since) }))
      .sort((a, b) => a.id.localeCompare(b.id));
    return { version, instances, missing: [...(wanted ?? [])].filter((id) => !got.has(id)).sort() };
  }

  /** A pub/sub message: an instance applied a version, the leader asks for traffic, an instance reports it. */
  private heard(channel: string, message: string): void {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(message) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof m !== 'object' || m === null) return;
    if (channel === this.keys.applied) {
      if (typeof m.id !== 'string' || typeof m.version !== 'number' || typeof m.at !== 'number') return;
      const a: AppliedAt = { id: m.id, version: m.version, applied_at: new Date(m.at).toISOString() };
      for (const hear of this.waiters) hear(a);
    } else if (channel === this.keys.report) {
      if (typeof m.nonce === 'number') void this.report(m.nonce);
    } else if (channel === this.keys.reports) {
      const traffic = parseCounts(m.traffic);
      if (typeof m.id === 'string' && typeof m.boot === 'number' && typeof m.nonce === 'number' && traffic) this.traffic.update(m.id, m.boot, m.nonce, traffic);
    }
  }

  /** The leader asked: send this process's cumulative rollout counts for every upstream. */
  private async report(nonce: number): Promise<void> {
    const { traffic, pipeline } = this.requireHost();
    await traffic.refresh?.();
    const counts: Record<string, { requests: number; errors: number; buckets: number[] }> = {};
    for (const name of pipeline.current.upstreams.keys()) {
      const r = traffic.read(name);
      counts[name] = { requests: r.requests, errors: r.errors, buckets: Array.from(r.buckets) };
    }
    await this.cmd.publish(this.keys.reports, JSON.stringify({ id: this.id, boot: this.boot, nonce, traffic: counts })).catch(() => undefined);
  }

  /** Ask every instance for its traffic; the ids of those that should answer. */
  private async askForTraffic(nonce: number): Promise<string[]> {
    const live = await this.members.list();
    await this.cmd.publish(this.keys.report, JSON.stringify({ nonce }));
    return [...new Set([this.id, ...live.map((m) => m.id)])];
  }

  /** Redis went away (or refused): log it once per outage. */
  private down(err: unknown): void {
    const reason = err instanceof Error ? err.message || err.name : String(err);
    this.downReason = reason;
    if (this.downSince !== undefined || this.closed) return;
    this.downSince = Date.now();
    this.synced = false;
    this.logger.warn(
      { fleet: this.name, redis: redactUrl(this.options.url), reason },
      'fleet: Redis is unreachable: serving the last applied version, changes refused',
    );
  }

  /** Why /status should say warn; undefined when all is well. */
  problem(): string | undefined {
    const blocked = this.blocked();
    if (blocked) return blocked;
    if (this.refused) return `fleet version ${this.refused.version} was refused: ${this.refused.reason}`;
    return undefined;
  }

  /** The fleet as /status shows it. */
  view(): Record<string, unknown> {
    return {
      name: this.name,
      instance: this.id,
      redis: redactUrl(this.options.url),
      connected: this.blocked() === undefined,
      version: this.version,
      leader: this.leader,
      live_instances: this.liveCount,
      ...(this.following ? { following: this.following } : {}),
      ...(this.refused ? { refused: this.refused } : {}),
      refused_total: this.refusedTotal,
    };
  }

  /** Leave the fleet: give up the lease and the membership record, close the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.beatTimer);
    if (this.cmd.isReady) {
      await this.lease.release(this.id).catch(() => undefined);
      await this.members.leave(this.id).catch(() => undefined);
    }
    this.blocking.destroy();
    await Promise.all([this.sub.close().catch(() => undefined), this.cmd.close().catch(() => undefined)]);
    await this.following$?.catch(() => undefined);
  }

  private requireHost(): FleetHost {
    if (!this.host) throw new Error('the fleet was not started');
    return this.host;
  }
}

/** The instance a log entry's meta names. */
function instanceOf(meta: string): string {
  try {
    const m = JSON.parse(meta) as { instance?: unknown };
    return typeof m.instance === 'string' ? m.instance : 'unknown';
  } catch {
    return 'unknown';
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
