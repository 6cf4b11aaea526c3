/**
 * Kong's `url` shorthand on a service: `url: http://host:port/path` stands for protocol,
 * host, port and path. It is expanded before validation, so nothing downstream sees it.
 */
import { describeValue, isMapping, type JsonSchema, type Report } from './dsl.js';

// scheme://authority[/path], no query or fragment (a service path is a prefix, not a URL).
const URL_SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]+)(\/[^?#]*)?$/;
const SPELLED_OUT = ['protocol', 'host', 'port', 'path'];

/** Replace a service's `url` with the protocol, host, port and path it stands for. */
export function expandServiceUrl(value: unknown, report: Report): unknown {
  if (!isMapping(value) || value.url === undefined || value.url === null) return value;
  const { url, ...rest } = value;
  const clash = SPELLED_OUT.filter((k) => rest[k] !== undefined);
  if (clash.length > 0) {
    const message = `url is a shorthand for protocol, host, port and path; give url or ${clash.join(', ')}, not both`;
    report(message, ['url'], 'key');
    return value;
  }
  const parts = typeof url === 'string' ? splitUrl(url) : undefined;
  if (parts === undefined) {
    report(`expected a URL such as "http://host:80/path", got ${describeValue(url)}`, ['url']);
    return value;
  }
  return { ...rest, ...parts };
}

function splitUrl(url: string): Record<string, unknown> | undefined {
  const match = URL_SHAPE.exec(url);
  if (!match) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.username !== '' || parsed.password !== '') return undefined;
  // Any other scheme passes through, so that the protocol check reports it by name.
  const protocol = match[1].toLowerCase();
  const port = parsed.port !== '' ? Number(parsed.port) : protocol === 'https' || protocol === 'grpcs' ? 443 : 80;
  return { protocol, host: parsed.hostname, port, ...(match[3] ? { path: match[3] } : {}) };
}

/** The service's JSON Schema with `url` added and `host` required only when `url` is absent. */
export function withUrlInJsonSchema(json: JsonSchema): JsonSchema {
  const url = {
    description: 'Kong shorthand for protocol, host, port and path, e.g. "http://blue:80/api" or "grpc://orders:50051".',
    type: 'string',
    pattern: '^(?:[Hh][Tt][Tt][Pp](?:[Ss]|2)?|[Gg][Rr][Pp][Cc][Ss]?)://',
  };
  const properties = { ...(json.properties as Record<string, unknown>), url };
  const required = ((json.required as string[] | undefined) ?? []).filter((k) => k !== 'host');
  return { ...json, properties, required, anyOf: [{ required: ['host'] }, { required: ['url'] }] };
}
