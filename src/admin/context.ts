import type { WorkersView } from '../cluster/workers.js';
import type { ConfigFile } from '../config/persist/config-file.js';
import type { ReloadStatus } from '../config/load/reloader.js';
import type { ChangePipeline } from '../core/pipeline.js';
import type { Fleet } from '../fleet/fleet.js';
import type { HealthRegistry } from '../health/registry.js';
import type { Logger } from '../log.js';
import type { MirrorReport } from '../mirror/stats.js';
import type { EndpointView } from '../notify/notifier.js';
import type { RolloutController } from '../rollout/controller.js';

/** What admin handlers share: the change pipeline, rollouts, health marks, and facts about this process. */
export interface AdminContext {
  readonly pipeline: ChangePipeline;
  readonly rollouts: RolloutController;
  readonly health: HealthRegistry;
  readonly log: Logger;
  readonly version: string;
  readonly startedAt: number;
  /** Where the running config came from (a file path, or "inline"). */
  readonly source: string;
  /** The config file and where admin changes are kept; undefined for an in-memory config. */
  readonly file?: ConfigFile;
  /** Reloads of the config file; undefined for an in-memory config. */
  readonly reloads?: ReloadStatus;
  /** The proxy worker processes, when there are several. */
  readonly workers?: { view(): WorkersView };
  /** This instance's fleet, with a `fleet` block. */
  readonly fleet?: Fleet;
  /** Each service's mirror report, summed over this instance's workers. */
  readonly mirrors: () => Promise<Readonly<Record<string, MirrorReport>>>;
  /** The webhook endpoints sent to, with their figures. */
  readonly notifications?: () => readonly EndpointView[];
}
