import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { deadAddress } from '../helpers/dead-address.js';
import { closeAll, startEchoUpstream, startUpstream } from '../helpers/upstreams.js';
import { blueGreenYaml, startSwitchyard, type Running } from '../helpers/switchyard.js';

describe('upstream failures', () => {
  const cleanup: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await closeAll(cleanup.splice(0).reverse());
  });
  const track = <T extends { close(): Promise<void> }>(x: T): T => {
    cleanup.push(x);
    return x;
  };
  const call = async (sy: Running, method = 'GET', body?: string) => {
    const res = await request(`${sy.proxy}/x`, { method: method as 'GET', body });
    return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
  };

  it('retries a refused connection on another target: no client sees the dead one', async () => {
    const live = track(await startEchoUpstream('live'));
    const sy = track(await startSwitchyard(blueGreenYaml({ u: [await deadAddress(), live.address] })));
    for (let i = 0; i < 10; i++) {
      const res = await call(sy, i % 2 ? 'POST' : 'GET', i % 2 ? 'payload' : undefined);
      expect(res.status).toBe(200);
      expect(res.json.name).toBe('live');
    }
  });

  it('retries on the live target even when the dead one has 20 times its weight', async () => {
    const live = track(await startEchoUpstream('live'));
    const sy = track(
      await startSwitchyard(`
services: [{ name: s, host: u, routes: [{ paths: ["/"] }] }]
upstreams: [{ name: u, targets: [{ target: "${await deadAddress()}", weight: 100 }, { target: "${live.address}", weight: 5 }] }]
`),
    );
    for (let i = 0; i < 20; i++) expect(await call(sy)).toEqual({ status: 200, json: expect.anything() });
  });

  it('keeps services on plain hosts that differ only by port apart', async () => {
    const [a, b] = [track(await startEchoUpstream('a')), track(await startEchoUpstream('b'))];
    const [ha, pa] = a.address.split(':');
    const [, pb] = b.address.split(':');
    const sy = track(
      await startSwitchyard(`
services:
  - { name: sa, host: "${ha}", port: ${pa}, routes: [{ paths: ["/a"] }] }
  - { name: sb, host: "${ha}", port: ${pb}, routes: [{ paths: ["/b"] }] }
`),
    );
    const who = async (path: string) => ((await (await request(`${sy.proxy}${path}`)).body.json()) as { name: string }).name;
    expect([await who('/a'), await who('/b')]).toEqual(['a', 'b']);
  });

  it('answers 502 with a JSON message once every target refused', async () => {
    const sy = track(await startSwitchyard(blueGreenYaml({ u: [await deadAddress(), await deadAddress()] })));
    const res = await call(sy);
    expect(res.status).toBe(502);
    // The client learns what failed, never where: no address, no upstream name.
    expect(res.json).toEqual({ message: 'An invalid response was received from the upstream server', code: 'UPSTREAM_CONNECT' });
  });

  it('answers 504 when the upstream does not answer within read_timeout', async () => {
    const slow = track(await startUpstream(() => undefined /* never answers */));
    const sy = track(await startSwitchyard(blueGreenYaml({ u: [slow.address] }, { read_timeout: 200, retries: 3 })));
    const res = await call(sy);
    expect(res.status).toBe(504);
    expect(res.json).toEqual({ message: 'The upstream server is timing out', code: 'UPSTREAM_TIMEOUT' });
    expect(slow.hits).toBe(1); // a timeout is not retried: the upstream may be working on it
  });

  it('passes an upstream 5xx through and never retries it', async () => {
    const failing = track(
      await startUpstream((_req, res) => {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end('{"own":"error"}');
      }),
    );
    const spare = track(await startEchoUpstream('spare'));
    const sy = track(await startSwitchyard(blueGreenYaml({ u: [failing.address, spare.address] })));
    const res = await call(sy);
    expect(res).toEqual({ status: 503, json: { own: 'error' } });
    expect(spare.hits).toBe(0);
  });

  it('retries an idempotent request whose connection was reset, but not a POST', async () => {
    let resets = 0;
    const flaky = track(
      await startUpstream((req, res) => {
        if (resets++ === 0)
          req.socket.destroy(); // first request: cut the connection
        else res.end(JSON.stringify({ ok: true }));
      }),
    );
    const sy = track(await startSwitchyard(blueGreenYaml({ u: [flaky.address] })));
    expect(await call(sy, 'GET')).toEqual({ status: 200, json: { ok: true } });
    resets = 0;
    const post = await call(sy, 'POST', 'not twice');
    expect(post.status).toBe(502);
    expect(flaky.hits).toBe(3);
  });

  it('answers 503 naming the upstream when it has no target that can take traffic', async () => {
    const up = track(await startEchoUpstream());
    const sy = track(
      await startSwitchyard(`
services: [{ name: s, host: u, routes: [{ paths: ["/"] }] }]
upstreams: [{ name: u, targets: [{ target: "${up.address}", weight: 0 }] }]
`),
    );
    const res = await call(sy);
    expect(res).toEqual({ status: 503, json: { message: 'No healthy upstream', code: 'NO_HEALTHY_TARGET' } });
  });
});
