import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { FailureLog } from '../../src/proxy/failure-log.js';

describe('FailureLog', () => {
  it('logs one line per error code per second, with the count of those left out', () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => done(void lines.push(JSON.parse(String(chunk)))) }));
    let now = 0;
    const failures = new FailureLog(log, () => now);
    failures.report('UPSTREAM_CONNECT', 'upstream u failed: ECONNREFUSED', { upstream: 'u', target: '127.0.0.1:1' });
    failures.report('UPSTREAM_CONNECT', 'upstream u failed: ECONNREFUSED', { upstream: 'u', target: '127.0.0.1:1' });
    failures.report('UPSTREAM_TIMEOUT', 'upstream u failed: UND_ERR_HEADERS_TIMEOUT', { upstream: 'u', target: '127.0.0.1:1' });
    now = 999;
    failures.report('UPSTREAM_CONNECT', 'upstream u failed: ECONNREFUSED', { upstream: 'u', target: '127.0.0.1:1' });
    now = 1000;
    failures.report('UPSTREAM_CONNECT', 'upstream u failed: ECONNREFUSED', { upstream: 'u', target: '127.0.0.1:2' });
    expect(lines.map((l) => [l.code, l.target, l.similar_not_logged])).toEqual([
      ['UPSTREAM_CONNECT', '127.0.0.1:1', undefined],
      ['UPSTREAM_TIMEOUT', '127.0.0.1:1', undefined],
      ['UPSTREAM_CONNECT', '127.0.0.1:2', 2],
    ]);
    expect(lines[0]).toMatchObject({ level: 40, msg: 'upstream u failed: ECONNREFUSED' });
  });
});
