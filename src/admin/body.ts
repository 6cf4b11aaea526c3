import type { IncomingMessage } from 'node:http';
import { BadInputError, SwitchyardError } from '../errors.js';

/** Admin request bodies larger than this are refused with 413. */
export const MAX_ADMIN_BODY = 1024 * 1024;

/** Read and parse an admin request body: JSON, form-encoded (as Kong accepts), or YAML text. */
export async function readBody(req: IncomingMessage, limit = MAX_ADMIN_BODY): Promise<{ raw: string; body: Record<string, unknown> }> {
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
  return { raw, body: parse(raw, req.headers['content-type'] ?? '') };
}

function parse(raw: string, contentType: string): Record<string, unknown> {
  if (raw.trim() === '') return {};
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded' || (type === '' && !/^\s*[[{]/.test(raw))) {
    return Object.fromEntries(new URLSearchParams(raw));
  }
  if (type === 'application/json' || type === '') {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new BadInputError(`malformed JSON body: ${(err as Error).message}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new BadInputError('the request body must be a JSON object');
    }
    return value as Record<string, unknown>;
  }
  // Other types (YAML for POST /config) are handled by their endpoint from `raw`.
  return {};
}

function tooLarge(limit: number): SwitchyardError {
  return new SwitchyardError('BODY_TOO_LARGE', `request body is larger than ${limit} bytes`);
}
