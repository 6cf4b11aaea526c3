import type http from 'node:http';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runClientCommand } from '../../src/client/commands.js';
import { mirrorCommand } from '../../src/client/mirror.js';
import { deadAddress } from '../helpers/dead-address.js';
import { startLoad } from '../helpers/load.js';
import { blueGreenYaml, type Running, startSwitchyard } from '../helpers/switchyard.js';
import { closeAll, startUpstream, type TestUpstream } from '../helpers/upstreams.js';
import { waitFor } from '../helpers/wait.js';

interface Report {
  mirror: Record<string, unknown> | null;
  totals: { requests: number; copied: number; compared: number; matched: number };
  match_rate: number | null;
  mismatches: Record<'status' | 'header' | 'body' | 'mirror_error' | 'mirror_timeout', number>;
  not_compared: Record<'dropped' | 'too_large' | 'unpaired', number>;
  samples: {
    result: string;
    method: string;
    path: string;
    primary_status: number | null;
    mirror_status: number | null;
    headers?: Record<string, unknown>;
    diff?: string;
  }[];
}

/** An upstream that answers like a gateway cluster of one colour: `green` differs from `blue` on chosen paths. */
function colour(name: 'blue' | 'green', seen: { bodies: string[]; mirrored: number }) {
  let n = 0;
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.url === '/early') {
      // Answers before reading the body (as a 401 or 413 would).
      res.writeHead(401, { 'content-type': 'text/plain', connection: 'close' });
      res.end('no');
      return;
    }
    if (req.url === '/stream' && name === 'green') {
      // A stream that never ends (server-sent events), a heartbeat every 50 ms until the connection goes.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const beat = setInterval(() => res.write(': beat\n\n'), 50);
      res.on('close', () => clearInterval(beat));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers['x-switchyard-mirror'] === '1') seen.mirrored++;
      const path = (req.url ?? '/').split('?')[0];
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      n++;
      if (path === '/same') return json(200, { ok: true, id: `${name}-${n}`, timestamp: Date.now(), nested: { items: [{ at: n, v: 1 }] } });
      if (path === '/status') return json(name === 'green' ? 500 : 200, { ok: true });
      if (path === '/header') return json(200, { ok: true }, { 'x-api': name === 'blue' ? 'v1' : 'v2', 'set-cookie': `s=${name}` });
      if (path === '/body') return json(200, { price: name === 'blue' ? 10 : 12 });
      if (path === '/hang' && name === 'green') return; // never answers
      if (path === '/echo') {
        seen.bodies.push(Buffer.concat(chunks).toString());
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`got ${Buffer.concat(chunks).length} bytes`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('plain');
    });
  };
}

