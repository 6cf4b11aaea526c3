import pino from 'pino';

/** The logger every part uses: JSON lines, one per event (never one per request by default). */
export type Logger = pino.Logger;

/** A logger at `level` writing JSON lines to stdout. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { name: 'switchyard' } });
}

/** A logger that writes nothing, for tests and embedding. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
