import type { ParseArgsConfig } from 'node:util';
import type { AdminClient } from './admin-client.js';

/**
 * Exit codes of the client commands. Scripts can tell "switchyard said no" (1) from "no
 * answer at all" (2): after a 2 the change may or may not have been made; check `status`.
 */
export const EXIT = {
  /** The call succeeded; with --wait, the rollout succeeded. */
  ok: 0,
  /** The admin API refused (HTTP error), the rollout ended rolled_back or aborted, --timeout passed, or bad usage. */
  failed: 1,
  /** The admin API could not be reached: refused, unknown host, reset, or no answer in time. */
  unreachable: 2,
  /** Ctrl-C while following a rollout (128 + SIGINT, as shells report it); the rollout goes on. */
  interrupted: 130,
} as const;

/** Where a command writes, and the environment it reads. */
export interface ClientIo {
  out(text: string): void;
  err(text: string): void;
  readonly env: NodeJS.ProcessEnv;
}

/** What a client command runs with. */
export interface ClientContext {
  readonly client: AdminClient;
  readonly io: ClientIo;
  /** --json: print the admin API's JSON instead of tables. */
  readonly json: boolean;
}

/** Parsed flag values, as node:util parseArgs returns them. */
export type FlagValues = Record<string, string | boolean | undefined>;

/** One client command: its help, its own flags, its positional arguments, and what it does. */
export interface ClientCommand {
  readonly name: string;
  /** One line for `switchyard --help`. */
  readonly summary: string;
  /** The command's own help, without the common options. */
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /** Names of the positional arguments, e.g. ["SERVICE", "UPSTREAM"]. */
  readonly args: readonly string[];
  run(ctx: ClientContext, args: readonly string[], flags: FlagValues): Promise<number>;
}

/** Print a value as the admin API's JSON, pretty. */
export function printJson(io: ClientIo, value: unknown): void {
  io.out(JSON.stringify(value, null, 2) + '\n');
}
