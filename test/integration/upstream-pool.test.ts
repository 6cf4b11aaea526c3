import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { closeAll, startUpstream, type TestUpstream } from '../helpers/upstreams.js';
import { blueGreenYaml, startSwitchyard } from '../helpers/switchyard.js';
import { waitFor } from '../helpers/wait.js';

/** An upstream that holds each answer until released, and counts its open connections. */
async function gatedUpstream(): Promise<{ up: TestUpstream; open: () => number; release: () => number; waiting: () => number }> {
  const held: (() => void)[] = [];
  let open = 0;
  const up = await startUpstream((_req, res) => held.push(() => res.end('ok')));
  // Its own idle timeout out of the way: only switchyard's closes a connection here.
  up.server.keepAliveTimeout = 60_000;
  up.server.on('connection', (socket: Socket) => {
    open++;
    socket.once('close', () => open--);
  });
  const release = () => {
    const now = held.splice(0);
    for (const answer of now) answer();
    return now.length;
  };
  return { up, open: () => open, waiting: () => held.length, release };
}

describe('upstream connection pools', () => {
  const cleanup: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await closeAll(cleanup.splice(0).reverse());
  });

  it('opens at most max_connections to a target; requests beyond it wait for one and all succeed', async () => {
    const g = await gatedUpstream();
    cleanup.push(g.up);
    const yaml = blueGreenYaml({ u: [g.up.address] }).replace('"name":"u",', '"name":"u","max_connections":2,');
    const sy = await startSwitchyard(yaml);
    cleanup.push(sy);
    // Ten clients on ten connections of their own.
    const clients = new Agent({ connections: 10 });
    const answers = Array.from({ length: 10 }, () => request(`${sy.proxy}/x`, { dispatcher: clients }).then(async (r) => [r.statusCode, await r.body.text()]));
    await waitFor(() => g.waiting() === 2, 5_000, 'two requests at the upstream');
    expect(g.open()).toBe(2);
    // Answering lets the queued requests through, still on the same two connections.
    for (let answered = 0; answered < 10; ) {
      await waitFor(() => g.waiting() > 0, 5_000, 'the next requests');
      expect(g.open()).toBeLessThanOrEqual(2);
      answered += g.release();
    }
    expect(await Promise.all(answers)).toEqual(Array.from({ length: 10 }, () => [200, 'ok']));
    await clients.close();
  });

  it('closes an idle upstream connection after keepalive_timeout', async () => {
    const g = await gatedUpstream();
    cleanup.push(g.up);
    const yaml = blueGreenYaml({ u: [g.up.address] }).replace('"name":"u",', '"name":"u","keepalive_timeout":"200ms",');
    const sy = await startSwitchyard(yaml);
    cleanup.push(sy);
    const answer = request(`${sy.proxy}/x`);
    await waitFor(() => g.waiting() === 1, 5_000, 'the request at the upstream');
    g.release();
    expect((await answer).statusCode).toBe(200);
    expect(g.open()).toBe(1);
    await waitFor(() => g.open() === 0, 2_000, 'the idle connection to close');
  });
});
