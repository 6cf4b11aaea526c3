import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const FIXTURES = join(import.meta.dirname, '../fixtures');

/** The test.Echo message. */
export interface Msg {
  text: string;
  colour: string;
  n: number;
}

type Ctor = new (address: string, credentials: grpc.ChannelCredentials, options: grpc.ClientOptions) => grpc.Client;
const loaded = grpc.loadPackageDefinition(protoLoader.loadSync([join(FIXTURES, 'echo.proto'), join(FIXTURES, 'health.proto')], { defaults: true }));
const Echo = (loaded.test as grpc.GrpcObject).Echo as grpc.ServiceClientConstructor;
const Health = ((loaded.grpc as grpc.GrpcObject).health as grpc.GrpcObject).v1 as grpc.GrpcObject;

/** A gRPC server of one colour on loopback, with the test.Echo service and the standard health service. */
export interface GrpcUpstream {
  readonly address: string;
  readonly colour: string;
  /** Calls it has received. */
  calls: number;
  /** What Health/Check answers: SERVING, or NOT_SERVING. */
  serving: boolean;
  /** While set, every Unary call answers UNAVAILABLE (a broken release). */
  failing: boolean;
  /** Open server streams it holds (ServerStream with text "long"), to end from the test. */
  readonly open: Set<grpc.ServerWritableStream<Msg, Msg>>;
  close(): Promise<void>;
}

/**
 * Start one. `Unary` answers its colour; text "unavailable" or "not-found" answers that status
 * (with a message); `ServerStream` sends `n` messages (text "long": one, then holds the stream
 * open until the test ends it); `ClientStream` counts what it got; `Bidi` echoes each message.
 */
export async function startGrpcUpstream(colour: string, credentials = grpc.ServerCredentials.createInsecure()): Promise<GrpcUpstream> {
  const server = new grpc.Server();
  const up: GrpcUpstream = {
    address: '',
    colour,
    calls: 0,
    serving: true,
    failing: false,
    open: new Set(),
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
  server.addService(Echo.service, {
    Unary(call: grpc.ServerUnaryCall<Msg, Msg>, done: grpc.sendUnaryData<Msg>) {
      up.calls++;
      if (call.request.text === 'unavailable' || up.failing) return done({ code: grpc.status.UNAVAILABLE, details: `${colour} is draining` });
      if (call.request.text === 'not-found') return done({ code: grpc.status.NOT_FOUND, details: 'no such thing' });
      done(null, { text: call.request.text, colour, n: call.request.n });
    },
    ServerStream(call: grpc.ServerWritableStream<Msg, Msg>) {
      up.calls++;
      if (call.request.text === 'long') {
        call.write({ text: 'first', colour, n: 0 });
        up.open.add(call);
        call.on('cancelled', () => up.open.delete(call));
        return;
      }
      for (let i = 0; i < call.request.n; i++) call.write({ text: `part ${i}`, colour, n: i });
      call.end();
    },
    ClientStream(call: grpc.ServerReadableStream<Msg, Msg>, done: grpc.sendUnaryData<Msg>) {
      up.calls++;
      let n = 0;
      let bytes = 0;
      call.on('data', (m: Msg) => {
        n++;
        bytes += m.text.length;
      });
      call.on('end', () => done(null, { text: `got ${n} messages, ${bytes} characters`, colour, n }));
    },
    Bidi(call: grpc.ServerDuplexStream<Msg, Msg>) {
      up.calls++;
      call.on('data', (m: Msg) => call.write({ text: m.text, colour, n: m.n }));
      call.on('end', () => call.end());
    },
  });
  server.addService((Health.Health as grpc.ServiceClientConstructor).service, {
    Check(_call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) {
      done(null, { status: up.serving ? 'SERVING' : 'NOT_SERVING' });
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))));
  return Object.assign(up, { address: `127.0.0.1:${port}` });
}

/** A test.Echo client of `address` (switchyard's proxy, "127.0.0.1:PORT"): plaintext HTTP/2, or TLS with `credentials`. */
export function echoClient(address: string, credentials = grpc.credentials.createInsecure(), options: grpc.ClientOptions = {}): grpc.Client {
  return new (Echo as unknown as Ctor)(address, credentials, options);
}

/** One unary call (with metadata, sent as HTTP/2 headers): its answer, or the gRPC error it ended with. */
export function unary(client: grpc.Client, text: string, n = 0, headers: Record<string, string> = {}): Promise<Msg> {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return new Promise((resolve, reject) => {
    (client as unknown as { Unary(m: Partial<Msg>, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, m: Msg) => void): void }).Unary(
      { text, n },
      metadata,
      (err, m) => (err ? reject(err) : resolve(m)),
    );
  });
}

export { grpc };
