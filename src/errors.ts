/**
 * Every error switchyard reports has a stable code; the HTTP status for each code is
 * decided here and nowhere else.
 */
export const ERROR_STATUS = {
  NO_ROUTE: 404,
  NOT_FOUND: 404,
  BAD_INPUT: 400,
  UNAUTHORIZED: 401,
  CONFLICT: 409,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  METHOD_NOT_ALLOWED: 405,
  PRECONDITION_FAILED: 412,
  BAD_REQUEST: 400,
  REQUEST_TIMEOUT: 408,
  URI_TOO_LONG: 414,
  HEADERS_TOO_LARGE: 431,
  UNAVAILABLE: 503,
  UPSTREAM_CONNECT: 502,
  UPSTREAM_RESET: 502,
  NO_HEALTHY_TARGET: 503,
  UPSTREAM_TIMEOUT: 504,
  INTERNAL: 500,
} as const;

/** A stable error code; see ERROR_STATUS. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** Base class: an error with a code, its HTTP status, and optional per-field details. */
export class SwitchyardError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly fields?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, fields?: Record<string, unknown>) {
    super(message);
    this.name = 'SwitchyardError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    if (fields) this.fields = fields;
  }
}

/** Bad admin input (400), with Kong's "schema violation" shape when fields are given. */
export class BadInputError extends SwitchyardError {
  constructor(message: string, fields?: Record<string, unknown>) {
    super('BAD_INPUT', message, fields);
  }
}

/** A named resource that does not exist (404). */
export class NotFoundError extends SwitchyardError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

/** A change that conflicts with the current state, e.g. a switch during a rollout (409). */
export class ConflictError extends SwitchyardError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

/**
 * What a proxied client is told for each error a request can meet: a fixed message and the
 * stable code, never the internals (addresses, upstream names, parser errors), which go to
 * the log. Kong's wording where Kong has one. Built once: an error answer costs no JSON work.
 */
const PUBLIC_MESSAGE: readonly (readonly [ErrorCode, string])[] = [
  ['NO_ROUTE', 'no Route matched with those values'],
  ['BAD_REQUEST', 'Bad request'],
  ['REQUEST_TIMEOUT', 'Request timeout: the client was too slow to send the request'],
  ['URI_TOO_LONG', 'Request URI too long'],
  ['HEADERS_TOO_LARGE', 'Request header fields too large'],
  ['NO_HEALTHY_TARGET', 'No healthy upstream'],
  ['UNAVAILABLE', 'Service unavailable'],
  ['UPSTREAM_CONNECT', 'An invalid response was received from the upstream server'],
  ['UPSTREAM_RESET', 'An invalid response was received from the upstream server'],
  ['UPSTREAM_TIMEOUT', 'The upstream server is timing out'],
  ['INTERNAL', 'An unexpected error occurred'],
  ['METHOD_NOT_ALLOWED', 'Method not allowed'],
];
const PUBLIC_BODY = new Map(PUBLIC_MESSAGE.map(([code, message]) => [code, JSON.stringify({ message, code })]));
const PUBLIC_TEXT = new Map(PUBLIC_MESSAGE);

/** The message a proxied client gets for an error (a gRPC client gets it as grpc-message). */
export function publicErrorMessage(code: ErrorCode): string {
  return PUBLIC_TEXT.get(code) ?? 'Error';
}

/** The JSON body a proxied client gets for an error: a fixed message and the stable code. */
export function publicErrorBody(code: ErrorCode): string {
  return PUBLIC_BODY.get(code) ?? JSON.stringify({ message: 'Error', code });
}
