/** One route of a service, as the router needs it; `T` is whatever the proxy attaches. */
export interface RouteSpec<T> {
  readonly hosts: readonly string[];
  readonly paths: readonly string[];
  readonly methods: readonly string[];
  readonly headers?: Readonly<Record<string, readonly string[]>>;
  readonly target: T;
}

/** A route matched to a request: what it routes to, and the path prefix that matched. */
export interface RouteMatch<T> {
  readonly target: T;
  /** The matched path prefix ('' when the route has no paths), for strip_path. */
  readonly prefix: string;
}

/** One (path, methods, headers) alternative of a route, under one host pattern. */
interface Entry<T> extends RouteMatch<T> {
  readonly methods: readonly string[] | null;
  readonly headers: readonly (readonly [string, readonly string[]])[] | null;
}

/** Request fields the router reads; headers are only read for routes that match on them. */
export interface RouteRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * Compiled routes. Precedence, as in Kong: an exact host before a wildcard host before
 * no host; then the longest path prefix; then routes that also name methods or headers.
 * Everything is sorted once here, so a match is a map lookup plus a short scan.
 */
export class Router<T> {
  private readonly exact = new Map<string, Entry<T>[]>();
  private readonly wildcard: { suffix: string; entries: Entry<T>[] }[] = [];
  private readonly anyHost: Entry<T>[] = [];
  /** With no host-specific routes the Host header need not be read at all. */
  readonly usesHost: boolean;

  constructor(routes: readonly RouteSpec<T>[]) {
    const wild = new Map<string, Entry<T>[]>();
    for (const r of routes) {
      const entries = entriesOf(r);
      if (r.hosts.length === 0) this.anyHost.push(...entries);
      for (const host of r.hosts) {
        const h = host.toLowerCase();
        const map = h.startsWith('*.') ? wild : this.exact;
        const key = h.startsWith('*.') ? h.slice(1) : h;
        let list = map.get(key);
        if (!list) map.set(key, (list = []));
        list.push(...entries);
      }
    }
    for (const [suffix, entries] of wild) this.wildcard.push({ suffix, entries });
    this.wildcard.sort((a, b) => b.suffix.length - a.suffix.length);
    for (const list of [...this.exact.values(), ...wild.values(), this.anyHost]) list.sort(byPrecedence);
    this.usesHost = this.exact.size > 0 || this.wildcard.length > 0;
  }

  /** The best route for a request, or undefined. `host` is lower-case without a port. */
  match(req: RouteRequest, host: string): RouteMatch<T> | undefined {
    if (this.usesHost && host !== '') {
      const exact = this.exact.get(host);
      const hit = exact && scan(exact, req);
      if (hit) return hit;
      for (const w of this.wildcard) {
        if (host.length > w.suffix.length && host.endsWith(w.suffix)) {
          const m = scan(w.entries, req);
          if (m) return m;
        }
      }
    }
    return scan(this.anyHost, req);
  }
}

function entriesOf<T>(r: RouteSpec<T>): Entry<T>[] {
  const methods = r.methods.length > 0 ? r.methods : null;
  const headers =
    r.headers && Object.keys(r.headers).length > 0
      ? Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v.map((s) => s.toLowerCase())] as const)
      : null;
  const paths = r.paths.length > 0 ? r.paths : [''];
  return paths.map((prefix) => ({ target: r.target, prefix, methods, headers }));
}

function byPrecedence<T>(a: Entry<T>, b: Entry<T>): number {
  return b.prefix.length - a.prefix.length || (b.headers?.length ?? 0) - (a.headers?.length ?? 0) || (b.methods ? 1 : 0) - (a.methods ? 1 : 0);
}

function scan<T>(entries: readonly Entry<T>[], req: RouteRequest): Entry<T> | undefined {
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.prefix !== '' && !req.url.startsWith(e.prefix)) continue;
    if (e.methods !== null && !e.methods.includes(req.method)) continue;
    if (e.headers !== null && !headersMatch(e.headers, req)) continue;
    return e;
  }
  return undefined;
}

function headersMatch(wanted: readonly (readonly [string, readonly string[]])[], req: RouteRequest): boolean {
  for (const [name, values] of wanted) {
    const got = req.headers[name];
    if (got === undefined) return false;
    const v = (Array.isArray(got) ? got[0] : got).toLowerCase();
    if (!values.includes(v)) return false;
  }
  return true;
}

/** Lower-case host name without port, from a Host header ('' when absent). */
export function hostOf(header: string | undefined): string {
  if (header === undefined) return '';
  let end = header.length;
  if (header.charCodeAt(0) === 91 /* [ */) end = header.indexOf(']') + 1;
  else {
    const colon = header.indexOf(':');
    if (colon >= 0) end = colon;
  }
  const h = end === header.length ? header : header.slice(0, end);
  return h.toLowerCase();
}
