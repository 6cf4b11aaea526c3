/**
 * What the proxy needs to know of gRPC: telling a gRPC call from other HTTP/2 traffic, its
 * status (in trailers, or in the headers of a trailers-only answer), and answering a call
 * that reaches no upstream in a form a gRPC client reads.
 */
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { ERROR_STATUS, type ErrorCode } from '../errors.js';

/** gRPC status codes switchyard uses by name. */
export const GRPC = { OK: 0, UNKNOWN: 2, DEADLINE_EXCEEDED: 4, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14 } as const;

/** Statuses that say the server failed (not the caller): they count as errors in rollout windows. */
const SERVER_FAULTS = new Set([GRPC.UNKNOWN, GRPC.DEADLINE_EXCEEDED, GRPC.INTERNAL, GRPC.UNAVAILABLE, 15 /* DATA_LOSS */]);

/** True for a gRPC call: its content-type is application/grpc (with +proto, +json, …). */
export function isGrpcRequest(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === 12 && raw[i].toLowerCase() === 'content-type') return raw[i + 1].startsWith('application/grpc');
  }
  return false;
}

/** The grpc-status in a header or trailer list (undici hands raw Buffer pairs, or an object for HTTP/2), or undefined. */
export function grpcStatusIn(list: unknown): number | undefined {
  if (list === null || list === undefined) return undefined;
  if (Array.isArray(list)) {
    for (let i = 0; i + 1 < list.length; i += 2) {
      if (String(list[i]).toLowerCase() === 'grpc-status') return Number(String(list[i + 1]));
    }
    return undefined;
  }
  const value = (list as Record<string, unknown>)['grpc-status'];
  return value === undefined ? undefined : Number(value);
}

/** True when a gRPC status says the server failed. */
export function isGrpcServerFault(status: number): boolean {
  return SERVER_FAULTS.has(status as 2);
}

/** The gRPC status for one of switchyard's own HTTP errors, as gRPC's HTTP-to-gRPC mapping gives it. */
export function grpcStatusFor(code: ErrorCode): number {
  const http = ERROR_STATUS[code];
  if (http === 404) return GRPC.UNIMPLEMENTED;
  if (http === 400 || http === 414 || http === 431) return GRPC.INTERNAL;
  if (http === 502 || http === 503 || http === 504) return GRPC.UNAVAILABLE;
  if (http === 408) return GRPC.DEADLINE_EXCEEDED;
  return GRPC.UNKNOWN;
}

/**
 * Answer a gRPC call that reaches no upstream: HTTP 200 with grpc-status and grpc-message in
 * one HEADERS frame that ends the stream (a trailers-only response), which every gRPC client reads.
 */
export function sendGrpcError(res: ServerResponse | Http2ServerResponse, code: ErrorCode, message: string, requestId?: string): void {
  const headers = {
    'content-type': 'application/grpc',
    'grpc-status': String(grpcStatusFor(code)),
    'grpc-message': encodeURIComponent(message),
    ...(requestId === undefined ? {} : { 'x-request-id': requestId }),
  };
  if ('stream' in res && res.stream !== undefined) {
    if (!res.stream.headersSent && !res.stream.destroyed) res.stream.respond({ ':status': 200, ...headers }, { endStream: true });
    return;
  }
  (res as ServerResponse).writeHead(200, headers);
  res.end();
}
