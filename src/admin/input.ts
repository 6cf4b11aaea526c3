import { BadInputError } from '../errors.js';

/** A non-empty string field, trimmed. */
export function nonEmptyString(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw new BadInputError(`${field}: expected a non-empty string`, { [field]: 'expected a string' });
  return v.trim();
}

/** A path field: starts with "/". */
export function pathString(v: unknown, field: string): string {
  if (typeof v !== 'string' || !v.startsWith('/')) throw new BadInputError(`${field}: expected a path starting with "/"`, { [field]: 'expected a path' });
  return v;
}

/** An integer field in [min, max]; form values arrive as strings. */
export function integer(v: unknown, field: string, min: number, max: number): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new BadInputError(`${field}: expected an integer from ${min} to ${max}`, { [field]: `expected an integer from ${min} to ${max}` });
  }
  return n;
}
