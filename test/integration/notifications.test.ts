import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Received, startHookServer } from '../helpers/hook-server.js';
import { blueGreenYaml, type Running, startSwitchyard } from '../helpers/switchyard.js';
import { closeAll, startEchoUpstream, type TestUpstream } from '../helpers/upstreams.js';
import { waitFor } from '../helpers/wait.js';

const events = (got: Received[]) => got.map((r) => (JSON.parse(r.body) as { event: string }).event);

describe('webhooks (notifications)', () => {
  let blue: TestUpstream;
  let green: TestUpstream;
  const closers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    blue = await startEchoUpstream('blue');
    green = await startEchoUpstream('green');
  });
  afterAll(async () => {
    await closeAll(closers);
    await closeAll([blue, green]);
  });

  const start = async (notifications: unknown[]): Promise<Running> => {
    const sy = await startSwitchyard(`notifications: ${JSON.stringify(notifications)}\n${blueGreenYaml({ blue: [blue.address], green: [green.address] })}`);
    closers.push(sy);
    return sy;
  };
  const patch = (sy: Running, host: string) =>
    fetch(`${sy.admin}/services/svc`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ host }) });

  it('POSTs each switch and rollout event as signed JSON with a Slack-style text', async () => {
    const hook = await startHookServer(() => 204);
    closers.push(hook);
    const sy = await start([{ url: hook.url, secret: 's3cret' }]);
    expect((await patch(sy, 'green')).status).toBe(200);
    await fetch(`${sy.admin}/services/svc/rollback`, { method: 'POST' });
    await waitFor(() => hook.got.length >= 2, 5000, 'two events');
    expect(events(hook.got)).toEqual(['switch', 'rollback']);
    const first = JSON.parse(hook.got[0].body) as Record<string, unknown>;
    expect(first).toMatchObject({ event: 'switch', service: 'svc', traffic: { green: 100 }, via: 'admin' });
    expect(first.text).toMatch(/^switchyard: svc switch: .*traffic now green 100%/);
    for (const r of hook.got) expect(r.headers['x-switchyard-signature']).toBe(`sha256=${createHmac('sha256', 's3cret').update(r.body).digest('hex')}`);
    const status = (await (await fetch(`${sy.admin}/status`)).json()) as { status: string; details: { notifications: { sent: number; failing: boolean }[] } };
    expect(status.status).toBe('pass');
    expect(status.details.notifications).toEqual([
      expect.objectContaining({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/…$/), sent: 2, failing: false }),
    ]);
  });

  it('sends only the events asked for, and retries a receiver that fails', async () => {
    const hook = await startHookServer((n) => (n === 0 ? 503 : 200));
    closers.push(hook);
    const sy = await start([{ url: hook.url, events: ['rollback'] }]);
    await patch(sy, 'green');
    await fetch(`${sy.admin}/services/svc/rollback`, { method: 'POST' });
    await waitFor(() => hook.got.length >= 2, 5000, 'the retry');
    expect(events(hook.got)).toEqual(['rollback', 'rollback']);
    expect(await (await fetch(`${sy.admin}/metrics`)).text()).toMatch(/^switchyard_notifications_total\{result="sent"\} 1$/m);
  });

  it('never holds up a switch: a receiver that hangs, then one that refuses, is counted and shown in /status', async () => {
    const hook = await startHookServer((n) => (n === 0 ? 'hang' : 400));
    closers.push(hook);
    const sy = await start([{ url: hook.url, timeout: '300ms' }]);
    const started = performance.now();
    expect((await patch(sy, 'green')).status).toBe(200);
    const switched = performance.now() - started;
    await waitFor(() => hook.got.length === 1, 5000, 'the event to reach the hanging receiver');
    // The receiver still holds the first event; the switch was answered, and traffic moved.
    expect(await (await fetch(sy.proxy)).json()).toMatchObject({ name: 'green' });
    // After the timeout it is retried; a 400 is not retried again: failed.
    await waitFor(async () => ((await (await fetch(`${sy.admin}/status`)).json()) as { status: string }).status === 'warn', 10_000, 'the failure to show');
    const view = ((await (await fetch(`${sy.admin}/status`)).json()) as { details: { notifications: Record<string, unknown>[] } }).details.notifications[0];
    expect(view).toMatchObject({ sent: 0, failed: 1, failing: true, last_error: 'HTTP 400' });
    console.log(`switch answered in ${switched.toFixed(1)} ms while the webhook receiver hung`);
  });
});
