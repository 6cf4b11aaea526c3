#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { App } from './app.js';
import { formatDiagnostic, loadConfigFile } from './config/load/parse.js';
import { CLIENT_USAGE, findClientCommand, runClientCommand } from './client/commands.js';
import { closeDemoUpstreams, startDemoUpstreams } from './demo/upstreams.js';
import { createLogger } from './log.js';
import { VERSION } from './version.js';

const DEFAULT_CONFIG = 'config/switchyard.yaml';
/** The demo config inside the installed package (dist/src/cli.js → config/switchyard.yaml). */
const PACKAGED_CONFIG = fileURLToPath(new URL('../../config/switchyard.yaml', import.meta.url));

const USAGE = `switchyard ${VERSION}: a traffic-switching reverse proxy for blue/green gateway upgrades

Usage:
  switchyard start [-c FILE] [--demo] [--state FILE] [--workers N|auto]
                                        run the proxy (default config: config/switchyard.yaml; with --demo and none here, the packaged one);
                                        --demo also starts demo upstreams (blue 9001, 9002; green 9101, 9102);
                                        --state: where admin changes go if FILE cannot be written;
                                        --workers: proxy worker processes (overrides proxy.workers)
  switchyard validate FILE              check a config: exit 0, or print FILE:LINE:COL message and exit 1
  switchyard fleet push FILE            make FILE's services and upstreams the fleet's next version
                                        (--redis URL, --name NAME; default: FILE's fleet block)
${CLIENT_USAGE}  switchyard --version | --help

The status, switch, rollout and rollback commands call the admin API (--admin URL, --token TOKEN,
-c FILE, --json); \`switchyard COMMAND --help\` tells more. They exit 0 on success, 1 on a refusal
or failure (the server's message is printed), 2 when the admin API cannot be reached.
`;

