import type { ConfigStore } from '../config/store.js';
import type { Logger } from '../log.js';
import type { Reloader } from '../reloader.js';
import type { RolloutController } from '../rollout/controller.js';
import type { Runtime } from '../runtime.js';
import type { Switchboard } from '../switchboard.js';

/** What admin handlers share: the running config and facts about this process. */
export interface AdminContext {
  readonly runtime: Runtime;
  readonly switchboard: Switchboard;
  readonly rollouts: RolloutController;
  readonly log: Logger;
  readonly version: string;
  readonly startedAt: number;
  /** Where the running config came from (a file path, or "inline"). */
  readonly source: string;
  /** The config file and where admin changes are kept; undefined for an in-memory config. */
  readonly store?: ConfigStore;
  readonly reloader?: Reloader;
}
