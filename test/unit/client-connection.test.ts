import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listenToUrl, normalizeUrl, resolveEndpoint } from '../../src/client/connection.js';

async function configFile(text: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'switchyard-conn-')), 'sy.yaml');
  await writeFile(file, text);
  return file;
}

describe('where the admin API is', () => {
  it.each([
    ['127.0.0.1:8001', 'http://127.0.0.1:8001'],
    ['http://admin.internal:8001/', 'http://admin.internal:8001'],
    ['https://gw.example/switchyard/', 'https://gw.example/switchyard'],
    ['[::1]:8001', 'http://[::1]:8001'],
  ])('--admin %s is %s', (given, url) => {
    expect(normalizeUrl(given)).toBe(url);
  });

  it('refuses what is not an http(s) URL', () => {
    expect(() => normalizeUrl('ftp://x')).toThrow(/expected an http:\/\/ or https:\/\/ URL/);
    expect(() => normalizeUrl('http://')).toThrow(/is not a URL/);
  });

  it.each([
    ['127.0.0.1:8001', 'http://127.0.0.1:8001'],
    ['0.0.0.0:8001', 'http://127.0.0.1:8001'],
    ['[::]:8001', 'http://[::1]:8001'],
    ['[::1]:9', 'http://[::1]:9'],
  ])('admin.listen %s is called at %s', (listen, url) => {
    expect(listenToUrl(listen, 'f.yaml')).toBe(url);
  });

  it('takes --admin, else the config, else the default; --token, else the environment, else the config', async () => {
    const file = await configFile('admin:\n  listen: "${ADMIN_LISTEN:-127.0.0.1:9801}"\n  token: ${CONFIG_TOKEN}\nservices: []\n');
    expect(await resolveEndpoint({}, {})).toEqual({ url: 'http://127.0.0.1:8001', token: undefined });
    expect(await resolveEndpoint({ config: file }, {})).toEqual({ url: 'http://127.0.0.1:9801', token: undefined });
    expect(await resolveEndpoint({ config: file }, { ADMIN_LISTEN: '0.0.0.0:7000', CONFIG_TOKEN: 'c' })).toEqual({ url: 'http://127.0.0.1:7000', token: 'c' });
    expect(await resolveEndpoint({ config: file }, { CONFIG_TOKEN: 'c', SWITCHYARD_ADMIN_TOKEN: 'e' })).toMatchObject({ token: 'e' });
    expect(await resolveEndpoint({ config: file, admin: 'h:1', token: 't' }, { SWITCHYARD_ADMIN_TOKEN: 'e' })).toEqual({ url: 'http://h:1', token: 't' });
  });

  it('uses the default address for a config without an admin section, and says what is wrong with a bad one', async () => {
    expect((await resolveEndpoint({ config: await configFile('services: []\n') }, {})).url).toBe('http://127.0.0.1:8001');
    await expect(resolveEndpoint({ config: '/nonexistent/sy.yaml' }, {})).rejects.toThrow(/cannot read the config \/nonexistent\/sy.yaml/);
    await expect(resolveEndpoint({ config: await configFile('admin: { listen: [\n') }, {})).rejects.toThrow(/not valid YAML/);
    await expect(resolveEndpoint({ config: await configFile('admin:\n  listen: ${NOPE}\n') }, {})).rejects.toThrow(
      /admin.listen: environment variable NOPE is not set/,
    );
    await expect(resolveEndpoint({ config: await configFile('admin:\n  listen: nowhere\n') }, {})).rejects.toThrow(/admin.listen "nowhere" is not HOST:PORT/);
  });
});
