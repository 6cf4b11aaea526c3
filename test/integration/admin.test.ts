import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { closeDemoUpstreams, startDemoUpstream, type DemoUpstream } from '../../src/demo/upstreams.js';
import { blueGreenYaml, startSwitchyard, type Running } from '../helpers/switchyard.js';

describe('admin API', () => {
  let ups: DemoUpstream[];
  let sy: Running;

  beforeAll(async () => {
    ups = await Promise.all([startDemoUpstream('blue'), startDemoUpstream('green')]);
    sy = await startSwitchyard(blueGreenYaml({ blue: [ups[0].address], green: [ups[1].address] }));
  });
  afterAll(async () => {
    await sy.close();
    await closeDemoUpstreams(ups);
  });

  const admin = async (method: string, path: string, body?: string, contentType = 'application/json') => {
    const res = await request(`${sy.admin}${path}`, {
      method: method as 'GET',
      body,
      headers: body === undefined ? {} : { 'content-type': contentType },
    });
    const text = await res.body.text();
    return { status: res.statusCode, json: text ? JSON.parse(text) : undefined };
  };
  const colour = async () => ((await request(`${sy.proxy}/`).then((r) => r.body.json())) as { upstream: string }).upstream;

  it('GET /status answers pass with the generation and config hash', async () => {
    const { status, json } = await admin('GET', '/status');
    expect(status).toBe(200);
    expect(json).toMatchObject({ status: 'pass', details: { upstreams: { blue: { healthy: 1, total: 1 } } } });
    expect(json.details.config_hash).toMatch(/^[0-9a-f]{16}$/);
    expect(json.details.generation).toBeGreaterThanOrEqual(1);
  });

  it('says in Server-Timing how long each answer took inside switchyard, errors included', async () => {
    for (const path of ['/status', '/nowhere']) {
      const res = await request(`${sy.admin}${path}`);
      await res.body.dump();
      expect(res.headers['server-timing']).toMatch(/^total;dur=\d+\.\d{2}$/);
    }
  });

  it("lists services and upstreams in Kong's envelope", async () => {
    const services = await admin('GET', '/services');
    expect(services.json.data.map((s: { name: string }) => s.name)).toEqual(['svc']);
    expect((await admin('GET', '/services/svc')).json).toMatchObject({ name: 'svc', host: 'blue', traffic: { blue: 100 } });
    const upstreams = await admin('GET', '/upstreams');
    expect(upstreams.json.data.map((u: { name: string }) => u.name)).toEqual(['blue', 'green']);
    const green = await admin('GET', '/upstreams/green');
    expect(green.json.targets).toEqual([{ target: ups[1].address, weight: 100, health: 'HEALTHCHECKS_OFF', draining: false, data: { source: 'initial' } }]);
  });

  it('switches with a form-encoded PATCH, as curl -d sends it, and bumps the generation', async () => {
    const before = (await admin('GET', '/status')).json.details.generation;
    expect(await colour()).toBe('blue');
    const res = await admin('PATCH', '/services/svc', 'host=green', 'application/x-www-form-urlencoded');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ host: 'green', traffic: { green: 100 } });
    expect(await colour()).toBe('green');
    expect((await admin('GET', '/status')).json.details.generation).toBe(before + 1);
    await admin('PATCH', '/services/svc', JSON.stringify({ host: 'blue' }));
    expect(await colour()).toBe('blue');
  });

  it.each([
    ['unknown service', 'PATCH', '/services/nope', '{"host":"green"}', 404, /service "nope" not found/],
    ['unknown upstream', 'PATCH', '/services/svc', '{"host":"gren"}', 400, /unknown upstream "gren" \(declared upstreams: blue, green\)/],
    ['malformed JSON', 'PATCH', '/services/svc', '{"host":', 400, /malformed JSON body/],
    ['a JSON array', 'PATCH', '/services/svc', '["green"]', 400, /must be a JSON object/],
    ['an unknown field', 'PATCH', '/services/svc', '{"colour":"green"}', 400, /unknown key "colour"/],
    ['a bad port', 'PATCH', '/services/svc', '{"port":"eighty"}', 400, /port: expected an integer from 1 to 65535/],
    ['an empty body', 'PATCH', '/services/svc', '', 400, /nothing to change/],
    ['an inherited name', 'PATCH', '/services/svc', '{"toString":1}', 400, /unknown key "toString"/],
    ['a prototype key', 'PATCH', '/services/svc', '{"__proto__":{"host":"green"}}', 400, /unknown key "__proto__"/],
    ['removing a required field', 'PATCH', '/services/svc', '{"retries":null}', 400, /retries: cannot be removed/],
    ['a path the schema refuses', 'PATCH', '/services/svc', '{"path":"/a b?x"}', 400, /path/],
    ['a plain host that is no hostname', 'PATCH', '/services/svc', '{"host":"foo bar","port":80}', 400, /host/],
    ['an unknown path', 'GET', '/nowhere', undefined, 404, /Not found/],
    ['a wrong method', 'DELETE', '/services/svc', undefined, 405, /not allowed/],
    ['an unknown upstream', 'GET', '/upstreams/nope', undefined, 404, /upstream "nope" not found/],
  ])('refuses %s with a JSON message', async (_what, method, path, body, status, message) => {
    const res = await admin(method, path, body);
    expect(res.status).toBe(status);
    expect(res.json.message).toMatch(message);
    expect(await colour()).toBe('blue');
  });

  it('answers a change made against a stale ETag with 412 (optimistic concurrency, as Caddy does)', async () => {
    const res = await request(`${sy.admin}/services/svc`);
    const etag = res.headers.etag;
    await res.body.dump();
    expect(etag).toMatch(/^"[0-9a-f]{16}"$/);
    const first = await request(`${sy.admin}/services/svc`, {
      method: 'PATCH',
      body: '{"retries":3}',
      headers: { 'content-type': 'application/json', 'if-match': String(etag) },
    });
    expect(first.statusCode).toBe(200);
    expect(first.headers.etag).not.toBe(etag);
    await first.body.dump();
    const stale = await request(`${sy.admin}/services/svc`, {
      method: 'PATCH',
      body: '{"retries":4}',
      headers: { 'content-type': 'application/json', 'if-match': String(etag) },
    });
    expect(stale.statusCode).toBe(412);
    expect(((await stale.body.json()) as { message: string }).message).toMatch(/changed since you read it/);
    const config = await request(`${sy.admin}/config`);
    await config.body.dump();
    expect(config.headers.etag).toMatch(/^"[0-9a-f]{16}"$/);
    const replaced = await request(`${sy.admin}/config`, {
      method: 'POST',
      body: 'services: []',
      headers: { 'content-type': 'application/yaml', 'if-match': '"0000000000000000"' },
    });
    expect(replaced.statusCode).toBe(412);
    await replaced.body.dump();
    await request(`${sy.admin}/services/svc`, { method: 'PATCH', body: '{"retries":5}', headers: { 'content-type': 'application/json' } }).then((r) =>
      r.body.dump(),
    );
  });

  it("adds, reweights and removes targets as Kong's target API does", async () => {
    const extra = await startDemoUpstream('green');
    try {
      const added = await admin('POST', '/upstreams/green/targets', JSON.stringify({ target: extra.address, weight: 0 }));
      expect(added.status).toBe(201);
      expect(added.json.targets).toContainEqual(expect.objectContaining({ target: extra.address, weight: 0, draining: true }));
      expect((await admin('POST', '/upstreams/green/targets', JSON.stringify({ target: extra.address }))).status).toBe(409);
      expect((await admin('PATCH', `/upstreams/green/targets/${extra.address}`, 'weight=70000', 'application/x-www-form-urlencoded')).json.message).toMatch(
        /65535/,
      );
      // Kong clients send the target back with its weight, and numbers as strings in JSON are read as numbers.
      const sentBack = await admin('PATCH', `/upstreams/green/targets/${extra.address}`, JSON.stringify({ target: extra.address, weight: '7' }));
      expect(sentBack.json.targets).toContainEqual(expect.objectContaining({ target: extra.address, weight: 7 }));
      const reweighted = await admin('PATCH', `/upstreams/green/targets/${extra.address}`, 'weight=5', 'application/x-www-form-urlencoded');
      expect(reweighted.json.targets).toContainEqual(expect.objectContaining({ target: extra.address, weight: 5 }));
      const removed = await admin('DELETE', `/upstreams/green/targets/${extra.address}`);
      expect(removed.json.targets.map((t: { target: string }) => t.target)).toEqual([ups[1].address]);
      expect((await admin('DELETE', `/upstreams/green/targets/${extra.address}`)).status).toBe(404);
      expect((await admin('POST', '/upstreams/green/targets', JSON.stringify({ target: 'not a target' }))).status).toBe(400);
      expect((await admin('POST', '/upstreams/green/targets', 'target=127.0.0.1:7&weight=', 'application/x-www-form-urlencoded')).status).toBe(400);
      // A target without a port gets Kong's default 8000, and is the same target the second time.
      expect((await admin('POST', '/upstreams/green/targets', 'target=127.0.0.1&weight=0', 'application/x-www-form-urlencoded')).status).toBe(201);
      expect((await admin('POST', '/upstreams/green/targets', 'target=127.0.0.1', 'application/x-www-form-urlencoded')).status).toBe(409);
      expect((await admin('DELETE', '/upstreams/green/targets/127.0.0.1:8000')).status).toBe(200);
    } finally {
      await closeDemoUpstreams([extra]);
    }
  });

  it('refuses a body over the limit with 413', async () => {
    const res = await admin('PATCH', '/services/svc', JSON.stringify({ host: 'x'.repeat(2 * 1024 * 1024) }));
    expect(res.status).toBe(413);
  });
});
