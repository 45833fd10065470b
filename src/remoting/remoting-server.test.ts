// Proves the remoting server over real loopback sockets: out-of-order answers matched by opaque, oneway silence, unknown codes, handler errors, late replies, the in-flight limit, backpressure, several ports and a graceful close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { ResponseCode, TideError } from '../common/errors.js';
import { FrameDecoder, decodeCommand, encodeCommand } from '../protocol/remoting-codec.js';
import { RemotingFlag, createRequest, createResponse, type RemotingCommand, type RemotingConnection, type RequestContext, type RequestHandler } from '../protocol/remoting-command.js';
import { RemotingClient } from './remoting-client.js';
import { RemotingServer, type RemotingServerOptions } from './remoting-server.js';

const ECHO = 1001;
const HOLD = 1002;
const ONEWAY_SINK = 1003;
const THROW_PLAIN = 1004;
const THROW_TIDE = 1005;
const BIG_ANSWER = 1006;

async function startServer(handlers: [number, RequestHandler][], options: Partial<RemotingServerOptions> = {}): Promise<{ server: RemotingServer; address: string; port: number }> {
  const server = new RemotingServer({ handlers: new Map(handlers), ...options });
  const port = await server.listen(0, '127.0.0.1');
  return { server, address: `127.0.0.1:${port}`, port };
}

const echo: RequestHandler = (request) => createResponse(request, ResponseCode.SUCCESS, undefined, request.extFields, request.body);