describe('mirroring and compare (real blue and green upstreams)', () => {
  let blue: TestUpstream;
  let green: TestUpstream;
  const greenSeen = { bodies: [] as string[], mirrored: 0 };
  const blueSeen = { bodies: [] as string[], mirrored: 0 };
  let sy: Running | undefined;

  beforeAll(async () => {
    blue = await startUpstream(colour('blue', blueSeen));
    green = await startUpstream(colour('green', greenSeen));
  });
  afterEach(async () => {
    await sy?.close();
    sy = undefined;
  });
  afterAll(async () => {
    await closeAll([blue, green]);
  });

  const start = async (mirror: Record<string, unknown> | undefined, greenAddress = green.address) => {
    sy = await startSwitchyard(blueGreenYaml({ blue: [blue.address], green: [greenAddress] }, mirror ? { mirror } : {}));
    return sy;
  };
  const report = async () => (await (await fetch(`${sy?.admin}/services/svc/mirror`)).json()) as Report;
  /** The report once `ok` holds for it (no request is sent meanwhile, so it still holds). */
  const reportWhen = async (ok: (r: Report) => boolean): Promise<Report> => {
    await waitFor(async () => ok(await report()));
    return report();
  };
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await request(`${sy?.proxy}${path}`, { headers });
    return { status: res.statusCode, text: await res.body.text() };
  };

  it('compares each pair: catches a status, a header and a body change, and ignores the ignored JSON paths', async () => {
    await start({ upstream: 'green', compare: { headers: ['x-api', 'set-cookie'], ignore_json: ['$.id', '$.timestamp', '$..at'] } });
    for (const path of ['/same', '/same?token=secret', '/status', '/header', '/body', '/plain']) {
      const res = await get(path, { authorization: 'Bearer hunter2' });
      // The client gets blue's answer, whatever green said.
      expect(res.status).toBe(200);
    }
    const r = await reportWhen((v) => v.totals.compared === 6);
    expect(r.totals).toEqual({ requests: 6, copied: 6, compared: 6, matched: 3 });
    expect(r.match_rate).toBe(0.5);
    expect(r.mismatches).toEqual({ status: 1, header: 1, body: 1, mirror_error: 0, mirror_timeout: 0 });
    const byPath = Object.fromEntries(r.samples.map((s) => [s.path, s]));
    expect(byPath['/status']).toMatchObject({ result: 'mismatch_status', method: 'GET', primary_status: 200, mirror_status: 500 });
    // Secrets are never kept: a deny-listed header's values are redacted, request headers and query strings are not stored.
    expect(byPath['/header']).toMatchObject({ result: 'mismatch_header', headers: { 'x-api': ['v1', 'v2'], 'set-cookie': ['[redacted]', '[redacted]'] } });
    expect(byPath['/body']).toMatchObject({ result: 'mismatch_body', diff: '$.price: 10 vs 12' });
    expect(JSON.stringify(r)).not.toMatch(/hunter2|token=|s=blue/);
    const metrics = await (await fetch(`${sy?.admin}/metrics`)).text();
    expect(metrics).toMatch(/switchyard_mirror_requests_total\{service="svc",result="match"\} 3/);
    expect(metrics).toMatch(/switchyard_mirror_requests_total\{service="svc",result="mismatch_body"\} 1/);
    // `switchyard mirror status svc` prints the same report for people.
    let printed = '';
    const io = { out: (t: string) => void (printed += t), err: (t: string) => void (printed += t), env: {} };
    expect(await runClientCommand(mirrorCommand, ['status', 'svc', '--admin', sy?.admin ?? ''], io)).toBe(0);
    expect(printed).toMatch(/^svc → green: 100% of GET, HEAD; compares status, x-api, set-cookie, body \(ignoring \$\.id, \$\.timestamp, \$\.\.at\)$/m);
    expect(printed).toMatch(/: 6 copied, 6 compared, 3 matched — match rate 50\.00%$/m);
    expect(printed).toMatch(/^mismatches: status 1, header 1, body 1, mirror error 0, mirror timeout 0$/m);
    expect(printed).toMatch(/mismatch_body\s+GET\s+\/body\s+200\s+200\s+\$\.price: 10 vs 12/);
  });

  it('copies exactly the configured share, only of the listed methods, and marks each copy', async () => {
    await start({ upstream: 'green', percent: 10 });
    const before = greenSeen.mirrored;
    for (let i = 0; i < 20; i++) await get('/same');
    await request(`${sy?.proxy}/same`, { method: 'DELETE' }).then((r) => r.body.dump());
    const r = await reportWhen((v) => v.totals.compared === 2);
    expect(r.totals.requests).toBe(2);
    expect(greenSeen.mirrored - before).toBe(2);
  });

  it('copies a request body up to max_body, and counts a larger one as too_large without sending it', async () => {
    await start({ upstream: 'green', methods: ['POST'], max_body: 1024 });
    greenSeen.bodies.length = 0;
    const post = async (body: string, chunked = false) => {
      const res = await request(`${sy?.proxy}/echo`, { method: 'POST', body: chunked ? Readable.from([Buffer.from(body)]) : body });
      return { status: res.statusCode, text: await res.body.text() };
    };
    expect(await post('hello mirror')).toEqual({ status: 200, text: 'got 12 bytes' });
    expect(await post('x'.repeat(5000))).toEqual({ status: 200, text: 'got 5000 bytes' });
    // A chunked body of unknown length is copied as it passes and given up once past max_body.
    expect(await post('y'.repeat(3000), true)).toEqual({ status: 200, text: 'got 3000 bytes' });
    const r = await reportWhen((v) => v.totals.compared + v.not_compared.too_large === 3);
    expect(r.totals.matched).toBe(1);
    expect(r.not_compared.too_large).toBe(2);
    expect(greenSeen.bodies).toEqual(['hello mirror']);
  });

  it('never fails or holds the client for a dead or hanging mirror; copies beyond max_concurrent are dropped', async () => {
    await start({ upstream: 'green', timeout: '60s', max_concurrent: 2 });
    // green never answers /hang: two copies stay in flight, every later one is dropped, and each client is answered by blue.
    for (let i = 0; i < 10; i++) expect(await get('/hang')).toEqual({ status: 200, text: 'plain' });
    const r = await report();
    expect(r.not_compared.dropped).toBe(8);
    expect(r.totals.compared).toBe(0);
    await sy?.close();

    await start({ upstream: 'green' }, await deadAddress());
    for (let i = 0; i < 10; i++) expect((await get('/same')).status).toBe(200);
    // After 5 refused copies in a row the dead mirror rests (1 s): copies meanwhile are dropped, not sent.
    const dead = await reportWhen((v) => v.mismatches.mirror_error + v.not_compared.dropped === 10);
    expect(dead.mismatches.mirror_error).toBeGreaterThanOrEqual(5);
    expect(dead.mismatches.mirror_error).toBeLessThan(10);
    expect(dead.match_rate).toBe(0);
    expect(dead.samples[0]).toMatchObject({ result: 'mirror_error', primary_status: 200, mirror_status: null });
  });

  it('counts a mirror that does not answer, or does not finish, within its timeout as mirror_timeout', async () => {
    await start({ upstream: 'green', timeout: 200 });
    expect((await get('/hang')).status).toBe(200);
    // A stream that keeps sending is bounded as a whole, not only between its chunks.
    expect((await get('/stream')).status).toBe(200);
    const r = await reportWhen((v) => v.mismatches.mirror_timeout === 2);
    expect(r.samples[0].diff).toMatch(/timeout/);
  });

  it('frees the slot of a copy whose request the primary answered before reading its body', async () => {
    await start({ upstream: 'green', methods: ['POST', 'GET'], max_body: 1_000_000, max_concurrent: 1 });
    const res = await request(`${sy?.proxy}/early`, { method: 'POST', body: Readable.from([Buffer.alloc(300_000), Buffer.alloc(300_000)]) }).catch(
      () => undefined,
    );
    await res?.body.dump().catch(() => undefined);
    await reportWhen((v) => v.not_compared.unpaired === 1);
    // The one slot is free again: the next copy is compared, not dropped.
    await get('/same');
    const r = await reportWhen((v) => v.totals.compared === 1);
    expect(r.not_compared.dropped).toBe(0);
  });

  it('is set and removed through the admin API, with a clear 400 for a bad block', async () => {
    await start(undefined);
    expect((await report()).mirror).toBeNull();
    const put = (body: unknown) =>
      fetch(`${sy?.admin}/services/svc/mirror`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad = await put({ upstream: 'green', percent: 150, compare: { ignore_json: ['timestamp'] } });
    expect(bad.status).toBe(400);
    const why = JSON.stringify(await bad.json());
    expect(why).toMatch(/percent/);
    expect(why).toMatch(/starting with \\"\$\\"/);
    const unknown = await put({ upstream: 'gren' });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(await unknown.json())).toMatch(/unknown upstream \\"gren\\"/);
    const ok = await put({ upstream: 'green', percent: 50 });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as Report).mirror).toMatchObject({ upstream: 'green', percent: 50 });
    const svc = (await (await fetch(`${sy?.admin}/services/svc`)).json()) as { mirror: unknown };
    expect(svc.mirror).toMatchObject({ upstream: 'green', percent: 50, methods: ['GET', 'HEAD'], max_body: 65536 });
    for (let i = 0; i < 4; i++) await get('/same');
    await waitFor(async () => (await report()).totals.compared === 2);
    expect((await fetch(`${sy?.admin}/services/svc/mirror`, { method: 'DELETE' })).status).toBe(204);
    await get('/same');
    const after = await report();
    expect(after.mirror).toBeNull();
    expect(after.totals.requests).toBe(2);
  });

  it('holds a rollout in its shadow phase until the mirror matches, then moves traffic', async () => {
    await start({ upstream: 'green', compare: { ignore_json: ['$.id', '$.timestamp', '$..at'] } });
    const res = await fetch(`${sy?.admin}/services/svc/rollout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'green', steps: [50, 100], interval: 300, analysis: { min_requests: 5, min_mirror_match: 0.99 }, max_inconclusive: 100 }),
    });
    expect(res.status).toBe(201);
    const view = async () =>
      (await (await fetch(`${sy?.admin}/services/svc/rollout`)).json()) as {
        state: string;
        step: number;
        judgements: { step: number; verdict: string; reason: string }[];
      };
    expect((await view()).step).toBe(0);
    const load = startLoad(sy?.proxy ?? '', { concurrency: 2, maxMs: 20_000, path: '/same' });
    try {
      await waitFor(async () => (await view()).state === 'succeeded', 15_000, 'the rollout to pass its shadow phase and finish');
    } finally {
      await load.stop();
    }
    const shadow = (await view()).judgements.find((j) => j.step === 0 && j.verdict === 'pass');
    expect(shadow?.reason).toMatch(/mirror match rate 1 at least min_mirror_match 0.99/);
  });

  it('rolls back from the shadow phase when the mirror does not match', async () => {
    await start({ upstream: 'green' });
    const res = await fetch(`${sy?.admin}/services/svc/rollout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'green', steps: [50, 100], interval: 300, analysis: { min_requests: 5, min_mirror_match: 0.99 }, failure_threshold: 1 }),
    });
    expect(res.status).toBe(201);
    const load = startLoad(sy?.proxy ?? '', { concurrency: 2, maxMs: 20_000, path: '/body' });
    try {
      await waitFor(
        async () => ((await (await fetch(`${sy?.admin}/services/svc/rollout`)).json()) as { state: string }).state === 'rolled_back',
        15_000,
        'the rollout to roll back',
      );
    } finally {
      await load.stop();
    }
    const r = (await (await fetch(`${sy?.admin}/services/svc/rollout`)).json()) as { reason: string };
    expect(r.reason).toMatch(/mirror match rate 0 below min_mirror_match 0.99/);
    // No user request ever reached green.
    const svc = (await (await fetch(`${sy?.admin}/services/svc`)).json()) as { host: string };
    expect(svc.host).toBe('blue');
  });

  it('refuses a shadow phase without a mirror to the rollout upstream', async () => {
    await start(undefined);
    const res = await fetch(`${sy?.admin}/services/svc/rollout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'green', analysis: { min_mirror_match: 0.99 } }),
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toMatch(/give the service mirror: \{ upstream: green \} first/);
  });
});
