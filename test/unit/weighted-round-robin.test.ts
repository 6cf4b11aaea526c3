import { describe, expect, it } from 'vitest';
import { WeightedRoundRobin } from '../../src/balancer/weighted-round-robin.js';

function picks(weights: number[], n: number, available: (i: number) => boolean = () => true): number[] {
  const ids = weights.map((_, i) => i);
  const wrr = new WeightedRoundRobin(ids, weights, available);
  return Array.from({ length: n }, () => wrr.pick() ?? -1);
}

function countsIn(seq: number[], size: number): number[] {
  const counts = new Array<number>(size).fill(0);
  for (const id of seq) counts[id]++;
  return counts;
}

function longestRun(seq: number[], id: number): number {
  let best = 0;
  let run = 0;
  for (const x of seq) {
    run = x === id ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

describe('WeightedRoundRobin', () => {
  it.each([
    { weights: [1, 1], sequence: [0, 1, 0, 1] },
    { weights: [5, 1, 1], sequence: [0, 0, 1, 0, 2, 0, 0] }, // nginx's documented example: a a b a c a a
    { weights: [2, 1], sequence: [0, 1, 0, 0, 1, 0] },
    { weights: [1], sequence: [0, 0, 0] },
  ])('picks the exact smooth sequence for $weights', ({ weights, sequence }) => {
    expect(picks(weights, sequence.length)).toEqual(sequence);
  });

  it.each([
    { weights: [1, 1], longest: [1, 1] },
    { weights: [100, 50], longest: [2, 1] },
    { weights: [1, 99], longest: [1, 99] }, // one pick of 0 per 100: runs of 99 are the least possible,
    { weights: [3, 0, 1], longest: [3, 0, 1] },
    { weights: [75, 25], longest: [3, 1] },
    { weights: [10, 20, 30, 40], longest: [1, 1, 1, 2] },
  ])('gives exact shares over every window of sum(weights) picks for $weights', ({ weights, longest }) => {
    const total = weights.reduce((a, b) => a + b, 0);
    const seq = picks(weights, total * 4);
    for (let start = 0; start + total <= seq.length; start++) {
      expect(countsIn(seq.slice(start, start + total), weights.length)).toEqual(weights);
    }
    expect(weights.map((_, id) => longestRun(seq, id))).toEqual(longest);
  });

  it('never picks a weight-0 item, and returns undefined when all weights are 0', () => {
    expect(picks([0, 3], 6)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(picks([0, 0], 2)).toEqual([-1, -1]);
    expect(new WeightedRoundRobin([], []).pick()).toBeUndefined();
  });

  it('skips unavailable items and keeps exact shares among the rest', () => {
    const down = new Set([1]);
    const seq = picks([2, 5, 1], 30, (i) => !down.has(i));
    expect(seq).not.toContain(1);
    for (let start = 0; start + 3 <= seq.length; start++) {
      expect(countsIn(seq.slice(start, start + 3), 3)).toEqual([2, 0, 1]);
    }
  });

  it('lets a returning item rejoin smoothly, without a burst', () => {
    const up = [true, true, true];
    const wrr = new WeightedRoundRobin([0, 1, 2], [1, 1, 1], (i) => up[i]);
    up[2] = false;
    for (let i = 0; i < 7; i++) wrr.pick();
    up[2] = true;
    const after = Array.from({ length: 9 }, () => wrr.pick()!);
    expect(longestRun(after, 2)).toBe(1);
    for (let start = 0; start + 3 <= after.length; start++) {
      expect(countsIn(after.slice(start, start + 3), 3)).toEqual([1, 1, 1]);
    }
  });

  it('rejects items and weights of different lengths', () => {
    expect(() => new WeightedRoundRobin([1, 2], [1])).toThrow(RangeError);
  });
});
