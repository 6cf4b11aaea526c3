/**
 * HTTP/2 and gRPC (issue #15), side by side in one run. h2load (HTTP/2 with prior knowledge,
 * on the load CPU) against nginx's h2c port directly, and through switchyard (proxy.http2,
 * pinned to the forwarder CPU) to nginx over HTTP/1.1 and over HTTP/2. Then gRPC unary
 * calls from a @grpc/grpc-js client to a grpc-js server, directly and through switchyard
 * (protocol grpc). switchyard's rows are given as ratios to the direct ones.
 */
import { clockTicks, startCpuWindow } from './cpu-time.js';
import type { GrpcLoadResult } from './grpc-process.js';
import { hasH2load, runH2load, type H2loadResult } from './h2load.js';
import { startOrigin } from './origin.js';
import { benchScript, CPU, runTask, spawnNode, stopChild, waitForMessage } from './processes.js';
import { ms, num, ratio, table, type ScenarioReport } from './report.js';
import type { Scenario } from './scenario.js';
import { type ConfigOptions, startSwitchyard } from './switchyard.js';

const CLIENTS = 10;
const STREAMS = 10;
const GRPC_CONCURRENCY = 50;

interface Row {
  label: string;
  rate: number;
  latencyMs: number;
  failed: number;
  /** switchyard's CPU µs per request, when it was in the path. */
  cpu: number | null;
  /** Why calls failed, when some did. */
  why?: string[];
}

/** One h2load run through a fresh switchyard (or none), with switchyard's CPU per request. */
async function h2Row(label: string, url: string | (ConfigOptions & { upstream: string }), seconds: number, warmup: number): Promise<Row> {
  if (typeof url === 'string') return fromH2load(label, await runH2load(url, CLIENTS, STREAMS, seconds, warmup, CPU.load), null);
  const { upstream, ...options } = url;
  const sy = await startSwitchyard('blue', { blue: [upstream] }, { http2: true, ...options });
  try {
    const window = sy.pid === undefined ? undefined : startCpuWindow(sy.pid, clockTicks());
    const result = await runH2load(`${sy.proxyUrl}/`, CLIENTS, STREAMS, seconds, warmup, CPU.load);
    const cpu = window?.end(result.succeeded);
    return fromH2load(label, result, cpu && cpu.responses > 0 ? cpu.cpuMicros / cpu.responses : null);
  } finally {
    await sy.stop();
  }
}

function fromH2load(label: string, r: H2loadResult, cpu: number | null): Row {
  return { label, rate: r.reqPerSec, latencyMs: r.meanMs, failed: r.failed + (r.requests - r.succeeded - r.failed), cpu };
}

/** gRPC unary calls for `seconds` against `target` (a grpc-js server, or switchyard in front of it). */
async function grpcRow(label: string, target: string, seconds: number, warmup: number, pid?: number): Promise<Row> {
  const window = pid === undefined ? undefined : startCpuWindow(pid, clockTicks());
  const r = await runTask<GrpcLoadResult>(
    'grpc-process',
    { mode: 'load', target, concurrency: GRPC_CONCURRENCY, seconds, warmupSeconds: warmup },
    CPU.load,
    (seconds + warmup + 30) * 1000,
  );
  const cpu = window?.end(r.calls);
  return { label, rate: r.callsPerSec, latencyMs: r.p99Ms, failed: r.errors, cpu: cpu && cpu.responses > 0 ? cpu.cpuMicros / cpu.responses : null, why: r.why };
}

export const http2: Scenario = {
  id: 'http2',
  title: 'HTTP/2 and gRPC',
  goals: [],
  async run(s): Promise<ScenarioReport> {
    if (!hasH2load()) throw new Error('h2load is not installed (apt-get install nghttp2-client)');
    const origin = await startOrigin();
    const grpcServer = spawnNode(benchScript('grpc-process'), [JSON.stringify({ mode: 'server' })], { cpu: CPU.load });
    try {
      if (origin.h2Address === undefined) throw new Error('the HTTP/2 rows need nginx (apt-get install nginx-light)');
      const ready = await waitForMessage(grpcServer, 'grpc server', 10_000);
      const grpcTarget = ready.type === 'ready' ? ready.addresses[0] : '';
      const h2: Row[] = [
        await h2Row('direct to nginx (h2c)', `http://${origin.h2Address}/`, s.seconds, s.warmupSeconds),
        await h2Row('switchyard, h2c in, HTTP/1.1 to nginx', { upstream: origin.address }, s.seconds, s.warmupSeconds),
        await h2Row('switchyard, h2c in, h2c to nginx (protocol http2)', { upstream: origin.h2Address, protocol: 'http2' }, s.seconds, s.warmupSeconds),
      ];
      const grpcDirect = await grpcRow('gRPC unary, direct', grpcTarget, s.seconds, s.warmupSeconds);
      const sy = await startSwitchyard('blue', { blue: [grpcTarget] }, { http2: true, protocol: 'grpc', path: '/test.Echo/' });
      let grpcVia: Row;
      try {
        grpcVia = await grpcRow('gRPC unary, through switchyard (protocol grpc)', sy.proxyUrl.replace('http://', ''), s.seconds, s.warmupSeconds, sy.pid);
      } finally {
        await sy.stop();
      }
      const lines = [
        ...table(
          ['HTTP/2 (h2load)', 'req/s', 'vs direct', 'mean ms', 'failed', 'switchyard CPU µs/req'],
          h2.map((r) => [r.label, num(r.rate), ratio(r.rate / h2[0].rate), ms(r.latencyMs), num(r.failed), r.cpu === null ? '–' : r.cpu.toFixed(1)]),
        ),
        '',
        ...table(
          ['gRPC unary (grpc-js client, 50 calls in flight)', 'calls/s', 'vs direct', 'p99 ms', 'failed', 'switchyard CPU µs/call'],
          [grpcDirect, grpcVia].map((r) => [
            r.label,
            num(r.rate),
            ratio(r.rate / grpcDirect.rate),
            ms(r.latencyMs),
            num(r.failed),
            r.cpu === null ? '–' : r.cpu.toFixed(1),
          ]),
        ),
        ...[grpcDirect, grpcVia].flatMap((r) => (r.why && r.why.length > 0 ? [`${r.label} failed calls: ${r.why.join('; ')}`] : [])),
        '',
        `h2load -c${CLIENTS} -m${STREAMS} for ${s.seconds} s after ${s.warmupSeconds} s of warm-up, on CPU ${CPU.load} with nginx; switchyard alone on CPU ${CPU.forwarder}. ` +
          `The gRPC client and server (@grpc/grpc-js) share CPU ${CPU.load}: grpc-js's own cost bounds both rows, so the ratio understates what a faster client would see.`,
      ];
      return { id: 'http2', title: this.title, lines, goals: [], data: { h2, grpc: [grpcDirect, grpcVia] } };
    } finally {
      await stopChild(grpcServer);
      await origin.stop();
    }
  },
};
