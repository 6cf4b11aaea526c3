import type { IncomingMessage } from 'node:http';
import { BadInputError, SwitchyardError } from '../errors.js';

/** Admin request bodies larger than this are refused with 413. */
export const MAX_ADMIN_BODY = 1024 * 1024;

/** An admin request body: as sent, and parsed. */
export interface Body {
  readonly raw: string;
  readonly body: Record<string, unknown>;
}

/** Read and parse an admin request body: JSON, form-encoded (as Kong accepts), or YAML text. */
export async function readBody(req: IncomingMessage, limit = MAX_ADMIN_BODY): Promise<Body> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks).toString('utf8');
  return parse(raw, req.headers['content-type'] ?? '');
}

function parse(raw: string, contentType: string): Body {
  if (raw.trim() === '') return { raw, body: {} };
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded' || (type === '' && !/^\s*[[{]/.test(raw))) {
    return { raw, body: Object.fromEntries(new URLSearchParams(raw)) };
  }
  if (type === 'application/json' || type === '') {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new BadInputError(`malformed JSON body: ${(err as Error).message}`);
    }
    if (!isObject(value)) throw new BadInputError('the request body must be a JSON object');
    return { raw, body: value };
  }
  // Other types (YAML for POST /config) are handled by their endpoint from `raw`.
  return { raw, body: {} };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function tooLarge(limit: number): SwitchyardError {
  return new SwitchyardError('BODY_TOO_LARGE', `request body is larger than ${limit} bytes`);
}
