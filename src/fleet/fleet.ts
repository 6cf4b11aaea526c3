import { hostname } from 'node:os';
import type { Config } from '../config/schema/config-schema.js';
import type { PlannedEntry } from '../core/changes.js';
import type { ChangePipeline, SharedLog } from '../core/pipeline.js';
import type { TrafficSource } from '../core/traffic.js';
import { ConflictError, SwitchyardError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RolloutController } from '../rollout/controller.js';
import { LeaderLease } from './lease.js';
import { FleetLog, fleetKeys, type LogEntry } from './log.js';
import { type InstanceRecord, Membership } from './membership.js';
import { COMMAND_TIMEOUT_MS, fleetClient, type RedisClient, redactUrl, timed } from './redis.js';
import { entriesOf, fromShared, sharedText } from './shared.js';
import { mirrorTrafficKey } from '../mirror/stats.js';
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
  /** Redis is back and this instance in step again: retry what was refused meanwhile (a hand edit of the file). */
  resynced(): void;
}

/** An instance's applied version and when, as `?wait=fleet` gives them. */
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
const RETRY_MS = 200;

/** The default instance id: HOSTNAME:PID. */
export function defaultInstance(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * One instance's membership of a fleet (SPEC 10). The fleet's config lives in Redis as an
 * ordered log of versions; this instance
 * - joins by seeding an empty log from its file, or by applying the newest version;
 * - follows the log, applying every other instance's version in order, validated like a file;
 * - records each change made here as the next version (SharedLog.propose) against the version
 *   it was made on, so two instances' changes cannot both win: the loser's answer is 409, and a
 *   change that did not reach the log is undone here at once;
 * - keeps a heartbeat (id, admin address, version, health), announces each version once every
 *   worker serves it, and bids for the leader lease: the leader runs the rollouts on the sum of
 *   every instance's traffic.
 * With Redis unreachable it serves the last version it applied and refuses changes (503);
 * when Redis is back it catches up, or (the instance with the newest version) seeds the log
 * again where Redis lost it.
 */
export class Fleet implements SharedLog {
  readonly name: string;
  readonly id: string;
  readonly traffic: FleetTraffic;
  /** The newest version whose content runs here (0 before this instance joined). */
  version = 0;
  /** The newest version announced: served by every worker too. */
  announced = 0;
  /** When the announced version was applied (epoch ms). */
  appliedAt = 0;
  /** Set when this instance's file differed from the fleet's config when it joined. */
  following?: string;
  /** The last version refused as invalid, and why (cleared once a later one applies). */
  refused?: { readonly version: number; readonly reason: string };
  refusedTotal = 0;
  leader = false;
  /** Live instances at the last heartbeat. */
  liveCount = 0;

  private readonly cmd: RedisClient;
  private readonly blocking: RedisClient;
  private readonly sub: RedisClient;
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
  /** Own proposals in flight: version → the text proposed, and when every worker here served it. */
  private readonly pending = new Map<number, { readonly text: string; readonly served: Promise<number> }>();
  /** Proposals are sent one at a time, in the order they were made. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Announcements go out in version order, each once every worker serves it. */
  private announcing: Promise<unknown> = Promise.resolve();
  /** One heartbeat at a time. */
  private beating: Promise<void> = Promise.resolve();
  /** The shared text of the config running here. */
  private running = '';
  /** The shared text of `version`, as the log holds it: what a change that did not reach the log is undone to. */
  private confirmed = '';
  private synced = false;
  private subscribed = false;
  private downSince?: number;
  private downReason = 'not connected yet';
  private closed = false;
  private beatTimer?: NodeJS.Timeout;
  private following$?: Promise<void>;
  private readonly waiters = new Set<(a: AppliedAt) => void>();
  /** Resolves start() once the first join is done. */
  private joinedOnce?: () => void;

  constructor(
    private readonly options: FleetOptions,
    private readonly logger: Logger,
  ) {
    this.name = options.name;
    this.id = options.instance;
    this.keys = fleetKeys(options.name);
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.cmd = fleetClient(options.url);
    this.blocking = this.cmd.duplicate();
    this.sub = this.cmd.duplicate();
    for (const c of [this.cmd, this.blocking, this.sub]) c.on('error', (err: unknown) => this.down(err));
    this.cmd.on('ready', () => {
      if (this.downSince !== undefined) this.logger.info({ fleet: this.name, redis: redactUrl(options.url) }, 'fleet: Redis is reachable again');
    });
    const redis = timed(this.cmd);
    this.log = new FleetLog(redis, options.name);
    // A blocked read holds its connection: the follower has one of its own, timed past its block.
    this.follower = new FleetLog(timed(this.blocking, FOLLOW_BLOCK_MS + COMMAND_TIMEOUT_MS), options.name);
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
    const deadline = delay(JOIN_WAIT_MS);
    const joined = new Promise<void>((resolve) => {
      this.joinedOnce = resolve;
    });
    const connect = (c: RedisClient) => c.connect().catch((err: unknown) => this.down(err));
    await Promise.race([Promise.all([connect(this.cmd), connect(this.blocking), connect(this.sub)]), deadline]);
    void this.subscribe();
    this.following$ = this.follow();
    await Promise.race([joined, deadline]);
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
      void this.beatNow().finally(() => {
        if (!this.closed) this.beatTimer = setTimeout(tick, Math.max(100, Math.floor(this.heartbeatMs / 3)));
      });
    };
    tick();
  }

  /** Why a change cannot be made now; undefined when it can. */
  blocked(): string | undefined {
    if (this.synced && this.subscribed && this.cmd.isReady) return undefined;
    return `the fleet's Redis (${redactUrl(this.options.url)}) is unreachable (${this.downReason}): changes are refused so that instances cannot disagree; every instance keeps serving the version it has (here ${this.version})`;
  }

  /** Record a change made here as the next version; see SharedLog. */
  propose(config: Config, replicated: Promise<unknown>, entries: readonly PlannedEntry[]): Promise<number> {
    const text = sharedText(config);
    // A change to this instance's own sections only (listeners, log level) is no fleet version.
    if (text === this.running) return Promise.resolve(this.version);
    this.running = text;
    const expected = this.planned;
    const version = expected + 1;
    this.planned = version;
    // This instance serves the change once its workers do (at once without workers).
    const served = replicated.then(
      () => Date.now(),
      () => Date.now(),
    );
    this.pending.set(version, { text, served });
    const epoch = this.epoch;
    const meta = JSON.stringify({ instance: this.id, at: Date.now(), entries });
    const recorded = this.chain.then(async () => {
      if (epoch !== this.epoch) throw conflict('another change came first');
      let result: { ok: boolean; version: number };
      try {
        result = await this.log.append(expected, text, meta);
      } catch (err) {
        this.down(err);
        this.lost(epoch);
        throw new SwitchyardError(
          'UNAVAILABLE',
          `the fleet's Redis did not answer while this change was being recorded (${message(err)}): it was undone here; a Redis that only stalled may still record it when it answers, and then every instance applies it: check GET /fleet before retrying`,
        );
      }
      if (!result.ok) {
        this.lost(epoch);
        // Behind what was expected: Redis lost the log (a restart without persistence, a flush). A resync seeds it again.
        if (result.version < expected) {
          this.resync(`the fleet log went back to version ${result.version} (Redis lost its data)`);
          throw new SwitchyardError(
            'UNAVAILABLE',
            `the fleet's log went back to version ${result.version}: this change was undone here; retry once the fleet has resynced`,
          );
        }
        throw conflict(`version ${result.version} came first`);
      }
      const mine = this.pending.get(version);
      if (mine?.text === text) {
        this.pending.delete(version);
        if (version > this.cursor) this.cursor = version;
        this.confirm(version, text, served);
      }
      return version;
    });
    this.chain = recorded.catch(() => undefined);
    return recorded;
  }

  /**
   * A proposal that did not make it into the log: the running config is one the fleet does
   * not have, so it is undone here at once (the last version the log holds is put back), and
   * every proposal planned on top of it fails too.
   */
  private lost(epoch: number): void {
    if (epoch !== this.epoch) return; // a version from the log has replaced it already
    this.epoch++;
    this.pending.clear();
    this.planned = this.cursor;
    this.restore('a change that did not reach the fleet log was undone');
  }

  /** Put the last confirmed version back if something else runs here. */
  private restore(why: string): void {
    if (this.confirmed === '' || this.running === this.confirmed) return;
    const { pipeline } = this.requireHost();
    const made = fromShared(this.confirmed, pipeline.current.config);
    if ('error' in made) return;
    try {
      pipeline.apply({ kind: 'config', config: made.config }, { via: 'fleet', by: `${this.id} (undo)` });
      this.running = this.confirmed;
      this.logger.warn({ fleet: this.name, version: this.version }, `fleet: ${why}; running fleet version ${this.version} again`);
    } catch (err) {
      this.logger.error({ fleet: this.name, err: message(err) }, 'fleet: could not put the last fleet version back');
    }
  }

  /** Start over with the log: the follower resyncs (and seeds it again if it went back). */
  private resync(why: string): void {
    if (this.synced) this.logger.warn({ fleet: this.name }, `fleet: ${why}: resyncing`);
    this.synced = false;
  }

  /** The follower: join (or resync), then apply every new version in order, until closed. */
  private async follow(): Promise<void> {
    while (!this.closed) {
      try {
        if (!this.synced) await this.sync();
        if (!this.synced) {
          await delay(RETRY_MS);
          continue;
        }
        const entries = await this.follower.follow(this.cursor, FOLLOW_BLOCK_MS);
        for (const e of entries) this.receive(e);
        // Nothing new: check that the log did not go back under us (a flush, a failover to an empty replica).
        if (entries.length === 0) {
          const head = await this.log.head();
          if (head === undefined || head.version < this.cursor) this.resync(`the fleet log went back to version ${head?.version ?? 0}`);
        }
      } catch (err) {
        if (this.closed) return;
        this.down(err);
        await delay(RETRY_MS);
      }
    }
  }

  /**
   * Join or rejoin: an empty log is seeded from this instance's config (a new fleet); a log
   * behind the fleet's newest version is seeded again by the instance that ran it (Redis
   * restarted without its data); a log ahead is caught up by the follower (only its newest
   * version at the first join).
   */
  private async sync(): Promise<void> {
    const head = await this.log.head();
    if (head === undefined || head.version < this.version) {
      if (!(await this.seed())) return;
    } else if (this.cursor === 0) {
      this.receive(head, true);
    } else if (head.version === this.cursor && head.config !== this.confirmed && this.pending.size === 0) {
      this.logger.warn({ fleet: this.name, version: head.version }, 'fleet: the log holds other content for the version this instance runs: following the log');
      this.cursor = head.version - 1;
      this.receive(head);
    }
    this.restore('a change that did not reach the fleet log was undone');
    const wasDown = this.downSince !== undefined;
    this.synced = this.cursor > 0;
    if (!this.synced) return;
    this.downSince = undefined;
    this.joinedOnce?.();
    if (wasDown) this.requireHost().resynced();
  }

  /**
   * Seed the log: a new fleet gets version 1 from this instance's file; a log that lost its
   * data gets back the newest version, from the live instance that runs it (the first id of
   * those on it), after one heartbeat period so that every instance is heard from. True once
   * the log has a version this instance can follow.
   */
  private async seed(): Promise<boolean> {
    const meta = JSON.stringify({ instance: this.id, at: Date.now(), seed: true });
    if (this.version === 0) {
      const text = this.running;
      const seeded = await this.log.append(0, text, meta);
      if (!seeded.ok) return false; // another instance seeded first: the next round joins its version
      this.logger.info({ fleet: this.name, version: 1 }, 'fleet: new fleet seeded from this config');
      this.cursor = this.planned = 1;
      this.confirm(1, text, Date.now());
      return true;
    }
    await this.beatNow();
    await delay(this.heartbeatMs);
    const live = await this.members.list();
    const ahead = live.find((m) => m.version > this.version || (m.version === this.version && m.id < this.id));
    if (ahead) return false; // it seeds; this instance follows
    const seeded = await this.log.seed(this.version, this.confirmed, meta);
    if (seeded.ok) {
      this.logger.warn(
        { fleet: this.name, version: this.version },
        'fleet: Redis had lost the log: seeded it again with the newest version, which this instance runs',
      );
      this.cursor = this.planned = this.version;
    }
    return false; // either way the next round reads the log again
  }

  /** A version from the log: this instance's own (confirmed), or another's (validated, then applied). */
  private receive(e: LogEntry, joining = false): void {
    if (e.version <= this.cursor) return;
    this.cursor = e.version;
    const mine = this.pending.get(e.version);
    this.pending.delete(e.version);
    if (mine?.text === e.config) {
      this.confirm(e.version, e.config, mine.served);
      return;
    }
    const { pipeline } = this.requireHost();
    const { by, entries } = entriesOf(e.meta);
    const made = fromShared(e.config, pipeline.current.config);
    // Whatever it holds, the next change made here goes on top of this version.
    this.epoch++;
    this.pending.clear();
    this.planned = e.version;
    if ('error' in made) {
      this.refuse(e.version, by, made.error);
      return;
    }
    const text = sharedText(made.config);
    let served: Promise<number> | number = Date.now();
    if (text !== this.running) {
      if (joining) {
        this.following = `this instance's config file differed from the fleet's: it follows fleet version ${e.version} (set by ${by})`;
        this.logger.warn({ fleet: this.name, version: e.version, by }, `fleet: ${this.following}`);
      }
      try {
        const applied = pipeline.apply({ kind: 'config', config: made.config, entries }, { via: 'fleet', by });
        served = applied.replicated.then(
          () => Date.now(),
          () => Date.now(),
        );
      } catch (err) {
        this.refuse(e.version, by, message(err));
        return;
      }
      this.running = text;
    }
    this.confirm(e.version, text, served);
  }

  private refuse(version: number, by: string, reason: string): void {
    this.refused = { version, reason };
    this.refusedTotal++;
    this.logger.error({ fleet: this.name, version, by, reason }, 'fleet: refused a version that is not a valid config; still serving the one before');
  }

  /** This instance runs `version` now; it is announced once every worker serves it (a waiting ?wait=fleet hears it at once). */
  private confirm(version: number, text: string, served: Promise<number> | number): void {
    this.version = version;
    this.confirmed = text;
    if (this.refused && this.refused.version < version) this.refused = undefined;
    this.announcing = this.announcing
      .then(() => served)
      .then((at) => {
        if (version <= this.announced || this.closed) return;
        this.announced = version;
        this.appliedAt = at;
        if (!this.cmd.isReady) return;
        this.cmd.publish(this.keys.applied, JSON.stringify({ id: this.id, version, at })).catch(() => undefined);
        if (this.admin) void this.beatNow();
      });
  }

  /** Subscribe to the fleet's channels, retrying until Redis takes it (node-redis renews it on reconnects from then on). */
  private async subscribe(): Promise<void> {
    while (!this.closed && !this.subscribed) {
      try {
        await this.sub.subscribe([this.keys.applied, this.keys.report, this.keys.reports], (msg, channel) => this.heard(channel, msg));
        this.subscribed = true;
      } catch (err) {
        this.down(err);
        await delay(RETRY_MS);
      }
    }
  }

  /** One heartbeat, after any still running. */
  private beatNow(): Promise<void> {
    this.beating = this.beating.then(() => this.beat());
    return this.beating;
  }

  /** Renew this instance's record and bid for the lease; step down when Redis is away. */
  private async beat(): Promise<void> {
    if (this.closed) return;
    try {
      await this.members.beat(this.record());
      this.liveCount = (await this.members.list()).length;
      this.leads(this.synced && (await this.lease.hold(this.id)));
    } catch (err) {
      this.down(err);
      this.leads(false);
    }
  }

  /** Become the leader (the rollouts run here, judged on fresh fleet-wide counts) or stop being it. */
  private leads(now: boolean): void {
    if (now === this.leader) return;
    this.leader = now;
    const { rollouts } = this.requireHost();
    if (!now) {
      rollouts.follow();
      this.logger.info({ fleet: this.name }, 'fleet: no longer the leader');
      return;
    }
    this.logger.info({ fleet: this.name }, 'fleet: leader: rollouts run here');
    void this.traffic.refresh().then(() => {
      if (this.leader && !this.closed) rollouts.lead(this.id);
    });
  }

  private record(): InstanceRecord {
    return {
      id: this.id,
      admin: this.admin,
      version: this.announced,
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
    // The bound runs from the start: a Redis that stalls cannot hold the answer longer.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    this.waiters.add(hear);
    try {
      const listed = this.members.list().then((live) => {
        wanted = new Set([this.id, ...live.map((m) => m.id)]);
        if (this.announced >= version) hear({ id: this.id, version: this.announced, applied_at: iso(this.appliedAt) });
        for (const m of live) if (m.version >= version) hear({ id: m.id, version: m.version, applied_at: iso(m.applied_at ?? m.at) });
      });
      await Promise.race([Promise.all([listed, complete]), timeout]);
    } catch {
      // Redis went away while listing: whoever was heard from is the proof there is.
    } finally {
      clearTimeout(timer);
      this.waiters.delete(hear);
    }
    const instances = [...got.values()]
      .map((a) => ({ ...a, after_ms: Math.max(0, Date.parse(a.applied_at) - since) }))
      .sort((a, b) => a.id.localeCompare(b.id));
    const missing = wanted ? [...wanted].filter((id) => !got.has(id)).sort() : ['(the fleet could not be listed)'];
    return { version, instances, missing };
  }

  /** A pub/sub message: an instance applied a version, the leader asks for traffic, an instance reports it. */
  private heard(channel: string, text: string): void {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof m !== 'object' || m === null) return;
    if (channel === this.keys.applied) {
      if (typeof m.id !== 'string' || !isCount(m.version) || !isCount(m.at)) return;
      const a: AppliedAt = { id: m.id, version: m.version, applied_at: iso(m.at) };
      for (const hear of this.waiters) hear(a);
    } else if (channel === this.keys.report) {
      if (isCount(m.nonce)) void this.report(m.nonce);
    } else if (channel === this.keys.reports) {
      const traffic = parseCounts(m.traffic);
      if (typeof m.id === 'string' && isCount(m.boot) && isCount(m.seq) && isCount(m.nonce) && traffic)
        this.traffic.update(m.id, m.boot, m.seq, m.nonce, traffic);
    }
  }

  /** Reports this process sent, numbered so that an older one arriving late is ignored. */
  private reportSeq = 0;

  /** The leader asked: send this process's cumulative rollout counts for every upstream. */
  private async report(nonce: number): Promise<void> {
    const { traffic, pipeline } = this.requireHost();
    await traffic.refresh?.();
    const counts: Record<string, { requests: number; errors: number; buckets: number[] }> = {};
    const snap = pipeline.current;
    // A mirror's compared pairs travel as one more upstream's counts: the leader judges a shadow phase on them.
    const mirrors = [...snap.services.values()].filter((s) => s.mirror !== undefined).map((s) => mirrorTrafficKey(s.name));
    for (const name of [...snap.upstreams.keys(), ...mirrors]) {
      const r = traffic.read(name);
      counts[name] = { requests: r.requests, errors: r.errors, buckets: Array.from(r.buckets) };
    }
    const seq = ++this.reportSeq;
    await this.cmd.publish(this.keys.reports, JSON.stringify({ id: this.id, boot: this.boot, seq, nonce, traffic: counts })).catch(() => undefined);
  }

  /** Ask every instance for its traffic; the ids of those that should answer. */
  private async askForTraffic(nonce: number): Promise<string[]> {
    const live = await this.members.list();
    await this.cmd.publish(this.keys.report, JSON.stringify({ nonce }));
    return [...new Set([this.id, ...live.map((m) => m.id)])];
  }

  /** Redis went away (or refused, or stalled): log it once per outage. */
  private down(err: unknown): void {
    this.downReason = message(err);
    if (this.closed) return;
    this.synced = false;
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    this.logger.warn(
      { fleet: this.name, redis: redactUrl(this.options.url), reason: this.downReason },
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

  /** Leave the fleet: the last heartbeat ends, then the lease and the membership record go, then the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.beatTimer);
    await this.beating;
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

function conflict(what: string): ConflictError {
  return new ConflictError(
    `another instance changed the fleet at the same time (${what}); this change was not kept and its instance follows the fleet's version: read the entity again and retry`,
  );
}

function message(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
