import { describe, expect, it } from 'vitest';
import { clientResponseHeaders, upstreamRequestHeaders } from '../../src/proxy/headers.js';

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
    expect(asMap(out)).toEqual({
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
    expect(clientResponseHeaders(raw)).toEqual(['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
  });
});
