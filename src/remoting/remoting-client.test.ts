// Proves the remoting client over real loopback sockets: one reused connection per address, server→client requests answered by its handlers, and every failure (connect, timeout, abort, close, garbage, overload) surfacing as the right TideError with the next call reconnecting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { ResponseCode, isTideError, type ErrorCode } from '../common/errors.js';
import { createRequest, createResponse, type RemotingCommand, type RemotingConnection, type RequestContext, type RequestHandler } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { RemotingClient, parseAddress } from './remoting-client.js';
import { RemotingServer } from './remoting-server.js';

const ECHO = 1001;
const PARK = 1002;
const ONEWAY_SINK = 1003;

const echo: RequestHandler = (request) => createResponse(request, ResponseCode.SUCCESS, undefined, request.extFields, request.body);

function rejectsWith(code: ErrorCode): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(isTideError(error, code), `expected TideError ${code}, got ${String(error)}`);
    return true;
  };
}

async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** A server that keeps every connection it sees and parks PARK requests unanswered. */
async function startServer(): Promise<{ server: RemotingServer; address: string; parked: { request: RemotingCommand; context: RequestContext }[]; oneways: string[] }> {
  const parked: { request: RemotingCommand; context: RequestContext }[] = [];
  const oneways: string[] = [];
  const server = new RemotingServer({
    handlers: new Map<number, RequestHandler>([
      [ECHO, echo],
      [
        PARK,
        (request, context) => {
          parked.push({ request, context });
          return null;
        },
      ],
      [
        ONEWAY_SINK,
        (request) => {
          oneways.push(request.extFields?.n ?? '');
          return null;
        },
      ],
    ]),
  });
  const port = await server.listen(0, '127.0.0.1');
  return { server, address: `127.0.0.1:${port}`, parked, oneways };
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

test('parseAddress reads host:port, IPv6 forms and refuses junk', () => {
  assert.deepEqual(parseAddress('127.0.0.1:10911'), { host: '127.0.0.1', port: 10911 });
  assert.deepEqual(parseAddress('[::1]:9876'), { host: '::1', port: 9876 });
  assert.deepEqual(parseAddress('broker-a.local:1'), { host: 'broker-a.local', port: 1 });
  for (const bad of ['', 'host', ':80', 'host:', 'host:0', 'host:65536', 'host:12ab']) assert.equal(parseAddress(bad), undefined, bad);
});

test('requests to one address share one connection; oneway requests arrive', async () => {
  const { server, address, oneways } = await startServer();
  const client = new RemotingClient();
  try {
    const answers = await Promise.all([1, 2, 3].map((n) => client.invoke(address, createRequest(ECHO, { n: String(n) }))));
    assert.deepEqual(answers.map((answer) => answer.extFields?.n), ['1', '2', '3']);
    await client.invokeOneway(address, createRequest(ONEWAY_SINK, { n: 'x' }));
    await until(() => oneways.length === 1);
    assert.deepEqual(oneways, ['x']);
    assert.equal([...server.connections()].length, 1);
  } finally {
    await client.close();
    await server.close();
  }
});

test('the server can call the client back on the client connection, answered by the client handlers', async () => {
  let serverSide: RemotingConnection | undefined;
  const server = new RemotingServer({
    handlers: new Map<number, RequestHandler>([
      [
        RequestCode.HEART_BEAT,
        (request, context) => {
          serverSide = context.connection;
          return createResponse(request);
        },
      ],
    ]),
  });
  const port = await server.listen(0, '127.0.0.1');
  const notified: string[] = [];
  const client = new RemotingClient({
    handlers: new Map<number, RequestHandler>([
      [RequestCode.GET_CONSUMER_RUNNING_INFO, (request) => createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.from(`running ${request.extFields?.consumerGroup}`))],
      [
        RequestCode.NOTIFY_CONSUMER_IDS_CHANGED,
        (request) => {
          notified.push(request.extFields?.consumerGroup ?? '');
          return null;
        },
      ],
    ]),
  });
  try {
    await client.invoke(`127.0.0.1:${port}`, createRequest(RequestCode.HEART_BEAT));
    assert.ok(serverSide);
    const answer = await serverSide.invoke(createRequest(RequestCode.GET_CONSUMER_RUNNING_INFO, { consumerGroup: 'G1' }), 2000);
    assert.equal(answer.code, ResponseCode.SUCCESS);
    assert.equal(answer.body?.toString(), 'running G1');
    assert.equal(serverSide.invokeOneway(createRequest(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, { consumerGroup: 'G2' })), true);
    await until(() => notified.length === 1);
    assert.deepEqual(notified, ['G2']);
    const unknown = await serverSide.invoke(createRequest(RequestCode.CHECK_TRANSACTION_STATE), 2000);
    assert.equal(unknown.code, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, 'a client without that handler says so');
  } finally {
    await client.close();
    await server.close();
  }
});

