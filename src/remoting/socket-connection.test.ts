// Proves, over real loopback sockets, the connection's deferred answers and its outbound coalescing: a handler that defers keeps its running-handler slot until it answers (through reply or with bytes it encoded itself, which are copied at once), a deferred oneway request frees its slot when its dropped answer comes, and answers of mixed sizes staged into shared buffers arrive whole and in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { ResponseCode } from '../common/errors.js';
import { FrameDecoder, decodeCommand, encodeCommand, encodeCommandAs } from '../protocol/remoting-codec.js';
import {
  RemotingFlag,
  createRequest,
  createResponse,
  isDeferrable,
  type DeferrableRequestContext,
  type RemotingCommand,
  type RequestHandler,
} from '../protocol/remoting-command.js';
import { RemotingClient } from './remoting-client.js';
import { RemotingServer } from './remoting-server.js';

const DEFER = 2001;
const SIZED = 2002;

async function startServer(handlers: [number, RequestHandler][], maxInFlight = 256): Promise<{ server: RemotingServer; address: string; port: number }> {
  const server = new RemotingServer({ handlers: new Map(handlers), maxInFlightRequestsPerConnection: maxInFlight });
  const port = await server.listen(0, '127.0.0.1');
  return { server, address: `127.0.0.1:${port}`, port };
}

test('a deferred handler keeps its slot until it answers, with a command or with bytes it encoded itself', async () => {
  const parked: { request: RemotingCommand; context: DeferrableRequestContext }[] = [];
  let runs = 0;
  const { server, address } = await startServer(
    [
      [
        DEFER,
        (request, context) => {
          runs++;
          assert.ok(isDeferrable(context));
          context.defer();
          parked.push({ request, context });
          return null;
        },
      ],
    ],
    2,
  );
  const client = new RemotingClient();
  try {
    const first = client.invoke(address, createRequest(DEFER, { n: '1' }));
    const second = client.invoke(address, createRequest(DEFER, { n: '2' }));
    const third = await client.invoke(address, createRequest(DEFER, { n: '3' }));
    assert.equal(third.code, ResponseCode.SYSTEM_BUSY, 'deferred requests still hold their slots');
    assert.equal(runs, 2);
    // The first answers with bytes in a scratch buffer, overwritten right after the call.
    const scratch = Buffer.alloc(4096, 0x20);
    const { request, context } = parked[0]!;
    const frame = encodeCommandAs(createResponse(request, ResponseCode.SUCCESS, 'encoded', { n: request.extFields!.n! }), request.opaque, RemotingFlag.RESPONSE);
    frame.copy(scratch, 100);
    context.replyEncoded(scratch, 100, 100 + frame.length);
    scratch.fill(0x41);
    parked[1]!.context.reply(createResponse(parked[1]!.request, ResponseCode.SUCCESS, 'command'));
    const firstAnswer = await first;
    assert.equal(firstAnswer.remark, 'encoded');
    assert.deepEqual(firstAnswer.extFields, { n: '1' });
    assert.equal((await second).remark, 'command');
    // Both slots are free again; a second answer to the same request is dropped.
    context.replyEncoded(frame, 0, frame.length);
    const fourth = client.invoke(address, createRequest(DEFER));
    while (parked.length < 3) await new Promise((resolve) => setImmediate(resolve));
    parked[2]!.context.reply(createResponse(parked[2]!.request));
    assert.equal((await fourth).code, ResponseCode.SUCCESS);
  } finally {
    await client.close();
    await server.close();
  }
});

test('a deferred oneway request frees its slot when its (dropped) answer comes', async () => {
  const parked: { request: RemotingCommand; context: DeferrableRequestContext }[] = [];
  const { server, address } = await startServer(
    [
      [
        DEFER,
        (request, context) => {
          if (!isDeferrable(context)) throw new Error('not deferrable');
          context.defer();
          parked.push({ request, context });
          return null;
        },
      ],
    ],
    1,
  );
  const client = new RemotingClient();
  try {
    await client.invokeOneway(address, createRequest(DEFER));
    while (parked.length < 1) await new Promise((resolve) => setImmediate(resolve));
    const busy = await client.invoke(address, createRequest(DEFER));
    assert.equal(busy.code, ResponseCode.SYSTEM_BUSY);
    parked[0]!.context.reply(createResponse(parked[0]!.request));
    const next = client.invoke(address, createRequest(DEFER));
    while (parked.length < 2) await new Promise((resolve) => setImmediate(resolve));
    parked[1]!.context.reply(createResponse(parked[1]!.request, ResponseCode.SUCCESS, 'second'));
    assert.equal((await next).remark, 'second');
  } finally {
    await client.close();
    await server.close();
  }
});

test('answers of mixed sizes, staged and not, arrive whole and in order', async () => {
  // Sizes around the staging limits: tiny, a few KiB, just over the coalescing limit, large.
  const sizes = [0, 10, 300, 1500, 4000, 8000, 8300, 20_000, 70_000];
  const { server, port } = await startServer([
    [SIZED, (request) => createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.alloc(Number(request.extFields!.size), Number(request.extFields!.fill)))],
  ]);
  const socket: Socket = await new Promise((resolve, reject) => {
    const opened = connect({ host: '127.0.0.1', port }, () => resolve(opened));
    opened.once('error', reject);
  });
  try {
    const count = 600;
    const decoder = new FrameDecoder();
    const received: RemotingCommand[] = [];
    const done = new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        decoder.push(chunk);
        for (const frame of decoder.frames()) received.push(decodeCommand(frame));
        if (received.length === count) resolve();
      });
    });
    // All requests in one write, so their answers share flushes.
    const frames: Buffer[] = [];
    for (let index = 0; index < count; index++) {
      const request = createRequest(SIZED, { size: String(sizes[index % sizes.length]), fill: String(index & 0xff) });
      request.opaque = index + 1;
      frames.push(encodeCommand(request));
    }
    socket.write(Buffer.concat(frames));
    await done;
    for (let index = 0; index < count; index++) {
      const answer = received[index]!;
      assert.equal(answer.opaque, index + 1, 'in order');
      const size = sizes[index % sizes.length]!;
      assert.equal(answer.body?.length ?? 0, size);
      if (size > 0) assert.ok(answer.body!.every((byte) => byte === (index & 0xff)), `body of answer ${index}`);
    }
  } finally {
    socket.destroy();
    await server.close();
  }
});
