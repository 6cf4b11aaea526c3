/**
 * Child entry: the load generator, in its own process pinned beside the upstreams, so its CPU
 * never competes with the forwarder under test. Task: a LoadTask; answers `result` with a LoadResult.
 */
import { readTask, runChild, send } from './ipc.js';
import { runLoad, type LoadTask } from './load.js';

runChild(async () => {
  send({ type: 'result', result: await runLoad(readTask<LoadTask>()) });
});
