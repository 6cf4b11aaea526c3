import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { echoClient, type GrpcUpstream, grpc, type Msg, startGrpcUpstream, unary } from '../helpers/grpc.js';
import { blueGreenYaml, type Running, startSwitchyard } from '../helpers/switchyard.js';
import { closeAll } from '../helpers/upstreams.js';

describe('gRPC through switchyard (real @grpc/grpc-js servers and clients, h2c)', () => {
  let blue: GrpcUpstream;
  let green: GrpcUpstream;
  let sy: Running | undefined;
  const clients: grpc.Client[] = [];

  beforeAll(async () => {
    blue = await startGrpcUpstream('blue');
    green = await startGrpcUpstream('green');
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await sy?.close();
    sy = undefined;
  });
  afterAll(async () => {
    await closeAll([blue, green]);
  });

  const start = async (service: Record<string, unknown> = {}) => {
    const head = 'proxy:\n  listen: ["127.0.0.1:0"]\n  http2: true\nadmin:\n  listen: "127.0.0.1:0"\n';
    sy = await startSwitchyard(
      head +
        blueGreenYaml(
          { blue: [blue.address], green: [green.address] },
          { protocol: 'grpc', routes: [{ name: 'echo', paths: ['/test.Echo/'], strip_path: false }], ...service },
        ),
    );
    const client = echoClient(sy.proxy.replace('http://', ''));
    clients.push(client);
    return client;
  };

  it('carries a unary call, and passes a gRPC error status and message through', async () => {
    const client = await start();
    expect(await unary(client, 'hello', 7)).toEqual({ text: 'hello', colour: 'blue', n: 7 });
    const err = await unary(client, 'not-found').catch((e: grpc.ServiceError) => e);
    expect(err).toMatchObject({ code: grpc.status.NOT_FOUND, details: 'no such thing' });
  });
});
