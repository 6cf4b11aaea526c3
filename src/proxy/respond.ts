import { STATUS_CODES, type ServerResponse } from 'node:http';
import { ERROR_STATUS, type ErrorCode, publicErrorBody, publicErrorMessage } from '../errors.js';
import { isGrpcRequest, sendGrpcError } from './grpc.js';

/**
 * Answer a proxied request with the error's public JSON body (and its request id); a gRPC
 * call gets it as a gRPC status instead. A no-op if the client is gone.
 */
export function sendError(res: ServerResponse, code: ErrorCode, requestId?: string): void {
  if (res.headersSent || res.destroyed) return;
  // gRPC runs over HTTP/2 only: an HTTP/1.1 request never pays for the content-type scan.
  if (res.req?.httpVersionMajor === 2 && isGrpcRequest(res.req.rawHeaders)) {
    sendGrpcError(res, code, publicErrorMessage(code), requestId);
    return;
  }
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
