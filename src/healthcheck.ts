/**
 * The container's health check (`HEALTHCHECK` in the Dockerfile, an exec probe in
 * Kubernetes): exit 0 when GET /status on the admin listener answers `pass` or `warn`, 1
 * otherwise. The admin address comes from SWITCHYARD_ADMIN_URL (default
 * http://127.0.0.1:8001), the token from SWITCHYARD_ADMIN_TOKEN, so it never sits in a manifest.
 */
const url = `${process.env.SWITCHYARD_ADMIN_URL ?? 'http://127.0.0.1:8001'}/status`;
const token = process.env.SWITCHYARD_ADMIN_TOKEN;

try {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(2500) });
  const body = (await res.json()) as { status?: string };
  const ok = res.ok && (body.status === 'pass' || body.status === 'warn');
  if (!ok) process.stderr.write(`switchyard is ${body.status ?? `answering ${res.status}`}\n`);
  process.exitCode = ok ? 0 : 1;
} catch (err) {
  process.stderr.write(`switchyard's admin API at ${url} did not answer: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
