import { describe, expect, it } from 'vitest';
import { ClusterTraffic } from '../../src/cluster/traffic.js';
import { BUCKETS, windowBetween } from '../../src/core/traffic.js';

const counts = (requests: number, errors = 0, bucket = 3) => {
  const buckets = new Array<number>(BUCKETS).fill(0);
  buckets[bucket] = requests;
  return { requests, errors, buckets };
};

describe('ClusterTraffic', () => {
  it('sums the latest counts of every worker per upstream', () => {
    const t = new ClusterTraffic();
    t.update(1, { green: counts(10, 1) });
    t.update(2, { green: counts(5), blue: counts(7) });
    t.update(1, { green: counts(12, 1) });
    expect(t.read('green')).toMatchObject({ requests: 17, errors: 1 });
    expect(t.read('green').buckets[3]).toBe(17);
    expect(t.read('blue').requests).toBe(7);
    expect(t.read('none')).toMatchObject({ requests: 0, errors: 0 });
    expect(t.read('none').buckets).toHaveLength(BUCKETS);
  });

  it('keeps an exited worker in the totals, so a window spanning a restart never goes back', () => {
    const t = new ClusterTraffic();
    t.update(1, { green: counts(10) });
    t.update(2, { green: counts(4) });
    const start = t.read('green');
    t.retire(1);
    // The slot's new worker counts from zero.
    t.update(1, { green: counts(3) });
    const end = t.read('green');
    expect(end.requests).toBe(17);
    expect(windowBetween(start, end)).toMatchObject({ requests: 3, errors: 0 });
  });
});
