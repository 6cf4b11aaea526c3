import { App } from '../../src/app.js';
import { formatDiagnostic, parseConfig } from '../../src/config/load/parse.js';

/** A running switchyard on ephemeral loopback ports. */
export interface Running {
  app: App;
  /** "http://127.0.0.1:PORT" of the proxy. */
  proxy: string;
  /** "http://127.0.0.1:PORT" of the admin API. */
  admin: string;
  close(): Promise<void>;
}

/**
 * Start switchyard from YAML text. Listen addresses default to port 0 on 127.0.0.1,
 * so tests never race for ports.
 */
export async function startSwitchyard(yaml: string, env: NodeJS.ProcessEnv = {}): Promise<Running> {
  const withListeners = /^proxy:/m.test(yaml) ? yaml : `proxy:\n  listen: ["127.0.0.1:0"]\nadmin:\n  listen: "127.0.0.1:0"\n${yaml}`;
  const parsed = parseConfig(withListeners, 'test.yaml', env);
  if (!parsed.ok) throw new Error(`test config is invalid:\n${parsed.errors.map(formatDiagnostic).join('\n')}`);
  const app = await App.start({ config: parsed.config });
  return {
    app,
    proxy: `http://${app.proxyAddresses[0]}`,
    admin: `http://${app.adminAddress}`,
    close: () => app.close(),
  };
}

/** YAML for one service `svc` routed on "/" to `host`, with upstreams named after `upstreams`' keys. */
export function blueGreenYaml(upstreams: Record<string, string[]>, service: Record<string, unknown> = {}): string {
  const svc = { name: 'svc', host: Object.keys(upstreams)[0], routes: [{ name: 'all', paths: ['/'], strip_path: false }], ...service };
  const ups = Object.entries(upstreams).map(([name, targets]) => ({ name, targets: targets.map((target) => ({ target })) }));
  // JSON is valid YAML: the simplest way to build a config in a test.
  return `services: ${JSON.stringify([svc])}\nupstreams: ${JSON.stringify(ups)}\n`;
}
