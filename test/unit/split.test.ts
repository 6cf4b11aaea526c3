import { describe, expect, it } from 'vitest';
import { BUCKETS, cookieValue, Split, stickyBucket } from '../../src/balancer/split.js';

const req = (headers: Record<string, string> = {}, remoteAddress = '127.0.0.1') => ({ headers, socket: { remoteAddress } });

describe('Split', () => {
  it.each([10, 25, 50, 75, 90])('sends %i%% of every 100 consecutive requests to green', (green) => {
    const split = new Split([
      { upstream: 'blue', weight: 100 - green },
      { upstream: 'green', weight: green },
    ]);
    const seq = Array.from({ length: 500 }, () => split.choose(req()));
    for (let start = 0; start + 100 <= seq.length; start++) {
      expect(seq.slice(start, start + 100).filter((u) => u === 'green').length).toBe(green);
    }
  });

  it('lets overrides win whatever the split, by header or cookie', () => {
    const split = new Split(
      [{ upstream: 'blue', weight: 1 }],
      [
        { header: 'x-switchyard-upstream', value: 'green', upstream: 'green' },
        { cookie: 'canary', value: 'yes', upstream: 'green' },
      ],
    );
    expect(split.choose(req({ 'x-switchyard-upstream': 'green' }))).toBe('green');
    expect(split.choose(req({ cookie: 'a=1; canary=yes' }))).toBe('green');
    expect(split.choose(req({ cookie: 'canary=no' }))).toBe('blue');
    expect(split.choose(req())).toBe('blue');
  });

  it('keeps a sticky client on its colour, and as green grows moves clients only blue → green', () => {
    const clients = Array.from({ length: 2000 }, (_, i) => req({ 'x-user-id': `user-${i}` }));
    let previous: (string | undefined)[] | undefined;
    for (const green of [0, 10, 25, 50, 75, 100]) {
      const split = new Split(
        [
          { upstream: 'blue', weight: 100 - green },
          { upstream: 'green', weight: green },
        ],
        [],
        { header: 'x-user-id' },
      );
      const now = clients.map((c) => split.choose(c));
      // The same client asks again: the same answer every time.
      expect(clients.map((c) => split.choose(c))).toEqual(now);
      const share = now.filter((u) => u === 'green').length / clients.length;
      expect(Math.abs(share - green / 100)).toBeLessThan(0.04);
      if (previous) {
        const backwards = now.filter((u, i) => previous![i] === 'green' && u === 'blue');
        expect(backwards).toEqual([]);
      }
      previous = now;
    }
  });

  it('keys stickiness by cookie (issued buckets used as they are) or client IP', () => {
    expect(stickyBucket({ cookie: 'sy' }, req({ cookie: 'sy=42' }))).toBe(42);
    expect(stickyBucket({ cookie: 'sy' }, req({ cookie: 'sy=abc' }))).toBeLessThan(BUCKETS);
    expect(stickyBucket({ cookie: 'sy' }, req())).toBeUndefined();
    expect(stickyBucket({ ip: true }, req({}, '10.0.0.1'))).toBe(stickyBucket({ ip: true }, req({}, '10.0.0.1')));
    const split = new Split(
      [
        { upstream: 'blue', weight: 50 },
        { upstream: 'green', weight: 50 },
      ],
      [],
      { cookie: 'sy' },
    );
    expect(split.choose(req({ cookie: 'sy=4999' }))).toBe('blue');
    expect(split.choose(req({ cookie: 'sy=5000' }))).toBe('green');
    const issued = split.bucketToIssue(req());
    expect(issued).toBeGreaterThanOrEqual(0);
    expect(split.bucketToIssue(req({ cookie: 'sy=1' }))).toBeUndefined();
    expect(split.choose(req(), 9999)).toBe('green');
  });

  it('reads cookies from a Cookie header', () => {
    expect(cookieValue('a=1; b = 2 ;c=3', 'b')).toBe('2');
    expect(cookieValue('ab=1', 'a')).toBeUndefined();
    expect(cookieValue(undefined, 'a')).toBeUndefined();
  });
});
