/**
 * The request target as routing and forwarding must see it (RFC 9112 section 3.2, RFC 3986
 * section 5.2.4): an absolute-form target is routed on its authority, and dot-segments
 * (including percent-encoded dots) are removed before a route is matched, so that
 * `/public/../admin` is routed, and forwarded, as `/admin`, and no path climbs above `/`.
 */

/** The authority and origin-form path of an absolute-form target ("http://host/path?q"); undefined for origin-form. */
export function splitAbsoluteForm(url: string): { authority: string; path: string } | undefined {
  if (url.charCodeAt(0) === 47 /* / */ || url === '*') return undefined;
  const scheme = url.indexOf('://');
  if (scheme <= 0) return undefined;
  const start = scheme + 3;
  let end = start;
  while (end < url.length && url[end] !== '/' && url[end] !== '?' && url[end] !== '#') end++;
  const rest = url.slice(end);
  return { authority: url.slice(start, end), path: rest === '' || rest[0] === '?' ? `/${rest}` : rest };
}

/** The path with dot-segments removed, or `url` itself when it has none (the common case allocates nothing). */
export function removeDotSegments(url: string): string {
  const query = url.indexOf('?');
  const end = query < 0 ? url.length : query;
  if (!hasDotSegment(url, end)) return url;
  const out: string[] = [];
  const segments = url.slice(1, end).split('/');
  for (let i = 0; i < segments.length; i++) {
    const dots = dotCount(segments[i]);
    const last = i === segments.length - 1;
    if (dots === 1) {
      if (last) out.push('');
    } else if (dots === 2) {
      out.pop();
      if (last) out.push('');
    } else out.push(segments[i]);
  }
  return `/${out.join('/')}${url.slice(end)}`;
}

/** True when some segment of url[0, end) may be "." or ".." (plain or percent-encoded). */
function hasDotSegment(url: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    if (url.charCodeAt(i) !== 47 /* / */) continue;
    const c = url.charCodeAt(i + 1);
    if (c === 46 /* . */ || (c === 37 /* % */ && url.charCodeAt(i + 2) === 50 /* 2 */ && (url.charCodeAt(i + 3) | 32) === 101) /* e */) return true;
  }
  return false;
}

/**
 * 1 for ".", 2 for "..", in any mix of "." and "%2e"/"%2E", also with path parameters after
 * it (`..;x`, which Tomcat and Jetty read as `..`); else 0.
 */
function dotCount(segment: string): number {
  let dots = 0;
  for (let i = 0; i < segment.length && segment[i] !== ';'; ) {
    if (segment[i] === '.') i++;
    else if (segment[i] === '%' && segment[i + 1] === '2' && (segment[i + 2] === 'e' || segment[i + 2] === 'E')) i += 3;
    else return 0;
    dots++;
  }
  return dots <= 2 ? dots : 0;
}

/**
 * True for a path an upstream could read as climbing where switchyard did not route it: a
 * backslash, raw or encoded (WHATWG URL parsers read it as "/"), or a dot-segment followed by
 * an encoded slash (`..%2f`). Such requests are refused (400) rather than guessed at.
 */
export function ambiguousPath(url: string): boolean {
  const query = url.indexOf('?');
  const end = query < 0 ? url.length : query;
  const backslash = url.indexOf('\\');
  if (backslash >= 0 && backslash < end) return true;
  for (let i = url.indexOf('%'); i >= 0 && i < end; i = url.indexOf('%', i + 1)) {
    if (url.charCodeAt(i + 1) !== 50 /* 2 */ && url.charCodeAt(i + 1) !== 53 /* 5 */) continue;
    const c = url.charCodeAt(i + 2) | 32;
    if (url.charCodeAt(i + 1) === 53 && c === 99 /* %5c */) return true;
    if (url.charCodeAt(i + 1) === 50 && c === 102 /* %2f */ && endsWithDots(url, i)) return true;
  }
  return false;
}

/** True when the segment that ends at `at` (an encoded slash) is ".." or "." in any spelling. */
function endsWithDots(url: string, at: number): boolean {
  const start = url.lastIndexOf('/', at - 1) + 1;
  return dotCount(url.slice(start, at)) > 0;
}

/** How many Host headers a raw header list has: more than one is refused (RFC 9112 section 3.2). */
export function hostHeaderCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length !== 4) continue;
    // "host" in any case, compared by character codes (no lower-cased copy per header).
    if ((name.charCodeAt(0) | 32) === 104 && (name.charCodeAt(1) | 32) === 111 && (name.charCodeAt(2) | 32) === 115 && (name.charCodeAt(3) | 32) === 116) n++;
  }
  return n;
}
