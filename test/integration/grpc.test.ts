import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { echoClient, type GrpcUpstream, grpc, type Msg, startGrpcUpstream, unary } from '../helpers/grpc.js';
import { blueGreenYaml, type Running, startSwitchyard } from '../helpers/switchyard.js';
import { deadAddress } from '../helpers/dead-address.js';
import { closeAll } from '../helpers/upstreams.js';
import { waitFor } from '../helpers/wait.js';

describe('gRPC through switchyard (real @grpc/grpc-js servers and clients, h2c)', () => {
  let blue: GrpcUpstream;
  let green: GrpcUpstream;
  let sy: Running | undefined;
  const clients: grpc.Client[] = [];

  beforeAll(async () => {
    blue = await startGrpcUpstream('blue');
    green = await startGrpcUpstream('green');
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await sy?.close();
    sy = undefined;
  });
  afterAll(async () => {
    await closeAll([blue, green]);
  });

  const start = async (service: Record<string, unknown> = {}) => {
    const head = 'proxy:\n  listen: ["127.0.0.1:0"]\n  http2: true\nadmin:\n  listen: "127.0.0.1:0"\n';
    sy = await startSwitchyard(
      head +
        blueGreenYaml(
          { blue: [blue.address], green: [green.address] },
          { protocol: 'grpc', routes: [{ name: 'echo', paths: ['/test.Echo/'], strip_path: false }], ...service },
        ),
    );
    const client = echoClient(sy.proxy.replace('http://', ''));
    clients.push(client);
    return client;
  };

  const call = (client: grpc.Client) =>
    client as unknown as Record<string, (...args: unknown[]) => grpc.ClientReadableStream<Msg> & grpc.ClientWritableStream<Partial<Msg>>>;
  /** Every message a server stream sends, and how it ended. */
  const collect = (stream: grpc.ClientReadableStream<Msg>) =>
    new Promise<{ messages: Msg[]; error?: grpc.ServiceError }>((resolve) => {
      const messages: Msg[] = [];
      stream.on('data', (m: Msg) => messages.push(m));
      stream.on('error', (error: grpc.ServiceError) => resolve({ messages, error }));
      stream.on('end', () => resolve({ messages }));
    });

  it('carries a unary call, and passes a gRPC error status and message through', async () => {
    const client = await start();
    expect(await unary(client, 'hello', 7)).toEqual({ text: 'hello', colour: 'blue', n: 7 });
    const err = await unary(client, 'not-found').catch((e: grpc.ServiceError) => e);
    expect(err).toMatchObject({ code: grpc.status.NOT_FOUND, details: 'no such thing' });
  });

  it('carries server-streaming, client-streaming and bidirectional calls', async () => {
    const client = await start();
    const server = await collect(call(client).ServerStream({ text: 'go', n: 50 }));
    expect(server.error).toBeUndefined();
    expect(server.messages.map((m) => m.n)).toEqual(Array.from({ length: 50 }, (_, i) => i));

    const summed = await new Promise<Msg>((resolve, reject) => {
      const up = call(client).ClientStream((err: grpc.ServiceError | null, m: Msg) => (err ? reject(err) : resolve(m)));
      for (let i = 0; i < 200; i++) up.write({ text: 'x'.repeat(1000), n: i });
      up.end();
    });
    expect(summed).toEqual({ text: 'got 200 messages, 200000 characters', colour: 'blue', n: 200 });

    // Bidirectional: each answer arrives before the next message is sent, so the call is full duplex through the proxy.
    const bidi = call(client).Bidi();
    const answers: Msg[] = [];
    for (let i = 0; i < 20; i++) {
      const next = new Promise<Msg>((resolve) => bidi.once('data', resolve));
      bidi.write({ text: `ping ${i}`, n: i });
      answers.push(await next);
    }
    bidi.end();
    expect(answers.map((m) => m.text)).toEqual(Array.from({ length: 20 }, (_, i) => `ping ${i}`));
  });

  it('carries gRPC over TLS on both sides: ALPN h2 on a TLS listener, protocol grpcs to a TLS server', async () => {
    const fixtures = join(import.meta.dirname, '../fixtures');
    const [cert, key] = [readFileSync(join(fixtures, 'tls-cert.pem')), readFileSync(join(fixtures, 'tls-key.pem'))];
    const secure = await startGrpcUpstream('secure', grpc.ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }]));
    try {
      const tls = `  tls: { cert: "${join(fixtures, 'tls-cert.pem')}", key: "${join(fixtures, 'tls-key.pem')}" }\n`;
      const head = `proxy:\n  listen: ["127.0.0.1:0"]\n${tls}admin:\n  listen: "127.0.0.1:0"\n`;
      const service = { protocol: 'grpcs', tls_verify: false, routes: [{ name: 'echo', paths: ['/test.Echo/'], strip_path: false }] };
      sy = await startSwitchyard(head + blueGreenYaml({ blue: [secure.address] }, service));
      const client = echoClient(sy.proxy.replace('http://', ''), grpc.credentials.createSsl(cert), { 'grpc.ssl_target_name_override': 'localhost' });
      clients.push(client);
      expect(await unary(client, 'over tls')).toEqual({ text: 'over tls', colour: 'secure', n: 0 });
    } finally {
      await sy?.close();
      sy = undefined;
      await secure.close();
    }
  });

  it('answers a call that reaches no upstream with a gRPC status a client reads', async () => {
    const client = await start({ routes: [{ name: 'other', paths: ['/test.Other/'], strip_path: false }] });
    await expect(unary(client, 'x')).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED, details: 'no Route matched with those values' });
    await sy?.close();
    const dead = await start({ host: 'nowhere', port: 1 });
    await expect(unary(dead, 'x')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it('switches gRPC traffic: no call fails, and none started after the switch returns reaches the old colour', async () => {
    const client = await start();
    let stop = false;
    const log: { sentAt: number; colour: string; error?: string }[] = [];
    const started = Date.now();
    const loop = async () => {
      for (let i = 0; i < 3_000 && !stop && Date.now() - started < 20_000; i++) {
        const sentAt = performance.now();
        try {
          log.push({ sentAt, colour: (await unary(client, 'hi')).colour });
        } catch (err) {
          log.push({ sentAt, colour: '', error: (err as Error).message });
        }
      }
    };
    const loops = Array.from({ length: 8 }, loop);
    await waitFor(() => log.length >= 200, 10_000, 'calls before the switch');
    const res = await fetch(`${sy?.admin}/services/svc`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ host: 'green' }),
    });
    const returnedAt = performance.now();
    expect(res.status).toBe(200);
    const after = log.length;
    await waitFor(() => log.length >= after + 200, 10_000, 'calls after the switch');
    stop = true;
    await Promise.all(loops);
    expect(log.filter((l) => l.error !== undefined)).toEqual([]);
    expect(log.filter((l) => l.sentAt > returnedAt && l.colour !== 'green')).toEqual([]);
    expect(log.some((l) => l.colour === 'blue')).toBe(true);
  });

  it('pins a call to an upstream by an override header (gRPC metadata)', async () => {
    const client = await start({ overrides: [{ header: 'x-switchyard-upstream', value: 'green', upstream: 'green' }] });
    expect(await unary(client, 'plain')).toMatchObject({ colour: 'blue' });
    expect(await unary(client, 'pinned', 0, { 'x-switchyard-upstream': 'green' })).toMatchObject({ colour: 'green' });
  });

  it('rolls a rollout back when the new colour answers gRPC errors (a 200 with grpc-status UNAVAILABLE is an error)', async () => {
    const client = await start();
    green.failing = true;
    try {
      const res = await fetch(`${sy?.admin}/services/svc/rollout`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: 'green', steps: [50, 100], interval: 300, analysis: { min_requests: 5 }, failure_threshold: 1 }),
      });
      expect(res.status).toBe(201);
      const rollout = async () => (await (await fetch(`${sy?.admin}/services/svc/rollout`)).json()) as { state: string; reason: string };
      let stop = false;
      const loops = Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 2_000 && !stop; i++) await unary(client, 'hi').catch(() => undefined);
      });
      await waitFor(async () => (await rollout()).state === 'rolled_back', 10_000, 'the rollout to roll back');
      stop = true;
      await Promise.all(loops);
      expect((await rollout()).reason).toMatch(/error rate 1 above max_error_rate/);
    } finally {
      green.failing = false;
    }
  });

  it('keeps a long stream on its target across a switch and a reload', async () => {
    const client = await start();
    const stream = call(client).ServerStream({ text: 'long' });
    const got = collect(stream);
    await waitFor(() => blue.open.size === 1, 5_000, 'the stream to open on blue');
    const res = await fetch(`${sy?.admin}/services/svc`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ host: 'green' }),
    });
    expect(res.status).toBe(200);
    expect(await unary(client, 'after')).toMatchObject({ colour: 'green' });
    // A reload of the whole config (POST /config, as a hand edit of the file would be) builds a new snapshot.
    const yaml = await (await fetch(`${sy?.admin}/config`)).text();
    expect(yaml).toContain('retries: 5');
    const reload = await fetch(`${sy?.admin}/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: yaml.replace('retries: 5', 'retries: 4'),
    });
    expect(reload.status).toBe(200);
    // The stream is still open on blue, and still delivers.
    const [open] = blue.open;
    open.write({ text: 'second', colour: 'blue', n: 1 });
    open.end();
    const { messages, error } = await got;
    expect(error).toBeUndefined();
    expect(messages.map((m) => [m.text, m.colour])).toEqual([
      ['first', 'blue'],
      ['second', 'blue'],
    ]);
  });

  it('counts gRPC statuses in /metrics, and UNAVAILABLE against the target for passive health', async () => {
    const client = await start();
    await unary(client, 'ok');
    await unary(client, 'not-found').catch(() => undefined);
    await unary(client, 'unavailable').catch(() => undefined);
    const text = await (await fetch(`${sy?.admin}/metrics`)).text();
    expect(text).toMatch(/switchyard_grpc_requests_total\{service="svc",upstream="blue",target="[^"]+",grpc_status="0"\} 1/);
    expect(text).toMatch(/grpc_status="5"\} 1/);
    expect(text).toMatch(/grpc_status="14"\} 1/);
  });

  /** switchyard with one grpc service on upstream `pool` of the given targets and health checks. */
  const startPool = async (targets: string[], healthchecks: unknown = {}) => {
    const head = 'proxy:\n  listen: ["127.0.0.1:0"]\n  http2: true\nadmin:\n  listen: "127.0.0.1:0"\n';
    const services = [{ name: 'svc', host: 'pool', protocol: 'grpc', routes: [{ name: 'echo', paths: ['/test.Echo/'], strip_path: false }] }];
    const upstreams = [{ name: 'pool', targets: targets.map((target) => ({ target })), healthchecks }];
    sy = await startSwitchyard(`${head}services: ${JSON.stringify(services)}\nupstreams: ${JSON.stringify(upstreams)}\n`);
    const client = echoClient(sy.proxy.replace('http://', ''));
    clients.push(client);
    return client;
  };
  const health = async () => (await (await fetch(`${sy?.admin}/upstreams/pool/health`)).json()) as { data: { target: string; health: string }[] };

  it('retries a call whose target refuses the connection on another target', async () => {
    const client = await startPool([await deadAddress(), blue.address]);
    for (let i = 0; i < 10; i++) expect(await unary(client, `call ${i}`)).toMatchObject({ colour: 'blue' });
  });

  it('counts a call ending UNAVAILABLE like a 503 for passive health', async () => {
    const client = await startPool([blue.address], { passive: { unhealthy: { http_failures: 2, http_statuses: [503] } } });
    for (let i = 0; i < 2; i++) await expect(unary(client, 'unavailable')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect((await health()).data[0].health).toBe('UNHEALTHY');
    // Ejected: switchyard answers for it now, as a gRPC status.
    await expect(unary(client, 'hi')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE, details: 'No healthy upstream' });
  });

  it('ejects a target whose gRPC health check says NOT_SERVING, and takes it back when SERVING', async () => {
    const checks = { active: { type: 'grpc', healthy: { interval: 0.1, successes: 1 }, unhealthy: { interval: 0.1, http_failures: 1 } } };
    const client = await startPool([blue.address, green.address], checks);
    await waitFor(async () => (await health()).data.every((t) => t.health === 'HEALTHY'), 5_000, 'both targets healthy');
    green.serving = false;
    try {
      await waitFor(async () => (await health()).data.find((t) => t.target === green.address)?.health === 'UNHEALTHY', 5_000, 'green to be ejected');
      const colours = new Set<string>();
      for (let i = 0; i < 10; i++) colours.add((await unary(client, 'hi')).colour);
      expect([...colours]).toEqual(['blue']);
    } finally {
      green.serving = true;
    }
    await waitFor(async () => (await health()).data.every((t) => t.health === 'HEALTHY'), 5_000, 'green to be healthy again');
  });
});
