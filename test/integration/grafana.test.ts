import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { blueGreenYaml, type Running, startSwitchyard } from '../helpers/switchyard.js';
import { closeAll, startEchoUpstream, type TestUpstream } from '../helpers/upstreams.js';

interface Panel {
  id: number;
  title: string;
  targets: { expr: string }[];
  datasource: { uid: string };
}

const BOARD = join(import.meta.dirname, '../../deploy/grafana/switchyard.json');

describe('the Grafana dashboard (deploy/grafana/switchyard.json)', () => {
  let redis: TestRedis;
  let upstream: TestUpstream;
  let sy: Running;

  beforeAll(async () => {
    redis = await startRedis();
    upstream = await startEchoUpstream('blue');
    // In a fleet, so that the fleet metrics it charts are there too.
    sy = await startSwitchyard(`fleet: { redis: "${redis.url}", name: grafana }\n${blueGreenYaml({ blue: [upstream.address] })}`);
  });
  afterAll(async () => {
    await sy?.close();
    await closeAll([upstream]);
    await redis?.stop();
  });

  it('is an importable board whose every query uses metrics that /metrics has', async () => {
    const board = JSON.parse(await readFile(BOARD, 'utf8')) as {
      __inputs: { name: string; type: string }[];
      uid: string;
      panels: Panel[];
      templating: { list: { query: { query: string } }[] };
    };
    expect(board.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource' })]);
    expect(new Set(board.panels.map((p) => p.id)).size).toBe(board.panels.length);
    for (const p of board.panels) {
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      expect(p.datasource.uid).toBe('${DS_PROMETHEUS}');
    }
    const titles = board.panels.map((p) => p.title.toLowerCase()).join(' | ');
    for (const topic of ['split', 'requests per second by upstream and status', 'p99', 'target health', 'judgements', 'generation per instance', 'reloads'])
      expect(titles).toContain(topic);

    await (await fetch(sy.proxy)).text();
    const text = await (await fetch(`${sy.admin}/metrics`)).text();
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    const exprs = [...board.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...board.templating.list.map((v) => v.query.query)];
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\bswitchyard_[a-z0-9_]+/g)].map((m) => m[0])));
    expect(used.size).toBeGreaterThan(10);
    const missing = [...used].filter((name) => {
      if (types.has(name)) return false;
      const base = name.replace(/_(bucket|sum|count)$/, '');
      return types.get(base) !== 'histogram';
    });
    expect(missing).toEqual([]);
  });
});
