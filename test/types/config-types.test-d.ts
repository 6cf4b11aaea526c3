import { describe, expectTypeOf, it } from 'vitest';
import type { Config, Healthchecks, Route, Service, Upstream } from '../../src/config/schema/config-schema.js';

// The shape the proxy, balancer and admin code are written against. This is a type test:
// `npm run typecheck` (part of `npm test`) fails when the schema's inferred type drifts from it.
interface ExpectedConfig {
  _format_version?: string;
  proxy: {
    workers: number | 'auto';
    http2: boolean;
    listen: string[];
    tls?: { cert: string; key: string };
    client_header_timeout: number;
    client_body_timeout: number;
    max_connections: number;
    tunnel_timeout: number;
    shutdown_timeout: number;
  };
  admin: { listen: string; token?: string };
  metrics: { enabled: boolean };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'; access: boolean };
  fleet?: { redis?: string; name: string; instance?: string };
  notifications: {
    url: string;
    events: ('switch' | 'rollback' | 'rollout_started' | 'rollout_step' | 'judgement' | 'paused' | 'resumed' | 'succeeded' | 'rolled_back' | 'aborted')[];
    secret?: string;
    timeout: number;
  }[];
  services: ExpectedService[];
  upstreams: ExpectedUpstream[];
}
interface ExpectedService {
  name: string;
  host: string;
  port: number;
  protocol: 'http' | 'https' | 'http2' | 'grpc' | 'grpcs';
  path?: string;
  retries: number;
  connect_timeout: number;
  read_timeout: number;
  write_timeout: number;
  routes: ExpectedRoute[];
  split?: Record<string, number>;
  overrides?: { header?: string; cookie?: string; value: string; upstream: string }[];
  sticky?: { header?: string; cookie?: string; ip?: boolean };
  failover: boolean;
  tls_verify: boolean;
  mirror?: {
    upstream: string;
    percent: number;
    methods: string[];
    max_body: number;
    timeout: number;
    max_concurrent: number;
    compare: { headers: string[]; ignore_json: string[] };
  };
  rollout?: ExpectedRollout;
  previous_host?: string;
}
interface ExpectedRollout {
  to: string;
  steps: number[];
  interval: number;
  analysis: {
    max_error_rate: number;
    max_p99_ms: number;
    min_requests: number;
    min_mirror_match?: number;
    metrics: { name: string; prometheus: string; query: string; max?: number; min?: number; timeout: number }[];
  };
  failure_threshold: number;
  on_failure: 'rollback' | 'pause';
  gate: 'auto' | 'manual';
  max_inconclusive: number;
  on_restart: 'resume' | 'pause';
  gates: { url: string; before: 'step' | 'promote'; timeout: number }[];
  state: 'running' | 'paused';
  step: number;
  failures: number;
  reason?: string;
  started_at?: string;
}
interface ExpectedRoute {
  name?: string;
  hosts: string[];
  paths: string[];
  methods: string[];
  headers?: Record<string, string[]>;
  strip_path: boolean;
  preserve_host: boolean;
}
interface ExpectedUpstream {
  name: string;
  algorithm: 'round-robin';
  targets: { target: string; weight: number }[];
  healthchecks: ExpectedHealthchecks;
  max_connections: number;
  keepalive_timeout: number;
}
interface ExpectedHealthchecks {
  active: {
    type: 'http' | 'https' | 'tcp' | 'grpc' | 'grpcs';
    port?: number;
    grpc_service: string;
    http_path: string;
    timeout: number;
    concurrency: number;
    headers: Record<string, string[]>;
    https_verify_certificate: boolean;
    expect?: { json: Record<string, string | number | boolean> };
    healthy: { interval: number; successes: number; http_statuses: number[] };
    unhealthy: {
      interval: number;
      http_failures: number;
      tcp_failures: number;
      timeouts: number;
      http_statuses: number[];
    };
  };
  passive: {
    type: 'http' | 'https' | 'tcp' | 'grpc' | 'grpcs';
    healthy: { successes: number; http_statuses: number[] };
    unhealthy: { http_failures: number; tcp_failures: number; timeouts: number; http_statuses: number[] };
    cooldown: number;
  };
  threshold: number;
}

describe('Config type', () => {
  it('is exactly the documented shape', () => {
    expectTypeOf<Config>().toEqualTypeOf<ExpectedConfig>();
    expectTypeOf<Service>().toEqualTypeOf<ExpectedService>();
    expectTypeOf<Route>().toEqualTypeOf<ExpectedRoute>();
    expectTypeOf<Upstream>().toEqualTypeOf<ExpectedUpstream>();
    expectTypeOf<Healthchecks>().toEqualTypeOf<ExpectedHealthchecks>();
  });
});
