/**
 * The client hot-path benchmark. In one run it measures:
 *  (a) encode + hand to socket: Producer.sendOneway of 1 KiB messages (UNIQ_KEY, properties, SEND_MESSAGE_V2
 *      header, frame) to a broker that discards what it reads, against (a0) bare socket.write of the same
 *      frames, already encoded, to the same kind of server. Only the calling loop is timed; between chunks
 *      the run waits (untimed) until the server has read everything, so neither side measures a full
 *      socket buffer.
 *  (b) decode: a canned PULL_MESSAGE answer (32 records of 1 KiB) through the frame splitter, the header
 *      decoder and the message decoder, reading msgId and tags of every message, against (b0) reading
 *      the same bytes from a localhost socket.
 * It prints messages/s, the ratio to the bare socket, the 150 000 msgs/s target of (a), the machine,
 * and one JSON line. It never fails on numbers.
 *
 *   npm run build && node dist/bench/client-bench.js
 *   TIDEMQ_BENCH_MESSAGES=200000   messages per measurement (default 200 000)
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { Producer } from '../src/client/producer.js';
import { decodeMessages } from '../src/client/message-codec.js';
import { ResponseCode } from '../src/common/errors.js';
import { encodeRecord } from '../src/protocol/message-record.js';
import { decodeCommand, encodeCommand, FrameDecoder } from '../src/protocol/remoting-codec.js';
import { createResponse, createRequest, type RemotingCommand } from '../src/protocol/remoting-command.js';
import { RequestCode } from '../src/protocol/request-code.js';
import { encodeTopicRouteData } from '../src/protocol/route-data.js';
import { RemotingServer } from '../src/remoting/remoting-server.js';
import { createSendRequest } from '../src/client/send-request.js';
import { describeMachine, formatMachine } from './machine.js';

const MESSAGES = Number(process.env.TIDEMQ_BENCH_MESSAGES ?? 200_000);
const CHUNK = 5000;
const BODY = Buffer.alloc(1024, 0x61);
const TOPIC = 'BenchTopic';
const TARGET_SEND_PER_SECOND = 150_000;

interface DiscardServer {
  server: Server;
  port: number;
  received(): number;
  close(): Promise<void>;
}

/** A TCP server that reads and drops everything, counting bytes. */
async function startDiscardServer(): Promise<DiscardServer> {
  let bytes = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    received: () => bytes,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function waitUntil(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setImmediate(resolve));
}

async function benchSendOneway(discard: DiscardServer, namesrvAddr: string): Promise<{ perSecond: number; frameBytes: number }> {
  const producer = new Producer({ namesrvAddr, compressOverBytes: 0, faultTolerance: false });
  const message = { topic: TOPIC, body: BODY, tags: 'TagA', keys: 'order-1' };
  // Warm up: route, connection, JIT.
  for (let index = 0; index < 2000; index++) await producer.sendOneway(message);
  const startBytes = discard.received();
  let timedMs = 0;
  let sent = 0;
  while (sent < MESSAGES) {
    const before = discard.received();
    const begin = performance.now();
    for (let index = 0; index < CHUNK; index++) void producer.sendOneway(message);
    timedMs += performance.now() - begin;
    sent += CHUNK;
    const chunkBytes = await waitForChunk(discard, before);
    void chunkBytes;
  }
  const frameBytes = (discard.received() - startBytes) / sent;
  await producer.close();
  return { perSecond: sent / (timedMs / 1000), frameBytes };
}

/** Waits until the server's byte count stops growing after a chunk (everything sent was read). */
async function waitForChunk(discard: DiscardServer, before: number): Promise<number> {
  let last = -1;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 2));
    const now = discard.received();
    if (now === last && now > before) return now - before;
    last = now;
  }
}

async function benchBareWrite(discard: DiscardServer, frame: Buffer): Promise<number> {
  const socket = createConnection({ host: '127.0.0.1', port: discard.port, noDelay: true });
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  let timedMs = 0;
  let sent = 0;
  while (sent < MESSAGES) {
    const target = discard.received() + CHUNK * frame.length;
    const begin = performance.now();
    socket.cork();
    for (let index = 0; index < CHUNK; index++) socket.write(frame);
    socket.uncork();
    timedMs += performance.now() - begin;
    sent += CHUNK;
    await waitUntil(() => discard.received() >= target);
  }
  socket.destroy();
  return sent / (timedMs / 1000);
}

function cannedPullAnswer(): Buffer {
  const host = { ip: Buffer.from([127, 0, 0, 1]), port: 10911 };
  const records: Buffer[] = [];
  for (let index = 0; index < 32; index++) {
    const properties = `UNIQ_KEY\u0001C0A8000100002A9F0000000000${String(index).padStart(6, '0')}\u0002WAIT\u0001true\u0002TAGS\u0001TagA\u0002KEYS\u0001order-${index}\u0002`;
    records.push(
      encodeRecord(
        { topic: TOPIC, queueId: 0, flag: 0, sysFlag: 0, bornTimestamp: Date.now(), bornHost: host, storeHost: host, reconsumeTimes: 0, preparedTransactionOffset: 0, body: BODY, properties },
        index,
        index * 1200,
        Date.now(),
      ),
    );
  }
  const request = createRequest(RequestCode.PULL_MESSAGE);
  const response = createResponse(request, ResponseCode.SUCCESS, undefined, { suggestWhichBrokerId: '0', nextBeginOffset: '32', minOffset: '0', maxOffset: '32' }, Buffer.concat(records));
  return encodeCommand(response);
}

