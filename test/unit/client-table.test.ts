import { describe, expect, it } from 'vitest';
import { renderTable } from '../../src/client/table.js';

describe('renderTable', () => {
  it('pads columns to the widest cell, two spaces apart, without trailing spaces', () => {
    const text = renderTable(
      ['NAME', 'TRAFFIC', 'ROLLOUT'],
      [
        ['example-service', 'blue', '-'],
        ['svc', 'blue 75% · green 25%', 'running, step 2/4 → green'],
      ],
    );
    expect(text).toBe(
      'NAME             TRAFFIC               ROLLOUT\n' +
        'example-service  blue                  -\n' +
        'svc              blue 75% · green 25%  running, step 2/4 → green\n',
    );
  });

  it('right-aligns figures and tolerates short rows', () => {
    const text = renderTable(
      ['TARGET', { heading: 'WEIGHT', align: 'right' }, 'HEALTH'],
      [
        ['127.0.0.1:9001', '100', 'HEALTHY'],
        ['127.0.0.1:9002', '0'],
      ],
    );
    expect(text.split('\n')).toEqual(['TARGET          WEIGHT  HEALTH', '127.0.0.1:9001     100  HEALTHY', '127.0.0.1:9002       0', '']);
  });

  it('prints only the headings when there are no rows', () => {
    expect(renderTable(['A', 'B'], [])).toBe('A  B\n');
  });
});
