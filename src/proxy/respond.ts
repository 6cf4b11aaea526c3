import type { ServerResponse } from 'node:http';
import { errorBody, type SwitchyardError } from '../errors.js';

/** Answer a proxied request with a JSON error body; a no-op if the client is gone. */
export function sendError(res: ServerResponse, err: SwitchyardError): void {
  if (res.headersSent || res.destroyed) return;
  const body = errorBody(err);
  res.writeHead(err.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
