import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedCli, startCli } from '../helpers/cli-process.js';
import { blueGreenYaml, startSwitchyard } from '../helpers/switchyard.js';
import { closeAll, startUpstream, type TestUpstream } from '../helpers/upstreams.js';
import { waitFor } from '../helpers/wait.js';

describe('request ids and the access log', () => {
  let upstream: TestUpstream;
  let seen: IncomingHttpHeaders[] = [];
  const started: StartedCli[] = [];

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      seen.push(req.headers);
      res.setHeader('x-upstream', 'blue');
      res.end('hello');
    });
  });
  afterAll(async () => {
    for (const s of started) await s.stop();
    await closeAll([upstream]);
  });

  it('passes x-request-id and traceparent through, creates an id when there is none, and returns it', async () => {
    const sy = await startSwitchyard(blueGreenYaml({ blue: [upstream.address] }, { routes: [{ name: 'all', paths: ['/app'], strip_path: false }] }));
    try {
      seen = [];
      const trace = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const given = await fetch(`${sy.proxy}/app`, { headers: { 'x-request-id': 'req-42', traceparent: trace } });
      expect(given.headers.get('x-request-id')).toBe('req-42');
      expect(seen[0]['x-request-id']).toBe('req-42');
      expect(seen[0].traceparent).toBe(trace);
      const made = await fetch(`${sy.proxy}/app`);
      const id = made.headers.get('x-request-id');
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(seen[1]['x-request-id']).toBe(id);
      // Answers switchyard gives itself (no route: 404) carry it too.
      const missing = await fetch(`${sy.proxy}/elsewhere`, { headers: { 'x-request-id': 'req-43' } });
      expect(missing.status).toBe(404);
      expect(missing.headers.get('x-request-id')).toBe('req-43');
      expect((await fetch(`${sy.proxy}/elsewhere`)).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await sy.close();
    }
  });

  it('writes one JSON line per request with log.access: true, and none without it', async () => {
    const yaml = `log: { access: true }\n${blueGreenYaml({ blue: [upstream.address] }, { routes: [{ name: 'all', paths: ['/app'], strip_path: false }] })}`;
    const sy = await startCli(yaml);
    started.push(sy);
    await (await fetch(`${sy.proxy}/app/x`, { headers: { 'x-request-id': 'req-7' } })).text();
    await (await fetch(`${sy.proxy}/elsewhere`, { headers: { 'x-request-id': 'req-8' } })).text();
    const access = () => sy.logs.filter((l) => l.kind === 'access');
    expect(await sy.stop()).toBe(0);
    await waitFor(() => access().length >= 2, 5000, 'two access lines');
    expect(access()[0]).toMatchObject({
      msg: 'request',
      request_id: 'req-7',
      method: 'GET',
      service: 'svc',
      route: 'all',
      upstream: 'blue',
      target: upstream.address,
      status: 200,
      bytes: 5,
      retries: 0,
    });
    expect(typeof access()[0].duration_ms).toBe('number');
    expect(access()[1]).toMatchObject({ request_id: 'req-8', status: 404, service: '', upstream: '' });

    const quiet = await startCli(blueGreenYaml({ blue: [upstream.address] }));
    started.push(quiet);
    await (await fetch(quiet.proxy)).text();
    expect(await quiet.stop()).toBe(0);
    expect(quiet.logs.filter((l) => l.kind === 'access')).toEqual([]);
  });
});
