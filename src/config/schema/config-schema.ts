/**
 * The config schema: the one source for validation, defaults, the `Config` type and the
 * shipped JSON Schema. Field names and defaults are Kong's (decK files load unchanged);
 * Kong entities warn about keys we do not use, our own sections reject them.
 */
import { type Infer, Preprocessed } from './dsl.js';
import { array, boolean, duration, enumOf, exactlyOne, integer, number, record, string, union } from './kinds.js';
import { object } from './object.js';
import { parseJsonPath } from '../../mirror/json-paths.js';
import { expandServiceUrl, withUrlInJsonSchema } from './service-url.js';

const KONG = { unknown: 'warn' } as const;

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?';
const HOSTNAME = `${LABEL}(?:\\.${LABEL})*`;
const IPV6 = '(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]*';
const HOST = `(?:${HOSTNAME}|\\[${IPV6}\\])`;

const name = string({ pattern: /^[A-Za-z0-9._~-]+$/, expected: 'a name of letters, digits and . _ ~ -' });
const upstreamName = string({ pattern: new RegExp(`^${HOSTNAME}$`), expected: 'a hostname-like name such as "blue"' });
const port = (min: number) => (value: string, report: (message: string) => void) => {
  const n = Number(/:(\d+)$/.exec(value)?.[1] ?? min);
  if (n < min || n > 65535) report(`expected a port from ${min} to 65535, got ${n}`);
};

const listen = string({
  pattern: new RegExp(`^${HOST}:\\d{1,5}$`),
  expected: 'an address "HOST:PORT" such as "127.0.0.1:8000" or "[::1]:8000"',
}).refine(port(0));

// Bare IPv6 is accepted and bracketed, so that `${host}:${port}` is always a valid address.
const serviceHost = string({
  pattern: new RegExp(`^(?:${HOST}|${IPV6})$`),
  expected: 'an upstream name, a hostname or an IP address',
}).map((h) => (h.includes(':') && !h.startsWith('[') ? `[${h}]` : h));

/** A target with Kong's default port (8000) when it names none: one spelling per target. */
export function withDefaultPort(target: string): string {
  return /(?:^[^:]*|\]):\d+$/.test(target) ? target : `${target}:8000`;
}

// Kong's default target port is 8000; normalising here keeps one spelling per target.
const targetAddress = string({
  pattern: new RegExp(`^${HOST}(?::\\d{1,5})?$`),
  expected: 'a target "HOST:PORT" such as "10.0.0.1:80" or "[::1]:80"',
})
  .refine(port(1))
  .map(withDefaultPort);

