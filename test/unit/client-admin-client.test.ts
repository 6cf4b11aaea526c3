import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminClient, AdminHttpError, AdminUnreachableError } from '../../src/client/admin-client.js';
import { deadAddress } from '../helpers/dead-address.js';

/** A stand-in admin API on an ephemeral port that answers `status`, `body` and records what it got. */
async function fakeAdmin(status: number, body: string, contentType = 'application/json') {
  const seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: text });
      res.writeHead(status, { 'content-type': contentType });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('AdminClient', () => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
  });
  const client = (url: string, token?: string) => {
    const c = new AdminClient({ url, token });
    open.push(c);
    return c;
  };

  it('sends JSON with the bearer token and reads JSON back', async () => {
    const admin = await fakeAdmin(200, '{"name":"svc","traffic":{"green":100}}');
    open.push(admin);
    const answer = await client(admin.url, 's3cret').call('PATCH', '/services/svc', { body: { host: 'green' } });
    expect(answer).toEqual({ status: 200, body: { name: 'svc', traffic: { green: 100 } } });
    expect(admin.seen[0]).toMatchObject({ method: 'PATCH', url: '/services/svc', body: '{"host":"green"}' });
    expect(admin.seen[0].headers).toMatchObject({ authorization: 'Bearer s3cret', 'content-type': 'application/json' });
  });

  it('turns an error status into AdminHttpError with the server message', async () => {
    const admin = await fakeAdmin(400, '{"message":"unknown upstream \\"purple\\"","name":"schema violation","fields":{"host":"unknown upstream"}}');
    open.push(admin);
    const err = await client(admin.url)
      .get('/x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminHttpError);
    expect(err).toMatchObject({ status: 400, message: 'unknown upstream "purple"', body: { name: 'schema violation' } });
  });

  it('keeps the start of a non-JSON error body as the message, and answers undefined for 404 with find()', async () => {
    const admin = await fakeAdmin(502, '<html>bad gateway</html>', 'text/html');
    open.push(admin);
    await expect(client(admin.url).get('/x')).rejects.toThrow('<html>bad gateway</html>');
    const missing = await fakeAdmin(404, '{"message":"service \\"svc\\" has no rollout"}');
    open.push(missing);
    expect(await client(missing.url).find('/services/svc/rollout')).toBeUndefined();
  });

  it('tells another server from the admin API by the shape of its answer', async () => {
    const proxy = await fakeAdmin(200, '{"upstream":"blue"}');
    open.push(proxy);
    const err = await client(proxy.url)
      .get('/status', { shape: (b) => typeof (b as { status?: unknown }).status === 'string' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminUnreachableError);
    expect((err as AdminUnreachableError).message).toBe(`cannot reach the admin API at ${proxy.url} (the answer to GET /status is not the admin API's)`);
  });

  it('names the URL and the reason when nothing answers', async () => {
    const url = `http://${await deadAddress()}`;
    const err = await client(url)
      .get('/status')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminUnreachableError);
    expect(err).toMatchObject({ url, reason: 'ECONNREFUSED', message: `cannot reach the admin API at ${url} (ECONNREFUSED)` });
  });
});
