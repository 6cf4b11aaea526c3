import { STATUS_CODES, type ServerResponse } from 'node:http';
import { ERROR_STATUS, type ErrorCode, publicErrorBody } from '../errors.js';

/** Answer a proxied request with the error's public JSON body (and its request id); a no-op if the client is gone. */
export function sendError(res: ServerResponse, code: ErrorCode, requestId?: string): void {
  if (res.headersSent || res.destroyed) return;
  const body = publicErrorBody(code);
  res.writeHead(ERROR_STATUS[code], {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...(requestId === undefined ? {} : { 'x-request-id': requestId }),
  });
  res.end(body);
}

/** A whole HTTP/1.1 error response for a raw socket (a refused upgrade, a malformed request), closing the connection. */
export function rawErrorResponse(code: ErrorCode): string {
  const status = ERROR_STATUS[code];
  const body = publicErrorBody(code);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
