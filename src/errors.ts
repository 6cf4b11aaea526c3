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

/** The JSON body for an error response, in Kong's shape. */
export function errorBody(err: SwitchyardError): string {
  const body: Record<string, unknown> = { message: err.message };
  if (err.fields) {
    body.name = 'schema violation';
    body.fields = err.fields;
  }
  return JSON.stringify(body);
}