function benchDecode(frame: Buffer): number {
  const queue = { topic: TOPIC, brokerName: 'broker-a', queueId: 0 };
  const rounds = Math.ceil(MESSAGES / 32);
  let checksum = 0;
  const decoder = new FrameDecoder();
  const run = (count: number): number => {
    const begin = performance.now();
    for (let round = 0; round < count; round++) {
      decoder.push(frame);
      const bytes = decoder.next()!;
      const command: RemotingCommand = decodeCommand(bytes);
      const messages = decodeMessages(command.body!, queue);
      for (const message of messages) checksum += message.msgId.length + (message.tags?.length ?? 0) + message.body.length;
    }
    return performance.now() - begin;
  };
  run(200);
  const elapsedMs = run(rounds);
  if (checksum === 0) throw new Error('nothing decoded');
  return (rounds * 32) / (elapsedMs / 1000);
}

async function benchSocketRead(frame: Buffer): Promise<number> {
  const rounds = Math.ceil(MESSAGES / 32);
  const total = rounds * frame.length;
  let received = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let begin = 0;
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    // The writer side: stream the canned answers as fast as the socket takes them.
    let sent = 0;
    const pump = (): void => {
      while (sent < rounds) {
        sent++;
        if (!socket.write(frame)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = createConnection({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
  socket.on('data', (chunk: Buffer) => {
    if (begin === 0) begin = performance.now();
    received += chunk.length;
    if (received >= total) resolveDone();
  });
  await done;
  const elapsedMs = performance.now() - begin;
  socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return (rounds * 32) / (elapsedMs / 1000);
}

async function main(): Promise<void> {
  console.log(formatMachine(describeMachine(tmpdir())));
  console.log(`messages per measurement: ${MESSAGES}, body 1 KiB\n`);

  const discard = await startDiscardServer();
  const namesrv = new RemotingServer({
    handlers: new Map([
      [
        RequestCode.GET_ROUTEINFO_BY_TOPIC,
        (request: RemotingCommand) =>
          createResponse(request, ResponseCode.SUCCESS, undefined, undefined, encodeTopicRouteData({
            queueDatas: [{ brokerName: 'broker-a', readQueueNums: 8, writeQueueNums: 8, perm: 6, topicSysFlag: 0 }],
            brokerDatas: [{ cluster: 'Bench', brokerName: 'broker-a', brokerAddrs: { '0': `127.0.0.1:${discard.port}` }, enableActingMaster: false }],
            filterServerTable: {},
          })),
      ],
    ]),
  });
  const namesrvPort = await namesrv.listen(0, '127.0.0.1');

  const send = await benchSendOneway(discard, `127.0.0.1:${namesrvPort}`);
  const sampleFrame = encodeCommand(
    createSendRequest(
      { producerGroup: 'DEFAULT_PRODUCER', topic: TOPIC, queueId: 0, sysFlag: 0, bornTimestamp: Date.now(), flag: 0, properties: 'UNIQ_KEY\u0001C0A8000100002A9F000000000000000000\u0002WAIT\u0001true\u0002TAGS\u0001TagA\u0002KEYS\u0001order-1\u0002', brokerName: 'broker-a', defaultTopicQueueNums: 4, batch: false },
      BODY,
    ),
  );
  const bare = await benchBareWrite(discard, sampleFrame);
  await discard.close();
  await namesrv.close();

  const pullFrame = cannedPullAnswer();
  const decode = benchDecode(pullFrame);
  const read = await benchSocketRead(pullFrame);

  const rows = [
    ['(a)  sendOneway, encode + hand to socket', send.perSecond, send.perSecond / bare],
    ['(a0) bare socket.write of encoded frames', bare, 1],
    ['(b)  decode canned pull answer', decode, decode / read],
    ['(b0) bare socket read of the same bytes', read, 1],
  ] as const;
  for (const [name, perSecond, ratio] of rows) {
    console.log(`${name.padEnd(44)} ${Math.round(perSecond).toLocaleString('en-US').padStart(12)} msgs/s   ratio ${ratio.toFixed(2)}`);
  }
  console.log(`\nframe ${Math.round(send.frameBytes)} B per 1 KiB message; target (a) ≥ ${TARGET_SEND_PER_SECOND.toLocaleString('en-US')} msgs/s: ${send.perSecond >= TARGET_SEND_PER_SECOND ? 'met' : 'NOT met'}`);
  console.log(JSON.stringify({ bench: 'client', messages: MESSAGES, sendOnewayPerSecond: Math.round(send.perSecond), bareWritePerSecond: Math.round(bare), sendRatio: send.perSecond / bare, decodePerSecond: Math.round(decode), socketReadPerSecond: Math.round(read), decodeRatio: decode / read }));
}

await main();
