import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

/** Colour codes in the log (a byte per request instead of a string). */
export const COLOUR = { none: 0, blue: 1, green: 2, other: 3 } as const;

/** Colour name → code, from the demo upstreams' `x-upstream` header. */
export function colourCode(header: string | string[] | undefined): number {
  if (header === 'blue') return COLOUR.blue;
  if (header === 'green') return COLOUR.green;
  return header === undefined ? COLOUR.none : COLOUR.other;
}

/**
 * Every request of a run, one slot per request in columns (typed arrays: no garbage per
 * request, and they cross the IPC channel as-is). Times are ms since the log's origin.
 */
export interface ColourLog {
  count: number;
  sentMs: Float64Array;
  doneMs: Float64Array;
  /** HTTP status, 0 when the request failed without one. */
  status: Uint16Array;
  colour: Uint8Array;
  /** 1 + index of the answering target in the loops' `targets` list; 0 when not tracked or unknown. */
  target: Uint8Array;
  /** Failure message → how many times. */
  errors: Record<string, number>;
}

/** An empty log with room for `capacity` requests. */
export function createLog(capacity: number): ColourLog {
  return {
    count: 0,
    sentMs: new Float64Array(capacity),
    doneMs: new Float64Array(capacity),
    status: new Uint16Array(capacity),
    colour: new Uint8Array(capacity),
    target: new Uint8Array(capacity),
    errors: {},
  };
}

/** The log cut to the requests actually made. */
export function trimLog(log: ColourLog): ColourLog {
  const n = log.count;
  return {
    ...log,
    sentMs: log.sentMs.slice(0, n),
    doneMs: log.doneMs.slice(0, n),
    status: log.status.slice(0, n),
    colour: log.colour.slice(0, n),
    target: log.target.slice(0, n),
  };
}

/** How long the loops run: they stop on their own at `deadlineMs` or after `capacity` requests. */
export interface LoopControl {
  origin: number;
  /** ms since origin; may be moved earlier while the loops run. */
  deadlineMs: number;
}

/** Which of `targets` answered, from a demo body `{"upstream":…,"target":"127.0.0.1:PORT"}`: 1 + index, 0 if none. */
export function targetCode(body: string, targets: readonly string[]): number {
  try {
    const parsed = JSON.parse(body) as { target?: unknown };
    return targets.indexOf(String(parsed.target)) + 1;
  } catch {
    return 0;
  }
}

/**
 * One request loop: send, wait for the whole answer, log it, repeat until time or room runs out.
 * With `targets`, the (small) body is read to log which target answered; otherwise it is dumped.
 */
async function loop(pool: Pool, log: ColourLog, control: LoopControl, targets: readonly string[] | undefined): Promise<void> {
  const capacity = log.sentMs.length;
  for (;;) {
    const sent = performance.now() - control.origin;
    if (sent >= control.deadlineMs || log.count >= capacity) return;
    const slot = log.count++;
    log.sentMs[slot] = sent;
    try {
      const { statusCode, headers, body } = await pool.request({ path: '/', method: 'GET' });
      if (targets === undefined) await body.dump();
      else log.target[slot] = targetCode(await body.text(), targets);
      log.status[slot] = statusCode;
      log.colour[slot] = colourCode(headers['x-upstream']);
    } catch (err) {
      const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      log.errors[message] = (log.errors[message] ?? 0) + 1;
    }
    log.doneMs[slot] = performance.now() - control.origin;
  }
}

/** A keep-alive pool with one connection per loop, so no request waits for a connection. */
export function clientPool(url: string, loops: number): Pool {
  return new Pool(url, { connections: loops, pipelining: 1, headersTimeout: 10_000, bodyTimeout: 10_000 });
}

/** Drive the pool with `loops` concurrent request loops until they stop by themselves; `targets`: see `loop`. */
export async function runColourLoops(pool: Pool, loops: number, log: ColourLog, control: LoopControl, targets?: readonly string[]): Promise<void> {
  await Promise.all(Array.from({ length: loops }, () => loop(pool, log, control, targets)));
}
