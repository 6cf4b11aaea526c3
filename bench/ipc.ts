/**
 * The one protocol between the bench and its child processes: a child takes its task as JSON
 * in argv[2] and answers over the IPC channel with exactly one `ready`, `result` or `error`.
 */

/** A message a bench child sends to the parent. */
export type ChildMessage = { type: 'ready'; addresses: string[] } | { type: 'result'; result: unknown } | { type: 'error'; message: string };

/** Parse the task a child was given in argv[2]. */
export function readTask<T>(): T {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error(`${process.argv[1]}: missing task argument (JSON)`);
  return JSON.parse(raw) as T;
}

/** Send one message to the parent; throws if this process was not started with IPC. */
export function send(message: ChildMessage): void {
  if (process.send === undefined) throw new Error('bench child started without an IPC channel');
  process.send(message);
}

/**
 * Run a child's main function: exit when the parent goes away (so no child outlives the
 * bench, even if the parent is killed hard), and report a failure as an `error` message.
 */
export function runChild(main: () => Promise<void>): void {
  process.on('disconnect', () => process.exit(0));
  main().catch((err: unknown) => {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    if (process.send !== undefined) process.send({ type: 'error', message } satisfies ChildMessage);
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 100).unref();
  });
}
