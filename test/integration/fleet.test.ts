import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { blueGreenYaml, type Running, startSwitchyard } from '../helpers/switchyard.js';
import { closeAll, startUpstream, type TestUpstream } from '../helpers/upstreams.js';
import { waitFor } from '../helpers/wait.js';

describe('a fleet of three instances (a real redis-server)', () => {
  let redis: TestRedis;
  let blue: TestUpstream;
  let green: TestUpstream;
  const running: Running[] = [];
  const fleetYaml = (name: string, instance: string, host = 'blue') =>
    `fleet: { redis: "${redis.url}", name: ${name}, instance: ${instance} }\n${blueGreenYaml({ blue: [blue.address], green: [green.address] }, { host })}`;

  beforeAll(async () => {
    redis = await startRedis();
    blue = await startUpstream((_req, res) => res.setHeader('x-upstream', 'blue').end('blue'));
    green = await startUpstream((_req, res) => res.setHeader('x-upstream', 'green').end('green'));
  });
  afterAll(async () => {
    await closeAll(running);
    await closeAll([blue, green]);
    await redis?.stop();
  });

  it('smoke', async () => {
    const a = await startSwitchyard(fleetYaml('f1', 'a'));
    running.push(a);
    const b = await startSwitchyard(fleetYaml('f1', 'b', 'green'));
    running.push(b);
    const st = await (await fetch(`${b.admin}/status`)).json();
    console.log(JSON.stringify(st, null, 1));
    expect((await fetch(b.proxy)).headers.get('x-upstream')).toBe('blue');
    const r = await fetch(`${a.admin}/services/svc?wait=fleet`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"host":"green"}' });
    console.log(r.status, JSON.stringify(await r.json()));
    expect((await fetch(b.proxy)).headers.get('x-upstream')).toBe('green');
    console.log(JSON.stringify(await (await fetch(`${b.admin}/fleet`)).json(), null, 1));
  });
});