/** A raw socket that collects decoded frames, for checks a well-behaved client cannot make. */
class RawPeer {
  readonly received: RemotingCommand[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder();
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk);
      for (const frame of this.decoder.frames()) this.received.push(decodeCommand(frame));
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  /** Resolves once `predicate` holds (checked after every event). */
  async until(predicate: () => boolean): Promise<void> {
    while (!predicate()) {
      if (this.closed) throw new Error(`peer closed while waiting; received ${this.received.length} frames`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}

test('many concurrent requests answered in reverse order each get their own answer', async () => {
  const held: { request: RemotingCommand; resolve: (response: RemotingCommand) => void }[] = [];
  const count = 200;
  const { server, address } = await startServer([
    [
      HOLD,
      (request) =>
        new Promise<RemotingCommand>((resolve) => {
          held.push({ request, resolve });
          if (held.length === count) {
            for (const entry of held.reverse()) entry.resolve(createResponse(entry.request, ResponseCode.SUCCESS, undefined, { echo: entry.request.extFields?.i ?? '' }));
          }
        }),
    ],
  ]);
  const client = new RemotingClient();
  try {
    const answers = await Promise.all(Array.from({ length: count }, (_, i) => client.invoke(address, createRequest(HOLD, { i: String(i) }))));
    answers.forEach((answer, i) => {
      assert.equal(answer.code, ResponseCode.SUCCESS);
      assert.equal(answer.extFields?.echo, String(i));
    });
  } finally {
    await client.close();
    await server.close();
  }
});

test('a oneway request runs its handler and gets no answer, even when the handler returns one', async () => {
  const seen: string[] = [];
  const { server, port } = await startServer([
    [ONEWAY_SINK, (request) => (seen.push(request.extFields?.n ?? ''), createResponse(request))],
    [ECHO, echo],
  ]);
  const peer = await RawPeer.open(port);
  try {
    const oneway = createRequest(ONEWAY_SINK, { n: 'one' });
    oneway.flag = RemotingFlag.ONEWAY;
    const unknownOneway = createRequest(4242);
    unknownOneway.flag = RemotingFlag.ONEWAY;
    const normal = createRequest(ECHO, { n: 'two' });
    peer.socket.write(Buffer.concat([encodeCommand(oneway), encodeCommand(unknownOneway), encodeCommand(normal)]));
    await peer.until(() => peer.received.length >= 1);
    // A second echo round trip proves nothing else was on its way before it.
    const second = createRequest(ECHO);
    peer.socket.write(encodeCommand(second));
    await peer.until(() => peer.received.length >= 2);
    assert.deepEqual(peer.received.map((command) => command.opaque), [normal.opaque, second.opaque]);
    assert.deepEqual(seen, ['one']);
    assert.equal(peer.received[0]?.flag, RemotingFlag.RESPONSE);
  } finally {
    peer.socket.destroy();
    await server.close();
  }
});

test('an unknown code is answered 3 with the RocketMQ remark', async () => {
  const { server, address } = await startServer([]);
  const client = new RemotingClient();
  try {
    const answer = await client.invoke(address, createRequest(9999));
    assert.equal(answer.code, ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
    assert.equal(answer.remark, ' request type 9999 not supported');
  } finally {
    await client.close();
    await server.close();
  }
});

test('handler errors become answers: TideError keeps its code and message, anything else is 1 without a stack', async () => {
  const { server, address } = await startServer([
    [
      THROW_PLAIN,
      () => {
        throw new Error('boom happened\n    at secretFunction (/srv/secret.js:1:1)');
      },
    ],
    [THROW_TIDE, async () => Promise.reject(new TideError('TOPIC_NOT_EXIST', 'topic Nope does not exist'))],
    [ECHO, echo],
  ]);
  const client = new RemotingClient();
  try {
    const plain = await client.invoke(address, createRequest(THROW_PLAIN));
    assert.equal(plain.code, ResponseCode.SYSTEM_ERROR);
    assert.match(plain.remark ?? '', /boom happened/);
    assert.doesNotMatch(plain.remark ?? '', /secret|\n|\s+at\s/);
    const tide = await client.invoke(address, createRequest(THROW_TIDE));
    assert.equal(tide.code, ResponseCode.TOPIC_NOT_EXIST);
    assert.equal(tide.remark, 'topic Nope does not exist');
    assert.equal((await client.invoke(address, createRequest(ECHO))).code, ResponseCode.SUCCESS, 'the connection survives');
  } finally {
    await client.close();
    await server.close();
  }
});

test('a handler may return null and answer later through context.reply; a second answer is dropped', async () => {
  let parked: { request: RemotingCommand; context: RequestContext } | undefined;
  const { server, address } = await startServer([
    [
      HOLD,
      (request, context) => {
        parked = { request, context };
        return null;
      },
    ],
    [ECHO, echo],
  ]);
  const client = new RemotingClient();
  try {
    const pending = client.invoke(address, createRequest(HOLD));
    // The held request does not block others on the same connection.
    assert.equal((await client.invoke(address, createRequest(ECHO))).code, ResponseCode.SUCCESS);
    assert.ok(parked);
    parked.context.reply(createResponse(parked.request, ResponseCode.PULL_NOT_FOUND, 'late'));
    parked.context.reply(createResponse(parked.request, ResponseCode.SUCCESS, 'second'));
    const answer = await pending;
    assert.equal(answer.code, ResponseCode.PULL_NOT_FOUND);
    assert.equal(answer.remark, 'late');
    assert.equal((await client.invoke(address, createRequest(ECHO))).code, ResponseCode.SUCCESS);
  } finally {
    await client.close();
    await server.close();
  }
});

test('past the in-flight limit a request is answered SYSTEM_BUSY without running its handler', async () => {
  const release: (() => void)[] = [];
  let runs = 0;
  const { server, address } = await startServer(
    [
      [
        HOLD,
        (request) => {
          runs++;
          return new Promise<RemotingCommand>((resolve) => release.push(() => resolve(createResponse(request))));
        },
      ],
    ],
    { maxInFlightRequestsPerConnection: 2 },
  );
  const client = new RemotingClient();
  try {
    const first = client.invoke(address, createRequest(HOLD));
    const second = client.invoke(address, createRequest(HOLD));
    const third = await client.invoke(address, createRequest(HOLD));
    assert.equal(third.code, ResponseCode.SYSTEM_BUSY);
    assert.equal(runs, 2);
    for (const resolve of release) resolve();
    assert.equal((await first).code, ResponseCode.SUCCESS);
    assert.equal((await second).code, ResponseCode.SUCCESS);
    const fourth = client.invoke(address, createRequest(HOLD));
    while (release.length < 3) await new Promise((resolve) => setImmediate(resolve));
    (release[2] as () => void)();
    assert.equal((await fourth).code, ResponseCode.SUCCESS, 'slots free up once handlers settle');
  } finally {
    await client.close();
    await server.close();
  }
});

test('a peer that stops reading is paused, then served in full once it reads again; one that never reads is cut off', async () => {
  const bodyBytes = 256 * 1024;
  const parked: RequestContext[] = [];
  const parkedRequests: RemotingCommand[] = [];
  const closedIds: number[] = [];
  const { server, port, address } = await startServer(
    [
      [BIG_ANSWER, (request) => createResponse(request, ResponseCode.SUCCESS, undefined, { n: request.extFields?.n ?? '' }, Buffer.alloc(bodyBytes, 1))],
      [
        HOLD,
        (request, context) => {
          parked.push(context);
          parkedRequests.push(request);
          return null;
        },
      ],
      [ECHO, echo],
    ],
    { maxQueuedOutboundBytesPerConnection: 1024 * 1024 },
  );
  server.onConnectionClosed((connection) => closedIds.push(connection.id));
  const client = new RemotingClient();
  const slow = await RawPeer.open(port);
  const silent = await RawPeer.open(port);
  try {
    // 1. 100 requests of 256 KiB answers while not reading: the server stops reading, nothing is lost.
    slow.socket.pause();
    const requests = Array.from({ length: 100 }, (_, n) => createRequest(BIG_ANSWER, { n: String(n) }));
    slow.socket.write(Buffer.concat(requests.map((request) => encodeCommand(request))));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal((await client.invoke(address, createRequest(ECHO))).code, ResponseCode.SUCCESS, 'others are served meanwhile');
    slow.socket.resume();
    await slow.until(() => slow.received.length === 100);
    assert.deepEqual(slow.received.map((answer) => answer.extFields?.n), requests.map((_, n) => String(n)));
    assert.ok(slow.received.every((answer) => answer.body?.length === bodyBytes));

    // 2. Answers pushed at a peer that never reads: past the hard cap its connection is closed.
    silent.socket.pause();
    silent.socket.write(Buffer.concat(Array.from({ length: 200 }, () => encodeCommand(createRequest(HOLD)))));
    while (parked.length < 200) await new Promise((resolve) => setTimeout(resolve, 5));
    const silentConnection = (parked[0] as RequestContext).connection;
    for (let index = 0; index < parked.length && !silentConnection.closed; index++) {
      (parked[index] as RequestContext).reply(createResponse(parkedRequests[index] as RemotingCommand, ResponseCode.SUCCESS, undefined, undefined, Buffer.alloc(bodyBytes)));
      if (index % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(silentConnection.closed, 'the connection of a peer that never reads is closed');
    while (!closedIds.includes(silentConnection.id)) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal((await client.invoke(address, createRequest(ECHO))).code, ResponseCode.SUCCESS, 'the server stays up');
  } finally {
    slow.socket.destroy();
    silent.socket.destroy();
    await client.close();
    await server.close();
  }
});

test('one server listens on several ports and reports every closed connection', async () => {
  const server = new RemotingServer({ handlers: new Map([[ECHO, echo]]) });
  const closed: RemotingConnection[] = [];
  server.onConnectionClosed((connection) => closed.push(connection));
  const first = await server.listen(0, '127.0.0.1');
  const second = await server.listen(0, '127.0.0.1');
  assert.notEqual(first, second);
  const client = new RemotingClient();
  try {
    for (const port of [first, second]) {
      const answer = await client.invoke(`127.0.0.1:${port}`, createRequest(ECHO, { port: String(port) }));
      assert.equal(answer.extFields?.port, String(port));
    }
    assert.equal([...server.connections()].length, 2);
    const localAddresses = [...server.connections()].map((connection) => connection.localAddress).sort();
    assert.deepEqual(localAddresses, [`127.0.0.1:${first}`, `127.0.0.1:${second}`].sort());
    await client.close();
    while (closed.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal([...server.connections()].length, 0);
  } finally {
    await client.close();
    await server.close();
  }
});

test('close() lets a running handler answer before the connections close', async () => {
  let started!: () => void;
  const handlerStarted = new Promise<void>((resolve) => (started = resolve));
  const { server, address } = await startServer([
    [
      HOLD,
      async (request) => {
        started();
        await new Promise((resolve) => setTimeout(resolve, 50));
        return createResponse(request, ResponseCode.SUCCESS, 'finished');
      },
    ],
  ]);
  const client = new RemotingClient();
  try {
    const pending = client.invoke(address, createRequest(HOLD));
    await handlerStarted;
    const closing = server.close();
    const answer = await pending;
    assert.equal(answer.remark, 'finished');
    await closing;
    // The old connection may still be closing on our side, so either failure is right; no hang, no answer.
    await assert.rejects(client.invoke(address, createRequest(HOLD), 1000), (error: unknown) => error instanceof TideError && (error.code === 'CONNECT_FAILED' || error.code === 'CONNECTION_CLOSED'));
  } finally {
    await client.close();
    await server.close();
  }
});

test('a handler promise that never settles is answered SYSTEM_ERROR after requestTimeoutMs and frees its slot', async () => {
  const { server, address } = await startServer([[HOLD, () => new Promise<RemotingCommand>(() => {})]], { requestTimeoutMs: 100, maxInFlightRequestsPerConnection: 1 });
  const client = new RemotingClient();
  try {
    const answer = await client.invoke(address, createRequest(HOLD));
    assert.equal(answer.code, ResponseCode.SYSTEM_ERROR);
    assert.match(answer.remark ?? '', /timed out/);
    const again = await client.invoke(address, createRequest(HOLD));
    assert.equal(again.code, ResponseCode.SYSTEM_ERROR, 'the slot was freed, so this one ran too (not SYSTEM_BUSY)');
  } finally {
    await client.close();
    await server.close();
  }
});

test('an idle connection is closed after idleTimeoutMs, but not while one of its requests is held', async () => {
  let parked: { request: RemotingCommand; context: RequestContext } | undefined;
  const { server, port } = await startServer(
    [
      [
        HOLD,
        (request, context) => {
          parked = { request, context };
          return null;
        },
      ],
      [ECHO, echo],
    ],
    { idleTimeoutMs: 100 },
  );
  const holder = await RawPeer.open(port);
  const idle = await RawPeer.open(port);
  try {
    const held = createRequest(HOLD);
    holder.socket.write(encodeCommand(held));
    idle.socket.write(encodeCommand(createRequest(ECHO)));
    await idle.until(() => idle.received.length === 1);
    while (!idle.closed) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(holder.closed, false, 'a connection with a held request is not idle');
    assert.ok(parked);
    parked.context.reply(createResponse(parked.request, ResponseCode.SUCCESS, 'held answer'));
    await holder.until(() => holder.received.length === 1);
    assert.equal(holder.received[0]?.remark, 'held answer');
  } finally {
    holder.socket.destroy();
    idle.socket.destroy();
    await server.close();
  }
});
