import type { Config } from '../config/schema/config-schema.js';
import { requireValidConfig } from '../config/schema/validate.js';
import { ConflictError, SwitchyardError } from '../errors.js';
import type { Logger } from '../log.js';
import { type Change, type PlannedEntry, planChange } from './changes.js';
import type { Actor, History, HistoryEntry, HistoryEvent } from './history.js';
import { type Snapshot, trafficOf } from './snapshot.js';
import type { ProxyState } from './state.js';

/** Where applied configs are kept so that they survive a restart (the config file, or a state file). */
export interface Persister {
  save(config: Config): Promise<void>;
  /** Why an admin change could not be kept now (e.g. the file on disk holds a refused edit); undefined when it can. */
  blocked(): string | undefined;
}

/** Processes that serve a copy of the running snapshot (proxy workers): each applies a generation and reports it. */
export interface Replicas {
  /** Send the snapshot's config to every replica; resolves when each live one runs it, or with a line per replica that did not confirm in time. */
  publish(snapshot: Snapshot): Promise<string[]>;
}

/**
 * The fleet's shared log (SPEC 10): every change made here is recorded as the fleet's next
 * version, and changes from other instances come back through apply() with `via: 'fleet'`.
 */
export interface SharedLog {
  /** Why no change can be made now (the fleet's store is unreachable): a 503. */
  blocked(): string | undefined;
  /**
   * Record an applied config as the fleet's next version (with the history entries it left
   * here, and `replicated`: when every worker serves it): resolves with the version, or
   * rejects (409 when another instance's change came first, 503 when the store went away).
   */
  propose(config: Config, replicated: Promise<unknown>, entries: readonly PlannedEntry[]): Promise<number>;
}

/** Told of every applied change, right after the swap (rollouts reconcile with a new config here). */
export type ChangeObserver = (change: Change, next: Snapshot, actor: Actor) => void;

/** What an applied change gives back. */
export interface Applied {
  readonly snapshot: Snapshot;
  /** Settles once the change is durable (or known not to be: the persister logs why). */
  readonly saved: Promise<void>;
  /** Set when the change was applied but cannot be kept (a switch while the file holds a refused edit): why. */
  readonly notKept?: string;
  /** Settles once every proxy worker serves the change (at once without workers), with a line per worker that did not confirm. */
  readonly replicated: Promise<string[]>;
  /** In a fleet: settles once the fleet's log holds the change. */
  readonly recorded: Promise<unknown>;
}

const NONE: Promise<string[]> = Promise.resolve([]);
const RECORDED: Promise<unknown> = Promise.resolve();

/**
 * The one way the running config changes. A switch, a target edit, a rollout step, POST
 * /config and a hand edit of the file are all a Change, and each goes through the same
 * steps: plan the next config → validate it like a file → build and swap the snapshot
 * (targets, health and active checks follow) → tell observers (rollouts) → record history
 * → persist. A change that fails validation changes nothing.
 */
export class ChangePipeline {
  private readonly observers: ChangeObserver[] = [];
  private lastSave: Promise<void> = Promise.resolve();
  private lastReplicated = NONE;
  private lastRecorded = RECORDED;
  private shared?: SharedLog;

  constructor(
    private readonly state: ProxyState,
    readonly history: History,
    private readonly log: Logger,
    private readonly persister?: Persister,
    private readonly replicas?: Replicas,
  ) {}

  /** Join a fleet: from now on every change made here is recorded in its log. */
  share(log: SharedLog): void {
    this.shared = log;
  }

  /** The snapshot requests starting now are served by. */
  get current(): Snapshot {
    return this.state.current;
  }

  /** Apply a change: the new snapshot serves every request that starts once this returns. Throws a 400, 404 or 409 for a bad change. */
  apply(change: Change, actor: Actor): Applied {
    this.requireShared(actor);
    this.requireKeepable(change, actor);
    const notKept = this.notKept(actor);
    const plan = planChange(this.state.current.config, change);
    const config = requireValidConfig(plan.next, plan.scope, plan.issues);
    const snapshot = this.state.swap(config);
    const replicated = this.replicas?.publish(snapshot) ?? NONE;
    this.lastReplicated = replicated;
    const recorded = this.record(config, actor, replicated, plan.entries);
    for (const e of plan.entries) this.note(e.service, e.event, actor, e.detail);
    this.log.info({ change: change.kind, via: actor.via, by: actor.by, generation: snapshot.generation, hash: snapshot.hash }, 'config change applied');
    // Observers may apply follow-up changes (a rollout taken up from a new config); one that
    // fails is logged, and never undoes or hides the change already applied.
    for (const observe of this.observers) {
      try {
        observe(change, snapshot, actor);
      } catch (err) {
        this.log.error({ change: change.kind, err: err instanceof Error ? err.message : String(err) }, 'a follow-up of a config change failed');
      }
    }
    // A file's own content needs no writing back. The running config is saved, not `config`:
    // an observer may have applied a later change already.
    if (this.persister && !(change.kind === 'config' && actor.via === 'file')) this.lastSave = this.persister.save(this.state.current.config);
    if (notKept !== undefined)
      this.log.warn(
        { change: change.kind, by: actor.by, reason: notKept },
        'a switch was applied that cannot be written: it is lost at restart unless the file is fixed',
      );
    return { snapshot, saved: this.lastSave, replicated, recorded, ...(notKept !== undefined ? { notKept } : {}) };
  }