const path = string({ pattern: /^\/[^\s?#]*$/, expected: 'a path starting with "/"' });
const routePath = string({ pattern: /^\/\S*$/, expected: 'a path prefix starting with "/" (regex paths are not supported)' });
const routeHost = string({
  pattern: new RegExp(`^(?:\\*\\.)?${HOSTNAME}$`),
  expected: 'a hostname such as "api.example.com" or "*.example.com"',
}).map((h) => h.toLowerCase());
const method = string({ pattern: /^[A-Z]+$/, expected: 'an upper-case HTTP method such as "GET"' });
const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const cookieName = string({ pattern: token, expected: 'a cookie name' });
// Lower-cased because Node hands the proxy lower-case header names.
const headerName = string({ pattern: token, expected: 'a header name' }).map((h) => h.toLowerCase());
const headerMap = record(array(string()), { key: headerName });

const weight = integer({ min: 0, max: 65535 });
const timeoutMs = integer({ min: 1, max: 2147483646 }).default(60000);
const seconds = (d: number) => number({ min: 0, max: 65535 }).default(d);
const counter = integer({ min: 0, max: 255 }).default(0);
const statuses = (d: number[]) => array(integer({ min: 100, max: 999 })).default(d);
const probeType = enumOf(['http', 'https', 'tcp', 'grpc', 'grpcs']).default('http');

const activeChecks = object(
  {
    type: probeType,
    http_path: path.default('/'),
    grpc_service: string()
      .default('')
      .describe("With type grpc or grpcs: the service name asked of grpc.health.v1.Health/Check ('' asks for the server as a whole)."),
    port: integer({ min: 1, max: 65535 })
      .optional()
      .describe("switchyard extension: probe this port instead of the target's (e.g. Kong's status listener, 8100)."),
    timeout: seconds(1).describe('Probe timeout in seconds.'),
    concurrency: integer({ min: 1, max: 2147483647 }).default(10),
    headers: headerMap.default({}),
    https_verify_certificate: boolean().default(true),
    expect: object({ json: record(union(string(), number(), boolean())) })
      .optional()
      .describe("switchyard extension: values the probe's JSON body must also have, e.g. { json: { status: pass } }."),
    healthy: object(
      {
        interval: seconds(0).describe('Seconds between probes of a healthy target; 0 disables.'),
        successes: counter,
        http_statuses: statuses([200, 302]),
      },
      KONG,
    ).default({}),
    unhealthy: object(
      {
        interval: seconds(0).describe('Seconds between probes of an unhealthy target; 0 disables.'),
        http_failures: counter,
        tcp_failures: counter,
        timeouts: counter,
        http_statuses: statuses([429, 404, 500, 501, 502, 503, 504, 505]),
      },
      KONG,
    ).default({}),
  },
  KONG,
);

const passiveChecks = object(
  {
    type: probeType,
    healthy: object(
      {
        successes: counter,
        http_statuses: statuses([200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308]),
      },
      KONG,
    ).default({}),
    unhealthy: object({ http_failures: counter, tcp_failures: counter, timeouts: counter, http_statuses: statuses([429, 500, 503]) }, KONG).default({}),
    cooldown: seconds(30).describe(
      'switchyard extension: with passive checks only, seconds before an ejected target gets traffic again (Kong would wait for an operator).',
    ),
  },
  KONG,
);

const healthchecks = object(
  {
    active: activeChecks.default({}),
    passive: passiveChecks.default({}),
    threshold: number({ min: 0, max: 100 }).default(0),
  },
  KONG,
);

/** One target of an upstream; also the body of Kong's POST /upstreams/NAME/targets. */
export const target = object({ target: targetAddress, weight: weight.default(100) }, KONG);

const upstream = object(
  {
    name: upstreamName,
    algorithm: enumOf(['round-robin'], '"round-robin" (the only algorithm switchyard supports)').default('round-robin'),
    targets: array(target).default([]),
    healthchecks: healthchecks.default({}),
    max_connections: integer({ min: 1, max: 65_535 })
      .default(128)
      .describe("Connections open to each target at most, per worker; requests beyond it wait for a free one (nginx's max_conns, with a queue)."),
    keepalive_timeout: duration({ min: 100, max: 3_600_000 })
      .default('4s')
      .describe("An idle connection to a target is closed after this, whatever longer keep-alive the target offers (Kong's upstream_keepalive_idle_timeout)."),
  },
  KONG,
);

const route = object(
  {
    name: name.optional(),
    hosts: array(routeHost).default([]).describe('Exact hosts or leading wildcards (*.example.com).'),
    paths: array(routePath).default([]).describe('Path prefixes; the longest match wins.'),
    methods: array(method).default([]),
    headers: headerMap.optional(),
    strip_path: boolean().default(true),
    preserve_host: boolean().default(false),
  },
  KONG,
).refine((r, report) => {
  // Kong's rule: a route must match on something, or it would swallow every request.
  const empty = r.hosts.length + r.paths.length + r.methods.length + Object.keys(r.headers ?? {}).length === 0;
  if (empty) report('a route needs at least one of hosts, paths, methods or headers');
});

const split = record(weight, { key: upstreamName })
  .refine(
    (s, report) => {
      if (!Object.values(s).some((w) => w > 0)) report('expected at least one upstream with a weight above 0');
    },
    { minProperties: 1 },
  )
  .describe('switchyard extension: upstream name -> weight; while present it takes the place of host.');

const override = object({
  header: headerName.optional(),
  cookie: cookieName.optional(),
  value: string(),
  upstream: upstreamName,
}).refine(exactlyOne(['header', 'cookie']));

const sticky = object({ header: headerName.optional(), cookie: cookieName.optional(), ip: boolean().optional() }).refine(
  exactlyOne(['header', 'cookie', 'ip']),
);

// A rollout: the body of POST /services/NAME/rollout, and (with its progress) the service's
// `rollout:` block that switchyard writes so that a rollout survives a restart (SPEC 7).
const rolloutSteps = array(integer({ min: 1, max: 100 }), { minItems: 1 }).refine((steps, report) => {
  const ok = steps.every((s, i) => i === 0 || s > steps[i - 1]) && steps[steps.length - 1] === 100;
  if (!ok) report('expected increasing percents ending at 100, e.g. [10, 25, 50, 100]');
});
// A Prometheus query a rollout judges each window on (Flagger's and Argo's metric analysis).
const analysisMetric = object({
  name: string({ pattern: /^[A-Za-z0-9_.-]{1,64}$/, expected: 'a metric name (letters, digits, "_", "." or "-")' }),
  prometheus: string({ pattern: /^https?:\/\/\S+$/, expected: 'an http:// or https:// URL' }).describe("Prometheus's base URL; /api/v1/query is asked."),
  query: string({ minLength: 1 }).describe('PromQL; {{service}}, {{upstream}} (the new one) and {{interval}} are filled in.'),
  max: number().optional().describe('The value must be at most this.'),
  min: number().optional().describe('The value must be at least this.'),
  timeout: duration({ min: 100, max: 60_000 }).default('5s'),
}).refine((m, report) => {
  if (m.max === undefined && m.min === undefined) report('give max, min or both');
});

const rolloutPlanFields = {
  to: upstreamName,
  steps: rolloutSteps.default([10, 25, 50, 100]),
  interval: duration({ min: 50, max: 86_400_000 }).default('30s').describe('Time per step: "30s", "2m", or milliseconds.'),
  analysis: object({
    max_error_rate: number({ min: 0, max: 1 }).default(0.01),
    max_p99_ms: number({ min: 0, max: 3_600_000 }).default(500),
    min_requests: integer({ min: 0, max: 1e9 }).default(100),
    min_mirror_match: number({ min: 0, max: 1 })
      .optional()
      .describe(
        "Begin with a shadow phase: no traffic moves until the service's mirror (to the same upstream) matches at least this share of min_requests compared pairs in a window.",
      ),
    metrics: array(analysisMetric)
      .default([])
      .describe('PromQL instant queries judged at each window end: an error or an empty result is inconclusive, never a pass.'),
  }).default({}),
  failure_threshold: integer({ min: 1, max: 1000 }).default(2),
  on_failure: enumOf(['rollback', 'pause']).default('rollback'),
  gate: enumOf(['auto', 'manual']).default('auto'),
  max_inconclusive: integer({ min: 1, max: 1000 }).default(5),
  on_restart: enumOf(['resume', 'pause']).default('resume').describe('After a restart: carry on from the step, or hold for a person.'),
  gates: array(
    object({
      url: string({ pattern: /^https?:\/\/\S+$/, expected: 'an http:// or https:// URL' }).describe(
        'POSTed the rollout state; only a 2xx answer lets it move.',
      ),
      before: enumOf(['step', 'promote'])
        .default('step')
        .describe("step: before every next step (Flagger's confirm-rollout); promote: before the final one only (confirm-promotion)."),
      timeout: duration({ min: 100, max: 60_000 }).default('5s'),
    }),
  )
    .default([])
    .describe('Webhooks that must answer 2xx before the rollout moves on; anything else is inconclusive, never a pass.'),
};
/** The body of POST /services/NAME/rollout: a rollout's plan, and `force` to replace a running one. */
export const rolloutRequest = object({ ...rolloutPlanFields, force: boolean().optional() });
const rollout = object({
  ...rolloutPlanFields,
  state: enumOf(['running', 'paused']).default('running'),
  step: integer({ min: 0, max: 100 }).default(1).describe('1-based index into steps; 0 is the shadow phase of min_mirror_match.'),
  failures: integer({ min: 0, max: 1000 }).default(0),
  reason: string().optional(),
  started_at: string().optional(),
});

// Copies of requests to another upstream, compared with the primary's answers (SPEC 12).
const jsonPath = string().refine((p, report) => {
  const parsed = parseJsonPath(p);
  if (typeof parsed === 'string') report(parsed);
});
/** A service's `mirror:` block; also the body of PUT /services/NAME/mirror. */
export const mirrorBlock = object({
  upstream: upstreamName.describe('The declared upstream copies go to (typically green).'),
  percent: number({ min: 0, max: 100 }).default(100).describe('Share of matching requests copied, exactly (every 100/percent-th one).'),
  methods: array(method, { minItems: 1 }).default(['GET', 'HEAD']).describe('Only requests with these methods are copied.'),
  max_body: integer({ min: 0, max: 16_777_216 })
    .default(65_536)
    .describe('Bytes: longer request bodies are not copied (counted as too_large); longer responses are compared by SHA-256 alone.'),
  timeout: duration({ min: 100, max: 600_000 }).default('10s').describe("The mirror's answer is waited for this long (headers, then between body chunks)."),
  max_concurrent: integer({ min: 1, max: 100_000 })
    .default(100)
    .describe('Copies in flight at most (per worker); beyond it copies are dropped and counted, so a slow mirror cannot grow memory.'),
  compare: object({
    headers: array(headerName).default([]).describe('Response headers that must be equal.'),
    ignore_json: array(jsonPath).default([]).describe('JSON paths removed from both bodies before they are compared: $.id, $.items[*].updated, $..timestamp.'),
  }).default({}),
});

/** A service's fields, before Kong's `url` shorthand is expanded; PATCH bodies are checked against them. */
export const serviceFields = object(
  {
    name,
    host: serviceHost.describe('An upstream name, or a plain host for a single server.'),
    port: integer({ min: 1, max: 65535 }).default(80).describe('Used when host is not an upstream.'),
    protocol: enumOf(['http', 'https', 'http2', 'grpc', 'grpcs'])
      .default('http')
      .describe('How targets are spoken to: http/https (HTTP/1.1), http2 (HTTP/2 without TLS), grpc (HTTP/2 without TLS), grpcs (HTTP/2 over TLS).'),
    path: path.optional().describe('Prefix added to the upstream request path.'),
    retries: integer({ min: 0, max: 32767 }).default(5),
    connect_timeout: timeoutMs.describe('Milliseconds.'),
    read_timeout: timeoutMs.describe('Milliseconds.'),
    write_timeout: timeoutMs.describe('Milliseconds.'),
    routes: array(route).default([]),
    split: split.optional(),
    overrides: array(override).optional().describe('switchyard extension: pin matching requests to an upstream.'),
    sticky: sticky.optional().describe('switchyard extension: keep a client on its upstream during a split.'),
    failover: boolean().default(true).describe('Fail over to the other upstream of a split when one has no healthy target.'),
    tls_verify: boolean().default(true).describe("With protocol https: verify the targets' certificates (Kong's tls_verify)."),
    mirror: mirrorBlock.optional().describe('switchyard extension: copy requests to another upstream and compare its answers; the client never waits for it.'),
    rollout: rollout.optional().describe('switchyard writes this while a rollout runs; delete it to drop the rollout.'),
    previous_host: serviceHost.optional().describe('switchyard writes this on a switch: where a rollback sends traffic.'),
  },
  { unknown: 'warn', alsoKnown: ['url'] },
);
const service = new Preprocessed(serviceFields, expandServiceUrl, withUrlInJsonSchema);

const proxy = object({
  workers: union(integer({ min: 1, max: 1024 }), enumOf(['auto']))
    .default(1)
    .describe(
      'Proxy worker processes: a number, or "auto" for one per CPU. 1 runs everything in one process. Read at start (`switchyard start --workers N` wins).',
    ),
  http2: boolean()
    .default(false)
    .describe('Also accept HTTP/2 with prior knowledge (h2c) on plaintext listeners, beside HTTP/1.1. TLS listeners offer h2 by ALPN whatever this says.'),
  listen: array(listen, { minItems: 1 }).default(['127.0.0.1:8000']).describe('Addresses the proxy listens on, "HOST:PORT"; port 0 picks a free port.'),
  tls: object({ cert: string({ minLength: 1 }), key: string({ minLength: 1 }) }).optional(),
  client_header_timeout: duration({ min: 100, max: 3_600_000 })
    .default('60s')
    .describe("A client must send its whole request head within this (nginx's client_header_timeout); else 408."),
  client_body_timeout: duration({ min: 100, max: 3_600_000 })
    .default('60s')
    .describe("Longest pause between two chunks of a request body (nginx's client_body_timeout); else 408."),
  max_connections: integer({ min: 1, max: 10_000_000 })
    .default(10_000)
    .describe('Open client connections per listener; connections beyond it are closed as soon as they are accepted.'),
  tunnel_timeout: duration({ min: 1000, max: 604_800_000 })
    .default('1h')
    .describe("A WebSocket tunnel with no traffic either way for this long is closed (HAProxy's timeout tunnel)."),
  shutdown_timeout: duration({ min: 0, max: 3_600_000 })
    .default('10s')
    .describe("At shutdown, busy connections get this long to finish; then every socket is closed (HAProxy's hard-stop-after)."),
});

const admin = object({
  listen: listen.default('127.0.0.1:8001').describe('Admin API address, "HOST:PORT"; loopback by default.'),
  // An empty token (from ${SWITCHYARD_ADMIN_TOKEN:-}) means "no token", not "the empty token".
  token: string()
    .map((t) => (t === '' ? undefined : t))
    .optional()
    .describe('When set, admin requests need "Authorization: Bearer TOKEN".'),
});

const metrics = object({
  enabled: boolean().default(true).describe('Count requests for GET /metrics; off saves the (small) per-request cost.'),
});
const log = object({
  level: enumOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('LOG_LEVEL in the environment wins.'),
  access: boolean()
    .default(false)
    .describe('One JSON line per proxied request on stdout (service, route, upstream, target, status, duration, bytes, retries, request id).'),
});

/** What a webhook can be told of (SPEC 12). */
export const NOTIFY_EVENTS = [
  'switch',
  'rollback',
  'rollout_started',
  'rollout_step',
  'judgement',
  'paused',
  'resumed',
  'succeeded',
  'rolled_back',
  'aborted',
] as const;

// Webhooks: a JSON event (with a Slack-compatible `text`) POSTed for each switch and rollout event.
const notification = object({
  url: string({ pattern: /^https?:\/\/\S+$/, expected: 'an http:// or https:// URL' }).describe('Where each event is POSTed as JSON.'),
  events: array(enumOf(NOTIFY_EVENTS), { minItems: 1 })
    .default([...NOTIFY_EVENTS])
    .describe('Which events to send (default: all).'),
  secret: string({ minLength: 1 }).optional().describe('Signs each body: x-switchyard-signature: sha256=HMAC-SHA256(secret, body), hex.'),
  timeout: duration({ min: 100, max: 60_000 }).default('5s').describe('How long one delivery may take before it is retried.'),
});

// A fleet: instances with one name share services and upstreams through Redis (SPEC 10).
const fleet = object({
  // Checked without quoting the value back: it may hold a password.
  redis: string({ minLength: 1 })
    .refine(
      (url, report) => {
        if (!/^rediss?:\/\/\S+$/.test(url)) report('expected a redis:// or rediss:// URL (the value is not shown: it may hold a password)');
      },
      { pattern: '^rediss?://\\S+$' },
    )
    .optional()
    .describe('The Redis URL (a password may be in it; rediss:// for TLS); SWITCHYARD_REDIS_URL when absent.'),
  name: string({ pattern: /^[A-Za-z0-9_.-]{1,64}$/, expected: 'a fleet name (letters, digits, "_", "." or "-")' }).describe(
    'Instances with the same name form one fleet.',
  ),
  instance: string({ pattern: /^[A-Za-z0-9_.:@-]{1,128}$/, expected: 'an instance id (letters, digits, "_", ".", ":", "@" or "-")' })
    .optional()
    .describe('This instance in the fleet; default HOSTNAME:PID.'),
});

/** The whole config file. */
export const configSchema = object(
  {
    proxy: proxy.default({}),
    admin: admin.default({}),
    metrics: metrics.default({}),
    log: log.default({}),
    fleet: fleet.optional(),
    notifications: array(notification).default([]),
    services: array(service).default([]),
    upstreams: array(upstream).default([]),
    _format_version: string().optional().describe('decK format version; accepted and ignored.'),
  },
  // decK's metadata keys (_info, _workspace, _konnect, _transform, …) are accepted and ignored, so a `deck gateway dump` loads.
  { unknown: 'error', ignore: /^_/ },
);

/** A validated config with every default applied (deep-frozen by the parser). */
export type Config = Infer<typeof configSchema>;
/** A service: where a route's traffic goes (an upstream, a plain host, or a split). */
export type Service = Config['services'][number];
/** A route: what requests a service receives. */
export type Route = Service['routes'][number];
/** An upstream: a named, balanced group of targets. */
export type Upstream = Config['upstreams'][number];
/** One "host:port" of an upstream, with its weight (named apart from the runtime Target). */
export type UpstreamTarget = Upstream['targets'][number];
/** An upstream's active and passive health-check settings (Kong's fields). */
export type Healthchecks = Upstream['healthchecks'];
/** A service override: requests with this header or cookie value go to `upstream`. */
export type Override = NonNullable<Service['overrides']>[number];
/** A rollout in progress, as kept in the config. */
export type RolloutBlock = NonNullable<Service['rollout']>;
/** How a service keeps a client on its upstream during a split. */
export type Sticky = NonNullable<Service['sticky']>;
