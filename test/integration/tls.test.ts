import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { startSwitchyard, type Running } from '../helpers/switchyard.js';

const fixtures = join(import.meta.dirname, '../fixtures');
const cert = readFileSync(join(fixtures, 'tls-cert.pem'));
const key = readFileSync(join(fixtures, 'tls-key.pem'));

describe('TLS', () => {
  let upstream: https.Server;
  let sy: Running;
  const trusting = new Agent({ connect: { ca: cert } });

  beforeAll(async () => {
    upstream = https.createServer({ cert, key }, (req, res) => res.end(JSON.stringify({ secure: true, url: req.url })));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const target = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    sy = await startSwitchyard(`
proxy:
  listen: ["127.0.0.1:0"]
  tls: { cert: "${join(fixtures, 'tls-cert.pem')}", key: "${join(fixtures, 'tls-key.pem')}" }
admin: { listen: "127.0.0.1:0" }
services:
  - { name: trusting, host: u, protocol: https, tls_verify: false, routes: [{ paths: ["/ok"] }] }
  - { name: verifying, host: u, protocol: https, routes: [{ paths: ["/strict"] }] }
upstreams: [{ name: u, targets: [{ target: "${target}" }] }]
`);
  });
  afterAll(async () => {
    await sy.close();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
    await trusting.close();
  });

  it('serves clients over TLS and forwards to https targets', async () => {
    const url = sy.proxy.replace('http://', 'https://');
    const res = await request(`${url}/ok/x`, { dispatcher: trusting });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ secure: true, url: '/x' });
  });

  it('refuses a target whose certificate it cannot verify, with tls_verify on', async () => {
    const url = sy.proxy.replace('http://', 'https://');
    const res = await request(`${url}/strict`, { dispatcher: trusting });
    expect(res.statusCode).toBe(502);
    expect(await res.body.json()).toEqual({ message: 'An invalid response was received from the upstream server', code: 'UPSTREAM_RESET' });
  });
});