  /** In a fleet, a change made here goes to the log; one that failed to is logged here, and its answer (if any) says why. */
  private record(config: Config, actor: Actor, replicated: Promise<unknown>, entries: readonly PlannedEntry[]): Promise<unknown> {
    if (!this.shared || actor.via === 'fleet') return RECORDED;
    const recorded = this.shared.propose(config, replicated, entries);
    recorded.catch((err: unknown) =>
      this.log.warn({ via: actor.via, by: actor.by, err: err instanceof Error ? err.message : String(err) }, 'a change was not recorded in the fleet log'),
    );
    this.lastRecorded = recorded;
    return recorded;
  }

  /** In a fleet whose store is unreachable, no change is made here: instances must not disagree (503). */
  requireShared(actor: Actor): void {
    if (actor.via === 'fleet') return;
    const blocked = this.shared?.blocked();
    if (blocked !== undefined) throw new SwitchyardError('UNAVAILABLE', blocked);
  }

  /** Why the fleet takes no change now (its store is unreachable); undefined when it does, or outside a fleet. */
  sharedBlocked(): string | undefined {
    return this.shared?.blocked();
  }

  /** Check a change against the running config without applying it: throws the 400, 404, 409 or 503 that apply() would. */
  check(change: Change, actor: Actor): void {
    this.requireShared(actor);
    this.requireKeepable(change, actor);
    const plan = planChange(this.state.current.config, change);
    requireValidConfig(plan.next, plan.scope, plan.issues);
  }

  /**
   * An admin change that could not be saved (the file holds a refused edit) would be lost at
   * the next restart: it is refused (409) instead. Moving traffic is never held up — an
   * instant switch, an abort or a rollback may be what fixes an incident — it is applied, and
   * its answer says it was not written (Applied.notKept); rollouts and the file itself go on.
   */
  requireKeepable(change: Change, actor: Actor): void {
    if (actor.via !== 'admin' || change.kind === 'switch' || (change.kind === 'service' && change.set.host !== undefined)) return;
    const blocked = this.persister?.blocked();
    if (blocked !== undefined) throw new ConflictError(blocked);
  }

  /** Why an admin change applied now would not be written (the file holds a refused edit); undefined when it would be. */
  notKept(actor: Actor): string | undefined {
    return actor.via === 'admin' ? this.persister?.blocked() : undefined;
  }

  /** What an admin answer waits for: the change durable, served by every worker, and in the fleet's log. Resolves with the answer's warnings. */
  async done(applied: Applied): Promise<string[]> {
    const [, lagging] = await Promise.all([applied.saved, applied.replicated, applied.recorded]);
    return applied.notKept === undefined ? lagging : [`applied but not written: ${applied.notKept}`, ...lagging];
  }

  /** done() for the changes a command made through the rollout controller: waits for the last change applied. */
  async latest(actor: Actor): Promise<string[]> {
    const [, lagging] = await Promise.all([this.lastSave, this.lastReplicated, this.lastRecorded]);
    const notKept = this.notKept(actor);
    return notKept === undefined ? lagging : [`applied but not written: ${notKept}`, ...lagging];
  }

  /** Resolves once every change applied so far is durable (or known not to be). */
  settled(): Promise<void> {
    return this.lastSave;
  }

  /** Record an event that did not change the config (a judgement, a pause) in the service's history. */
  note(service: string, event: HistoryEvent, actor: Actor, detail?: string, verdict?: string): void {
    const snap = this.state.current;
    const svc = snap.services.get(service);
    const entry: HistoryEntry = {
      at: new Date(this.state.clock.now()).toISOString(),
      event,
      traffic: svc ? trafficOf(svc) : {},
      generation: snap.generation,
      via: actor.via,
      by: actor.by,
      ...(detail ? { detail } : {}),
      ...(verdict ? { verdict } : {}),
    };
    this.history.record(service, entry);
    this.log.info({ service, ...entry }, `service ${event.replace('_', ' ')}`);
  }

  /** Hear of every applied change. */
  observe(fn: ChangeObserver): void {
    this.observers.push(fn);
  }
}
