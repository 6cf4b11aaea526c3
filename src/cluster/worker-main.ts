/** The entry of a proxy worker process (forked by the primary with node:cluster). */
import { runWorker } from './worker.js';

runWorker();
