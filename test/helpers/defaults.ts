/** The `proxy` section of a config that sets nothing but the default listener. */
export const PROXY_DEFAULTS = {
  workers: 1,
  http2: false,
  listen: ['127.0.0.1:8000'],
  client_header_timeout: 60_000,
  client_body_timeout: 60_000,
  max_connections: 10_000,
  tunnel_timeout: 3_600_000,
  shutdown_timeout: 10_000,
};
