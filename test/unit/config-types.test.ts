import { describe, expectTypeOf, it } from 'vitest';
import type { Config, Healthchecks, Route, Service, Upstream } from '../../src/config/schema/config-schema.js';

// The shape the proxy, balancer and admin code are written against. If the schema's inferred
// type drifts from it, `tsc` on this file fails (vitest itself only runs the test bodies).
interface ExpectedConfig {
  _format_version?: string;
  proxy: { listen: string[]; tls?: { cert: string; key: string } };
  admin: { listen: string; token?: string };
  services: ExpectedService[];
  upstreams: ExpectedUpstream[];
}
interface ExpectedService {
  name: string;
  host: string;
  port: number;
  protocol: 'http' | 'https';
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
}
interface ExpectedHealthchecks {
  active: {
    type: 'http' | 'https' | 'tcp';
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
    type: 'http' | 'https' | 'tcp';
    healthy: { successes: number; http_statuses: number[] };
    unhealthy: { http_failures: number; tcp_failures: number; timeouts: number; http_statuses: number[] };
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
