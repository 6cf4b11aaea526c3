/**
 * Child entry for the gRPC unary rows, pinned beside the other upstreams: `server` runs a
 * @grpc/grpc-js test.Echo server and answers `ready` with its address; `load` makes unary
 * calls from `concurrency` loops for `seconds` (after `warmupSeconds`) and answers `result`.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { readTask, runChild, send } from './ipc.js';

type Task = { mode: 'server' } | { mode: 'load'; target: string; concurrency: number; seconds: number; warmupSeconds: number };

/** What a load run measured. */
export interface GrpcLoadResult {
  calls: number;
  errors: number;
  callsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** The first few distinct error messages, to say why calls failed. */
  why: string[];
}

const PROTO = fileURLToPath(new URL('../../test/fixtures/echo.proto', import.meta.url));
const Echo = (grpc.loadPackageDefinition(protoLoader.loadSync(PROTO)).test as grpc.GrpcObject).Echo as grpc.ServiceClientConstructor;

async function server(): Promise<void> {
  const s = new grpc.Server();
  s.addService(Echo.service, {
    Unary: (call: grpc.ServerUnaryCall<{ text: string }, unknown>, done: grpc.sendUnaryData<unknown>) =>
      done(null, { text: call.request.text, colour: 'blue' }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  send({ type: 'ready', addresses: [`127.0.0.1:${port}`] });
}

async function load(task: Extract<Task, { mode: 'load' }>): Promise<void> {
  const client = new Echo(task.target, grpc.credentials.createInsecure()) as unknown as {
    Unary(m: { text: string }, cb: (err: Error | null) => void): void;
    close(): void;
  };
  const why = new Set<string>();
  const call = () =>
    new Promise<boolean>((resolve) =>
      client.Unary({ text: 'hi' }, (err) => {
        if (err !== null && why.size < 3) why.add(err.message);
        resolve(err === null);
      }),
    );
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const warmEnd = start + task.warmupSeconds * 1000;
  const end = warmEnd + task.seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      const ok = await call();
      if (t < warmEnd) continue;
      latencies.push(performance.now() - t);
      if (!ok) errors++;
    }
  };
  await Promise.all(Array.from({ length: task.concurrency }, loop));
  client.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0;
  send({
    type: 'result',
    result: {
      calls: latencies.length,
      errors,
      callsPerSec: latencies.length / task.seconds,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      why: [...why],
    } satisfies GrpcLoadResult,
  });
}

runChild(async () => {
  const task = readTask<Task>();
  if (task.mode === 'server') await server();
  else await load(task);
});
