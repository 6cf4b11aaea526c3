import { describe, expect, it } from 'vitest';
import { FAILING_STREAK, MAX_SAMPLES, MirrorRegistry, MirrorStats, mergeReports, REST_MS } from '../../src/mirror/stats.js';

describe('MirrorStats', () => {
  it(`rests a mirror for ${REST_MS} ms after ${FAILING_STREAK} errors in a row; a good pair in between starts the count again`, () => {
    const s = new MirrorStats('x');
    for (let i = 0; i < FAILING_STREAK - 1; i++) s.outcome(true, 10);
    s.outcome(false, 20);
    for (let i = 0; i < FAILING_STREAK - 1; i++) s.outcome(true, 30);
    expect(s.restUntil).toBe(0);
    s.outcome(true, 40);
    expect(s.restUntil).toBe(40 + REST_MS);
  });

  it(`keeps the latest ${MAX_SAMPLES} samples`, () => {
    const s = new MirrorStats('x');
    for (let i = 0; i < MAX_SAMPLES + 5; i++)
      s.sample({ at: i, result: 'mismatch_body', method: 'GET', path: `/${i}`, primary_status: 200, mirror_status: 200 });
    expect(s.samples.map((x) => x.at)).toEqual(Array.from({ length: MAX_SAMPLES }, (_, i) => i + 5));
  });

  it('begins afresh when what the mirror compares changes, and not otherwise', () => {
    const r = new MirrorRegistry();
    r.get('svc', 'a').count('match');
    expect(r.get('svc', 'a').counts.match).toBe(1);
    expect(r.get('svc', 'b').counts.match).toBe(0);
  });
});

describe('mergeReports', () => {
  it("leaves out the reports of an earlier comparison (an exited worker's, say)", () => {
    const old = new MirrorStats('before');
    old.since = 10;
    old.count('mismatch_body');
    const now = new MirrorStats('after');
    now.since = 20;
    now.count('match');
    expect(mergeReports([old.report(), now.report()])?.counts).toMatchObject({ match: 1, mismatch_body: 0 });
  });

  it('sums the counts of several workers, keeps the newest samples and the earliest start', () => {
    const one = new MirrorStats('x');
    const two = new MirrorStats('x');
    one.since = 100;
    two.since = 50;
    one.count('match');
    two.count('match');
    two.count('mirror_error');
    one.sample({ at: 2, result: 'mismatch_body', method: 'GET', path: '/a', primary_status: 200, mirror_status: 200 });
    two.sample({ at: 1, result: 'mirror_error', method: 'GET', path: '/b', primary_status: 200, mirror_status: null });
    const merged = mergeReports([one.report(), two.report()]);
    expect(merged?.since).toBe(50);
    expect(merged?.counts.match).toBe(2);
    expect(merged?.counts.mirror_error).toBe(1);
    expect(merged?.samples.map((x) => x.path)).toEqual(['/b', '/a']);
  });
});