test('connecting to a closed port or a bad address fails with CONNECT_FAILED', async () => {
  const client = new RemotingClient({ connectTimeoutMs: 1000 });
  try {
    const port = await freePort();
    await assert.rejects(client.invoke(`127.0.0.1:${port}`, createRequest(ECHO)), rejectsWith('CONNECT_FAILED'));
    await assert.rejects(client.invoke('not-an-address', createRequest(ECHO)), rejectsWith('CONNECT_FAILED'));
  } finally {
    await client.close();
  }
});

test('an unanswered request times out with REQUEST_TIMEOUT, its late answer is dropped, the connection keeps working', async () => {
  const { server, address, parked } = await startServer();
  const client = new RemotingClient();
  try {
    await assert.rejects(client.invoke(address, createRequest(PARK), 100), rejectsWith('REQUEST_TIMEOUT'));
    const late = parked[0];
    assert.ok(late);
    late.context.reply(createResponse(late.request));
    const answer = await client.invoke(address, createRequest(ECHO, { after: 'timeout' }));
    assert.equal(answer.extFields?.after, 'timeout');
    assert.equal([...server.connections()].length, 1);
  } finally {
    await client.close();
    await server.close();
  }
});

test('an abort signal rejects with ABORTED, before or during the request', async () => {
  const { server, address } = await startServer();
  const client = new RemotingClient();
  try {
    const controller = new AbortController();
    const pending = client.invoke(address, createRequest(PARK), 5000, controller.signal);
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(pending, rejectsWith('ABORTED'));
    await assert.rejects(client.invoke(address, createRequest(ECHO), 5000, controller.signal), rejectsWith('ABORTED'));
    assert.equal((await client.invoke(address, createRequest(ECHO))).code, ResponseCode.SUCCESS);
  } finally {
    await client.close();
    await server.close();
  }
});

test('a connection closed by the server fails its pending requests with CONNECTION_CLOSED and the next call reconnects', async () => {
  const { server, address, parked } = await startServer();
  const client = new RemotingClient();
  try {
    const pending = client.invoke(address, createRequest(PARK), 5000);
    await until(() => parked.length === 1);
    const firstConnection = (parked[0] as { context: RequestContext }).context.connection;
    firstConnection.close();
    await assert.rejects(pending, rejectsWith('CONNECTION_CLOSED'));
    assert.equal((await client.invoke(address, createRequest(ECHO))).code, ResponseCode.SUCCESS);
    const connections = [...server.connections()];
    assert.equal(connections.length, 1);
    assert.notEqual(connections[0]?.id, firstConnection.id);
  } finally {
    await client.close();
    await server.close();
  }
});

test('garbage from the peer closes that connection, fails its pending calls, and the next call reconnects', async () => {
  let accepted = 0;
  const garbage = Buffer.from([0x40, 0, 0, 0, 1, 2, 3, 4]); // declares 1 GiB
  const sockets: Socket[] = [];
  const liar: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    accepted++;
    socket.once('data', () => socket.write(garbage));
  });
  await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(liar.address() as { port: number }).port}`;
  const client = new RemotingClient();
  try {
    await assert.rejects(client.invoke(address, createRequest(ECHO), 2000), (error: unknown) => {
      assert.ok(isTideError(error, 'CONNECTION_CLOSED'), String(error));
      assert.ok(isTideError(error.cause, 'FRAME_TOO_LARGE'), 'the cause says why');
      return true;
    });
    await assert.rejects(client.invoke(address, createRequest(ECHO), 2000), rejectsWith('CONNECTION_CLOSED'));
    assert.equal(accepted, 2, 'the second call opened a new connection');
  } finally {
    await client.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => liar.close(() => resolve()));
  }
});

test('past maxInFlightPerConnection a call is refused with SYSTEM_BUSY; close() fails what is pending and refuses more', async () => {
  const { server, address, parked } = await startServer();
  const client = new RemotingClient({ maxInFlightPerConnection: 2 });
  try {
    const first = client.invoke(address, createRequest(PARK), 5000);
    const second = client.invoke(address, createRequest(PARK), 5000);
    await assert.rejects(client.invoke(address, createRequest(ECHO)), rejectsWith('SYSTEM_BUSY'));
    await until(() => parked.length === 2);
    await client.close();
    await assert.rejects(first, rejectsWith('CONNECTION_CLOSED'));
    await assert.rejects(second, rejectsWith('CONNECTION_CLOSED'));
    await assert.rejects(client.invoke(address, createRequest(ECHO)), rejectsWith('CONNECTION_CLOSED'));
  } finally {
    await client.close();
    await server.close();
  }
});
