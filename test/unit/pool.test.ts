import { describe, expect, it } from 'vitest';
import { Pool } from '../../src/balancer/pool.js';

const member = (address: string, healthy = true) => ({ address, healthy });

describe('Pool.pickOther', () => {
  it('finds the other healthy target even when weights are as uneven as 100:5', () => {
    const dead = member('dead');
    const live = member('live');
    const pool = new Pool([
      { member: dead, weight: 100 },
      { member: live, weight: 5 },
    ]);
    for (let i = 0; i < 100; i++) expect(pool.pickOther(dead)).toBe(live);
  });

  it('falls back to the same target only when it is the one healthy target left', () => {
    const only = member('only');
    const down = member('down', false);
    const pool = new Pool([
      { member: only, weight: 1 },
      { member: down, weight: 1 },
    ]);
    expect(pool.pickOther(only)).toBe(only);
    expect(new Pool([{ member: down, weight: 1 }]).pickOther(down)).toBeUndefined();
  });
});
