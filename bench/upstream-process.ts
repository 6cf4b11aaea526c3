/**
 * Child entry: demo upstreams for the bench, in their own process (pinned beside the load
 * generator) so the forwarder under test never shares a CPU with them.
 * Task: a list of colours, one server each; answers `ready` with their "host:port" addresses.
 */
import { startDemoUpstream } from '../src/demo/upstreams.js';
import { startFailingUpstream } from './failing-upstream.js';
import { readTask, runChild, send } from './ipc.js';

/** What the parent asks for: one demo server per entry, in this order. */
export interface UpstreamTask {
  colours: string[];
  /** Answer every request with this status instead of 200 (a broken new version). */
  status?: number;
}

runChild(async () => {
  const { colours, status } = readTask<UpstreamTask>();
  const addresses: string[] = [];
  for (const colour of colours) {
    const started = status === undefined || status === 200 ? await startDemoUpstream(colour, 0, '127.0.0.1') : await startFailingUpstream(colour, status);
    addresses.push(started.address);
  }
  send({ type: 'ready', addresses });
});
