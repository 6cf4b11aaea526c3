import { parseArgs } from 'node:util';
import { AdminClient, AdminHttpError, AdminUnreachableError } from './admin-client.js';
import { resolveEndpoint, TOKEN_ENV, UsageError } from './connection.js';
import { EXIT, type ClientCommand, type ClientIo, type FlagValues } from './context.js';
import { mirrorCommand } from './mirror.js';
import { rollbackCommand, rolloutCommand } from './rollout.js';
import { statusCommand } from './status.js';
import { switchCommand } from './switch.js';

/** The commands that talk to a running switchyard through its admin API. */
export const CLIENT_COMMANDS: readonly ClientCommand[] = [statusCommand, switchCommand, rolloutCommand, rollbackCommand, mirrorCommand];

const COMMON_OPTIONS = {
  admin: { type: 'string' },
  token: { type: 'string' },
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The flags every client command takes, and the exit codes, for each command's --help. */
export const COMMON_HELP = `
Options (every client command):
  --admin URL        the admin API (default: admin.listen of -c FILE, else http://127.0.0.1:8001)
  -c, --config FILE  read admin.listen, and admin.token, from this config file
  --token TOKEN      sent as "Authorization: Bearer TOKEN" (default: $${TOKEN_ENV},
                     else admin.token of -c FILE)
  --json             print the admin API's JSON answer, pretty, instead of tables
  -h, --help         this help

Exit codes: 0 done; 1 refused by the admin API (its message and HTTP status are printed),
rollout ended rolled_back or aborted, --timeout passed, or bad usage; 2 the admin API could
not be reached (nothing answered: the change may or may not be made, check with status);
130 Ctrl-C while following a rollout (the rollout goes on).
`;

/** The client commands' lines for `switchyard --help`. */
export const CLIENT_USAGE = CLIENT_COMMANDS.map((c) => `  ${`switchyard ${c.name} ${c.args.join(' ')}`.padEnd(36)}  ${c.summary}\n`).join('');

/** The process's own streams and environment. */
const processIo: ClientIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
};

/** The client command called `name`, if there is one. */
export function findClientCommand(name: string | undefined): ClientCommand | undefined {
  return CLIENT_COMMANDS.find((c) => c.name === name);
}

/**
 * Run a client command: parse its flags, find the admin API, call it, and turn every
 * failure into a message and an exit code (see EXIT).
 */
export async function runClientCommand(command: ClientCommand, argv: readonly string[], io: ClientIo = processIo): Promise<number> {
  let positionals: string[];
  let values: FlagValues;
  try {
    ({ positionals, values } = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: { ...COMMON_OPTIONS, ...command.options } }) as {
      positionals: string[];
      values: FlagValues;
    });
  } catch (err) {
    return usageError(io, command, (err as Error).message);
  }
  if (values.help) {
    io.out(command.usage + COMMON_HELP);
    return EXIT.ok;
  }
  if (positionals.length !== command.args.length) {
    const missing = command.args.slice(positionals.length);
    const problem = missing.length > 0 ? `missing ${missing.join(' ')}` : `unexpected argument "${positionals[command.args.length]}"`;
    return usageError(io, command, problem);
  }
  let client: AdminClient;
  try {
    client = new AdminClient(await resolveEndpoint({ admin: str(values.admin), token: str(values.token), config: str(values.config) }, io.env));
  } catch (err) {
    if (err instanceof UsageError) return usageError(io, command, err.message);
    throw err;
  }
  try {
    return await command.run({ client, io, json: values.json === true }, positionals, values);
  } catch (err) {
    return failure(io, command, err);
  } finally {
    await client.close();
  }
}

/** An error from a command → its message on stderr and the exit code it stands for. */
function failure(io: ClientIo, command: ClientCommand, err: unknown): number {
  if (err instanceof UsageError) return usageError(io, command, err.message);
  if (err instanceof AdminHttpError) {
    const hint = err.status === 401 ? ` (give the token with --token or $${TOKEN_ENV})` : '';
    io.err(`switchyard: ${err.message}${hint} [HTTP ${err.status}]\n`);
    return EXIT.failed;
  }
  if (err instanceof AdminUnreachableError) {
    io.err(`switchyard: ${err.message} — ${err.hint}\n`);
    return EXIT.unreachable;
  }
  throw err;
}

function usageError(io: ClientIo, command: ClientCommand, message: string): number {
  io.err(`switchyard ${command.name}: ${message}\n${command.usage.split('\n\n')[0]}\n(switchyard ${command.name} --help for more)\n`);
  return EXIT.failed;
}

function str(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
