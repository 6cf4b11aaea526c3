import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load/parse.js';
import { ConfigFile } from '../../src/config/persist/config-file.js';
import { editConfig } from '../../src/config/schema/edit.js';
import { silentLogger } from '../../src/log.js';

const TEXT = 'services: [{ name: s, host: blue }]\nupstreams: [{ name: blue }, { name: green }]\n';

describe('ConfigFile', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function open() {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-file-'));
    const path = join(dir, 'c.yaml');
    await writeFile(path, TEXT);
    const file = new ConfigFile(path, silentLogger(), systemClock, {});
    const loaded = await file.load();
    if (!loaded.ok) throw new Error('bad config');
    return { path, file, config: loaded.config };
  }

  it('tells new text from its own, stale and refused reads', async () => {
    const { file } = await open();
    expect(file.take(TEXT, Number.POSITIVE_INFINITY)).toBe('same');
    expect(file.take('services: [', Number.POSITIVE_INFINITY)).toMatchObject({ ok: false });
    expect(file.take('services: [', Number.POSITIVE_INFINITY)).toBe('refused');
    expect(file.take(TEXT.replace('blue }]', 'green }]'), Number.POSITIVE_INFINITY)).toMatchObject({ ok: true });
    // A file caught between an in-place write's truncation and its write is not an empty config.
    expect(file.take('', Number.POSITIVE_INFINITY)).toBe('empty');
    expect(file.take('\n  \n', Number.POSITIVE_INFINITY)).toBe('empty');
  });

  it('drops a save queued before a hand edit is applied: the edit is never written over', async () => {
    const { path, file, config } = await open();
    const edited = TEXT.replace('host: blue', 'host: green');
    await writeFile(path, edited);
    const parsed = parseConfig(edited, path, {});
    if (!parsed.ok) throw new Error('bad edit');
    // An admin change made just before the edit was read: its save is still queued.
    void file.save(editConfig(config, (d) => void (d.services[0].port = 81)));
    file.adopt(edited, parsed.config);
    await file.settled();
    expect(await readFile(path, 'utf8')).toBe(edited);
  });

  it('answers a save once the change survives a restart', async () => {
    const { path, file, config } = await open();
    for (const port of [81, 82, 83]) {
      await file.save(editConfig(config, (d) => void (d.services[0].port = port)));
      // A restart now (a new ConfigFile on the same files) finds the change (this flow-style file keeps it in the state file).
      const restarted = new ConfigFile(path, silentLogger(), systemClock, {});
      const loaded = await restarted.load();
      expect(loaded.ok && loaded.config.services[0].port).toBe(port);
      await restarted.close();
    }
    await file.close();
  });
});
