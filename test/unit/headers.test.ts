import { describe, expect, it } from 'vitest';
import { clientResponseHeaders, requestIdFrom, requestIdOf, upstreamRequestHeaders } from '../../src/proxy/headers.js';

const listener = { proto: 'http' as const, port: '8000' };
const asMap = (flat: string[]) => {
  const m: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) m[flat[i].toLowerCase()] = flat[i + 1];
  return m;
};

describe('upstreamRequestHeaders', () => {
  it('drops hop-by-hop headers and those named in Connection, and sets X-Forwarded-*', () => {
    const raw = [
      'Host',
      'example.com:8000',
      'Connection',
      'keep-alive, X-Secret',
      'Keep-Alive',
      'timeout=5',
      'X-Secret',
      'dropped',
      'TE',
      'trailers',
      'Upgrade',
      'h2c',
      'Proxy-Connection',
      'x',
      'Expect',
      '100-continue',
      'User-Agent',
      'curl',
      'Accept',
      '*/*',
    ];
    const out = upstreamRequestHeaders(raw, '127.0.0.9', listener, false);
    const { 'x-request-id': id, ...rest } = asMap(out);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(rest).toEqual({
      'user-agent': 'curl',
      accept: '*/*',
      'x-forwarded-for': '127.0.0.9',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'example.com',
      'x-forwarded-port': '8000',
      'x-real-ip': '127.0.0.9',
    });
  });

  it('appends to an incoming X-Forwarded-For and keeps Host with preserve_host', () => {
    const raw = ['host', 'api.example.com', 'x-forwarded-for', '10.0.0.1', 'X-Forwarded-For', '10.0.0.2', 'x-forwarded-proto', 'https'];
    const out = asMap(upstreamRequestHeaders(raw, '127.0.0.9', listener, true));
    expect(out['x-forwarded-for']).toBe('10.0.0.1, 10.0.0.2, 127.0.0.9');
    expect(out['x-forwarded-proto']).toBe('http');
    expect(out.host).toBe('api.example.com');
  });

  it("passes the client's x-request-id on (a new UUID when it has none or one too long), last, and traceparent untouched", () => {
    const trace = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const out = upstreamRequestHeaders(['X-Request-Id', 'abc-123', 'traceparent', trace], '127.0.0.9', listener, false);
    expect(requestIdOf(out)).toBe('abc-123');
    expect(out.filter((h) => h.toLowerCase() === 'x-request-id')).toHaveLength(1);
    expect(asMap(out).traceparent).toBe(trace);
    const fresh = upstreamRequestHeaders([], '127.0.0.9', listener, true);
    expect(requestIdOf(fresh)).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdOf(upstreamRequestHeaders([], '127.0.0.9', listener, false))).not.toBe(requestIdOf(fresh));
    expect(requestIdOf(upstreamRequestHeaders(['x-request-id', 'x'.repeat(201)], '127.0.0.9', listener, false))).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdFrom(['X-REQUEST-ID', 'mine'])).toBe('mine');
    expect(requestIdFrom(['accept', '*/*'])).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('clientResponseHeaders', () => {
  it('turns raw bytes into strings and drops hop-by-hop headers', () => {
    const raw = [
      'Content-Type',
      'text/plain',
      'Transfer-Encoding',
      'chunked',
      'Connection',
      'close, X-Internal',
      'X-Internal',
      '1',
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
    ].map((s) => Buffer.from(s));
    expect(clientResponseHeaders(raw, 'id-1')).toEqual(['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'x-request-id', 'id-1']);
  });

  it("answers with the request's id in place of any the upstream sent", () => {
    const raw = ['X-Request-Id', 'upstream-own', 'Content-Type', 'text/plain'].map((s) => Buffer.from(s));
    expect(clientResponseHeaders(raw, 'id-2')).toEqual(['Content-Type', 'text/plain', 'x-request-id', 'id-2']);
  });
});
