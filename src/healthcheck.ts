/**
 * The container's health check (`HEALTHCHECK` in the Dockerfile, the readiness probe in
 * Kubernetes): exit 0 while GET /status on the admin listener answers, whatever it says of the
 * upstreams (`fail` means a service has no healthy target: restarting switchyard would not
 * help, and the other services still need it), 1 when it does not answer or refuses the token.
 * The admin address comes from SWITCHYARD_ADMIN_URL (default http://127.0.0.1:8001), the token
 * from SWITCHYARD_ADMIN_TOKEN, so it never sits in a manifest.
 */
const url = `${process.env.SWITCHYARD_ADMIN_URL ?? 'http://127.0.0.1:8001'}/status`;
const token = process.env.SWITCHYARD_ADMIN_TOKEN;

try {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(2500) });
  const body = (await res.json()) as { status?: string };
  process.stdout.write(`switchyard: ${body.status ?? `HTTP ${res.status}`}\n`);
  process.exitCode = res.ok ? 0 : 1;
} catch (err) {
  process.stderr.write(`switchyard's admin API at ${url} did not answer: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
