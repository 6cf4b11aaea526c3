import { editConfig, type Draft } from './config/edit.js';
import { validateConfig } from './config/parse.js';
import type { Service } from './config/schema.js';
import { BadInputError, NotFoundError } from './errors.js';
import type { Logger } from './log.js';
import type { Runtime } from './runtime.js';
import { trafficOf, type Snapshot } from './snapshot.js';

/** Kinds of event a service's history records. */
export type HistoryEvent =
  | 'switch' | 'split' | 'rollback' | 'change'
  | 'rollout_started' | 'rollout_step' | 'rollout_judgement' | 'rollout_paused' | 'rollout_resumed'
  | 'rollout_succeeded' | 'rollout_rolled_back' | 'rollout_aborted';

/** One entry of a service's history. */
export interface HistoryEntry {
  readonly at: string;
  readonly event: HistoryEvent;
  /** Where the service's traffic went after the event, percent per upstream. */
  readonly traffic: Readonly<Record<string, number>>;
  readonly generation: number;
  readonly by?: string;
  readonly detail?: string;
  /** For a rollout judgement: pass, fail or inconclusive. */
  readonly verdict?: string;
}

/** Entries kept per service; older ones are dropped. */
export const HISTORY_LIMIT = 200;

/**
 * Every change to where a service's traffic goes passes through here: it builds the next
 * config, applies it (one snapshot swap), remembers the host to roll back to, logs, and
 * keeps a bounded history per service.
 */
export class Switchboard {
  private readonly histories = new Map<string, HistoryEntry[]>();
  /** The host each service had before its last switch, for rollback. */
  private readonly previousHost = new Map<string, string>();
  private readonly listeners: ((service: string, entry: HistoryEntry) => void)[] = [];

  constructor(private readonly runtime: Runtime, private readonly log: Logger) {}

  /** Change a service's config and apply it; `event` undefined: a bookkeeping change, not in the history. */
  change(name: string, edit: (svc: Draft<Service>) => void, event: HistoryEvent | undefined, by: string, detail?: string): Snapshot {
    const before = this.service(name);
    const next = editConfig(this.runtime.current.config, (draft) => edit(draft.services.find((s) => s.name === name)!));
    // The same schema and rules as a config file: an admin change can never apply what a file could not.
    const checked = validateConfig(next);
    if (!checked.ok) throw new BadInputError(checked.errors.join('; '), { errors: checked.errors });
    const snap = this.runtime.apply(checked.config);
    const after = snap.config.services.find((s) => s.name === name)!;
    if (after.host !== before.host && after.split === undefined) this.previousHost.set(name, before.host);
    if (event !== undefined) this.record(name, event, by, detail);
    return snap;
  }

  /** Send all of a service's traffic to `host` (an upstream) at once, ending any split or rollout. */
  switchTo(name: string, host: string, by: string, event: HistoryEvent = 'switch', detail?: string): Snapshot {
    this.requireUpstream(host);
    return this.change(name, (s) => {
      s.host = host;
      delete s.split;
      delete s.rollout;
    }, event, by, detail);
  }

  /** Send all traffic back to the host the service had before its last switch. */
  rollback(name: string, by: string): Snapshot {
    const svc = this.service(name);
    const to = this.previousHost.get(name);
    if (to === undefined) throw new BadInputError(`service "${name}" has not been switched since start-up: nothing to roll back to`);
    return this.switchTo(name, to, by, 'rollback', `from ${svc.split ? 'a split' : svc.host}`);
  }

  /** Note an event that did not change the config (a judgement, a pause). */
  note(name: string, event: HistoryEvent, by: string, detail?: string, verdict?: string): void {
    this.record(name, event, by, detail, verdict);
  }

  /** A service's history, oldest first. */
  history(name: string): readonly HistoryEntry[] {
    this.service(name);
    return this.histories.get(name) ?? [];
  }

  /** Hear of every history entry (metrics). */
  onEntry(fn: (service: string, entry: HistoryEntry) => void): void {
    this.listeners.push(fn);
  }

  /** The running config of a service, or 404. */
  service(name: string): Service {
    const svc = this.runtime.current.config.services.find((s) => s.name === name);
    if (!svc) throw new NotFoundError(`service "${name}" not found`);
    return svc;
  }

  /** 400 unless `name` is a declared upstream, listing the known ones. */
  requireUpstream(name: string): void {
    const known = this.runtime.current.config.upstreams.map((u) => u.name);
    if (!known.includes(name)) {
      throw new BadInputError(`unknown upstream "${name}" (known: ${known.join(', ') || 'none'})`, { upstream: 'unknown upstream' });
    }
  }

  private record(name: string, event: HistoryEvent, by: string, detail?: string, verdict?: string): void {
    const snap = this.runtime.current;
    const svc = snap.services.get(name);
    const entry: HistoryEntry = {
      at: new Date(this.runtime.clock.now()).toISOString(),
      event,
      traffic: svc ? trafficOf(svc) : {},
      generation: snap.generation,
      by,
      ...(detail ? { detail } : {}),
      ...(verdict ? { verdict } : {}),
    };
    let list = this.histories.get(name);
    if (!list) this.histories.set(name, (list = []));
    list.push(entry);
    if (list.length > HISTORY_LIMIT) list.splice(0, list.length - HISTORY_LIMIT);
    this.log.info({ service: name, ...entry }, `service ${event.replace('_', ' ')}`);
    for (const l of this.listeners) l(name, entry);
  }
}
