import type { Actor } from '../core/history.js';
import { createHash } from 'node:crypto';
import { SwitchyardError } from '../errors.js';

/** A parsed admin request, as handlers see it. */
export interface AdminRequest {
  readonly method: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The parsed JSON or form body ({} when empty). */
  readonly body: Record<string, unknown>;
  /** The body as sent, for endpoints that take text (YAML). */
  readonly raw: string;
  readonly contentType: string;
  readonly remoteAddress: string;
  /** Who is asking, as the history records it. */
  readonly actor: Actor;
  /** The If-Match header: the change applies only to the entity version it names. */
  readonly ifMatch: string | undefined;
}

/** What a handler answers: a status and a JSON body, raw text or bytes with a content type, or a stream it writes itself. */
export interface AdminResponse {
  readonly status: number;
  readonly body?: unknown;
  readonly text?: string | Buffer;
  readonly contentType?: string;
  /** Extra response headers (cache-control on static files). */
  readonly headers?: Readonly<Record<string, string>>;
  /** A long-lived answer (server-sent events): handed the response once its headers are written. */
  readonly stream?: (res: import('node:http').ServerResponse) => void;
  /** The entity's version, for optimistic concurrency (If-Match). */
  readonly etag?: string;
}

/** An admin endpoint handler; it throws a SwitchyardError for a bad request. */
export type AdminHandler = (req: AdminRequest) => AdminResponse | Promise<AdminResponse>;

/** One admin endpoint: methods and a path like "/services/:name". */
export interface AdminRoute {
  readonly methods: readonly string[];
  readonly path: string;
  readonly handler: AdminHandler;
  /** Served without the admin token: the dashboard's page and assets, which hold no data. */
  readonly public?: boolean;
}

/** The outcome of matching a request against the admin routes. */
export type AdminMatch =
  | { readonly handler: AdminHandler; readonly params: Record<string, string>; readonly public: boolean }
  | { readonly allowed: readonly string[] }
  | undefined;

/** A path-segment router for the admin API; admin traffic is light, so clarity wins. */
export class AdminRouter {
  private readonly routes: { segments: string[]; route: AdminRoute }[];

  constructor(routes: readonly AdminRoute[]) {
    this.routes = routes.map((route) => ({ segments: split(route.path), route }));
  }

  /** The handler and path parameters, or the allowed methods (405), or undefined (404). */
  match(method: string, pathname: string): AdminMatch {
    const parts = split(pathname);
    const allowed: string[] = [];
    for (const { segments, route } of this.routes) {
      const params = matchSegments(segments, parts);
      if (!params) continue;
      if (route.methods.includes(method)) return { handler: route.handler, params, public: route.public === true };
      allowed.push(...route.methods);
    }
    return allowed.length > 0 ? { allowed } : undefined;
  }
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i].startsWith(':')) {
      try {
        params[pattern[i].slice(1)] = decodeURIComponent(parts[i]);
      } catch {
        return undefined;
      }
    } else if (pattern[i] !== parts[i]) return undefined;
  }
  return params;
}

/** Kong's error body: message, and for schema violations the name and the fields. */
export function adminErrorBody(err: SwitchyardError): Record<string, unknown> {
  return err.fields ? { message: err.message, name: 'schema violation', fields: err.fields } : { message: err.message };
}

/**
 * Optimistic concurrency, as Caddy's admin API does it: a change sent with If-Match applies
 * only while the entity still has that ETag, so two operators cannot silently overwrite
 * each other. `*` matches any version; no header means no check.
 */
export function requireMatch(req: AdminRequest, etag: string): void {
  const header = req.ifMatch;
  if (header === undefined || header.trim() === '*') return;
  // Strong comparison (RFC 9110 section 13.1.1): a weak tag never matches.
  const given = header.split(',').map((t) => t.trim());
  if (!given.includes(etag)) {
    throw new SwitchyardError(
      'PRECONDITION_FAILED',
      `the entity changed since you read it (its ETag is now ${etag}, If-Match said ${header}); read it again and retry`,
    );
  }
}

/** A strong ETag for a value: a short hash of its JSON. */
export function etagOf(value: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16)}"`;
}
