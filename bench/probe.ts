import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** One GET on a fresh connection: its status and `x-upstream` header; status 0 if it failed. */
export function probe(url: string): Promise<{ status: number; upstream: string | undefined }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      const upstream = res.headers['x-upstream'];
      resolve({ status: res.statusCode ?? 0, upstream: Array.isArray(upstream) ? upstream[0] : upstream });
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve({ status: 0, upstream: undefined }));
  });
}

/**
 * Check that `url` answers 200 from the expected demo upstream before loading it, so a
 * misrouting forwarder fails the run clearly instead of benchmarking 404s. Bounded tries.
 */
export async function expectUpstream(url: string, colour: string, tries = 20): Promise<void> {
  let last = { status: 0, upstream: undefined as string | undefined };
  for (let i = 0; i < tries; i++) {
    last = await probe(url);
    if (last.status === 200 && last.upstream === colour) return;
    await sleep(100);
  }
  throw new Error(`${url} answered status ${last.status} from upstream ${last.upstream ?? '(none)'}; expected 200 from ${colour}`);
}
