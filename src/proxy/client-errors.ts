import type { ErrorCode } from '../errors.js';

/**
 * The answer to a request Node's HTTP parser refused before switchyard saw it: a slow
 * client's headers timed out (408), headers over the size limit (431, or 414 when the
 * request line alone is too long), anything else malformed (400).
 */
export function clientErrorCode(err: Error & { code?: string; rawPacket?: unknown }): ErrorCode {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT';
  if (err.code === 'HPE_HEADER_OVERFLOW') return requestLineTooLong(err.rawPacket) ? 'URI_TOO_LONG' : 'HEADERS_TOO_LARGE';
  return 'BAD_REQUEST';
}

/** True when the first line of what the client sent did not end within the header limit. */
function requestLineTooLong(raw: unknown): boolean {
  if (!Buffer.isBuffer(raw)) return false;
  const eol = raw.indexOf('\n');
  return eol < 0 || eol > 8192;
}