/** Run a CLI command; resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const client = findClientCommand(command);
  if (client) return runClientCommand(client, rest);
  switch (command) {
    case 'start':
      return start(rest);
    case 'validate':
      return validate(rest);
    case 'fleet':
      return fleet(rest);
    case '--version':
    case '-v':
      process.stdout.write(`${VERSION}\n`);
      return 0;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`switchyard: unknown command "${command}"\n\n${USAGE}`);
      return 1;
  }
}

async function validate(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help || positionals.length !== 1) {
    process.stderr.write('usage: switchyard validate FILE\n');
    return values.help ? 0 : 1;
  }
  const result = await loadConfigFile(positionals[0]);
  for (const w of result.warnings) process.stderr.write(`${formatDiagnostic(w)} (warning)\n`);
  if (!result.ok) {
    for (const e of result.errors) process.stdout.write(`${formatDiagnostic(e)}\n`);
    return 1;
  }
  process.stdout.write(`${positionals[0]}: ok (${result.config.services.length} services, ${result.config.upstreams.length} upstreams)\n`);
  return 0;
}

const FLEET_USAGE = `usage: switchyard fleet push FILE [--redis URL] [--name NAME]

Validate FILE like \`switchyard validate\`, then make its shared part (services, upstreams,
metrics, notifications) the fleet's next version: every instance of the fleet applies it in order, as it
applies an admin change. Each instance keeps its own proxy, admin, log and fleet sections.
  --redis URL   the fleet's Redis (default: FILE's fleet.redis, else $SWITCHYARD_REDIS_URL)
  --name NAME   the fleet (default: FILE's fleet.name)
Exit 0 when pushed; 1 for a bad FILE or usage; 2 when Redis cannot be reached.
`;

/** \`switchyard fleet push FILE\`: replace the fleet's config on purpose. */
async function fleet(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { redis: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(FLEET_USAGE);
    return 0;
  }
  if (positionals[0] !== 'push' || positionals.length !== 2) {
    process.stderr.write(FLEET_USAGE);
    return 1;
  }
  const file = positionals[1];
  const result = await loadConfigFile(file);
  for (const w of result.warnings) process.stderr.write(`${formatDiagnostic(w)} (warning)\n`);
  if (!result.ok) {
    for (const e of result.errors) process.stderr.write(`${formatDiagnostic(e)}\n`);
    process.stderr.write(`switchyard: ${file} is not valid; nothing pushed\n`);
    return 1;
  }
  const url = values.redis ?? result.config.fleet?.redis ?? process.env.SWITCHYARD_REDIS_URL;
  const name = values.name ?? result.config.fleet?.name;
  if (!url || !/^rediss?:\/\/\S+$/.test(url) || !name) {
    process.stderr.write(`switchyard: give the fleet's Redis URL (redis://…) and name: --redis and --name, or a fleet block in ${file}\n`);
    return 1;
  }
  const { pushConfig } = await import('./fleet/push.js');
  try {
    const pushed = await pushConfig(url, name, result.config);
    process.stdout.write(`fleet ${name}: ${file} pushed as version ${pushed.version} (was ${pushed.previous}); every instance applies it now\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`switchyard: could not push to the fleet's Redis: ${(err as Error).message}\n`);
    return 2;
  }
}

async function start(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      demo: { type: 'boolean', default: false },
      state: { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: switchyard start [-c FILE] [--demo] [--state FILE] [--workers N|auto]\n  --state FILE  where to keep admin changes when the config file is read-only (default: FILE.state.json beside it)\n  --workers N   proxy worker processes, or "auto" for one per CPU (overrides proxy.workers; 1 = a single process)\n',
    );
    return 0;
  }
  // Without -c: config/switchyard.yaml here, else (an install from the package, e.g. `npx switchyard start --demo`) the one it ships, kept in memory.
  const packaged = values.config === undefined && values.demo && !existsSync(DEFAULT_CONFIG);
  if (packaged && values.state !== undefined) {
    process.stderr.write(`switchyard: --state needs a config file (-c FILE); without ${DEFAULT_CONFIG} here, --demo runs the packaged one in memory\n`);
    return 1;
  }
  const file = values.config ?? (packaged ? PACKAGED_CONFIG : DEFAULT_CONFIG);
  const workers = values.workers === undefined ? undefined : parseWorkers(values.workers);
  if (workers instanceof Error) {
    process.stderr.write(`switchyard: ${workers.message}\n`);
    return 1;
  }
  // Validate first, so that a bad file prints FILE:LINE:COL lines just as `validate` does.
  const result = await loadConfigFile(file);
  if (!result.ok) {
    for (const e of result.errors) process.stderr.write(`${formatDiagnostic(e)}\n`);
    process.stderr.write(`switchyard: ${file} is not valid; not starting\n`);
    return 1;
  }
  const log = createLogger(process.env.LOG_LEVEL ?? result.config.log.level);
  const demo = values.demo ? await startDemoUpstreams() : [];
  if (demo.length > 0) log.info({ upstreams: demo.map((d) => `${d.colour} ${d.address}`) }, 'demo upstreams started');
  let app: App;
  try {
    // Loaded here, not at the top, so that the client commands start quickly without the proxy's modules.
    const { App } = await import('./app.js');
    if (packaged) log.warn({ config: file }, `no ${DEFAULT_CONFIG} here: --demo runs the config the package ships, with admin changes kept in memory`);
    app = packaged ? await App.start({ config: result.config, log, workers }) : await App.start({ configPath: file, statePath: values.state, log, workers });
  } catch (err) {
    await closeDemoUpstreams(demo);
    process.stderr.write(`switchyard: ${(err as Error).message}\n`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  // A hard bound on shutdown (HAProxy's hard-stop-after): whatever still holds the process
  // open a moment after the drain's own bound, the process exits, and exits 0.
  const bound = setTimeout(() => {
    log.warn('shutdown took too long: stopping now');
    process.exit(0);
  }, result.config.proxy.shutdown_timeout + 2000);
  bound.unref();
  await app.close();
  await closeDemoUpstreams(demo);
  // Nothing should be left; if something is (a socket nobody closed), it must not keep the process alive.
  setTimeout(() => process.exit(0), 200).unref();
  return 0;
}

/** --workers: a count from 1 to 1024, or "auto" (one per CPU, resolved by the app as proxy.workers is). */
function parseWorkers(value: string): number | 'auto' | Error {
  if (value === 'auto') return value;
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 1024 ? n : new Error(`--workers takes a number from 1 to 1024 or "auto", got "${value}"`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`switchyard: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
