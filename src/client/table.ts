/** A column's alignment: text to the left, figures to the right. */
export type Align = 'left' | 'right';

/** A table column: its heading and alignment. */
export interface Column {
  readonly heading: string;
  readonly align?: Align;
}

/**
 * Plain-text table, columns two spaces apart, padded to the widest cell, like `kubectl get`.
 * The last column is not padded on the right, so lines carry no trailing spaces.
 */
export function renderTable(columns: readonly (Column | string)[], rows: readonly (readonly string[])[]): string {
  const cols = columns.map((c) => (typeof c === 'string' ? { heading: c } : c));
  const widths = cols.map((c, i) => Math.max(width(c.heading), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cols
      .map((c, i) => {
        const cell = cells[i] ?? '';
        const pad = ' '.repeat(widths[i] - width(cell));
        if (c.align === 'right') return pad + cell;
        return i === cols.length - 1 ? cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  return [line(cols.map((c) => c.heading)), ...rows.map(line)].join('\n') + '\n';
}

/** Display width: code points, so "→" and "·" count as one column. */
function width(s: string): number {
  return [...s].length;
}
