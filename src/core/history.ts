/** Kinds of event a service's history records. */
export type HistoryEvent =
  | 'switch'
  | 'rollback'
  | 'change'
  | 'targets'
  | 'config'
  | 'rollout_started'
  | 'rollout_step'
  | 'rollout_judgement'
  | 'rollout_paused'
  | 'rollout_resumed'
  | 'rollout_succeeded'
  | 'rollout_rolled_back'
  | 'rollout_aborted';

/** Where a change came from, and who made it (the admin client's address, the file's path, the fleet instance). */
export interface Actor {
  readonly via: 'admin' | 'file' | 'rollout' | 'restart' | 'fleet';
  readonly by: string;
}

/** One entry of a service's history. */
export interface HistoryEntry {
  readonly at: string;
  readonly event: HistoryEvent;
  /** Where the service's traffic went after the event, percent per upstream. */
  readonly traffic: Readonly<Record<string, number>>;
  readonly generation: number;
  readonly via: Actor['via'];
  readonly by: string;
  readonly detail?: string;
  /** For a rollout judgement: pass, fail or inconclusive. */
  readonly verdict?: string;
}

/** Entries kept per service; older ones are dropped. */
export const HISTORY_LIMIT = 200;

/** A bounded history per service, and the listeners (metrics) that hear of each entry. */
export class History {
  private readonly byService = new Map<string, HistoryEntry[]>();
  private readonly listeners: ((service: string, entry: HistoryEntry) => void)[] = [];

  /** Add an entry to a service's history. */
  record(service: string, entry: HistoryEntry): void {
    let list = this.byService.get(service);
    if (!list) this.byService.set(service, (list = []));
    list.push(entry);
    if (list.length > HISTORY_LIMIT) list.splice(0, list.length - HISTORY_LIMIT);
    for (const l of this.listeners) l(service, entry);
  }

  /** A service's history, oldest first. */
  list(service: string): readonly HistoryEntry[] {
    return this.byService.get(service) ?? [];
  }

  /** Hear of every entry. */
  onEntry(fn: (service: string, entry: HistoryEntry) => void): void {
    this.listeners.push(fn);
  }
}
