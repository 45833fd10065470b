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
 *  (b1) the same decode reading only body and queue offset of every message (what `tidemq bench
 *      consume` reads), and with TIDEMQ_BENCH_OLD the message decoder of another build (the code before
 *      a change) measured in the same run, for both (b) and (b1).
 * It prints messages/s, the ratio to the bare socket, the 150 000 msgs/s target of (a), the machine,
 * and one JSON line. It never fails on numbers.
 *
 *   npm run build && node dist/bench/client-bench.js
 *   TIDEMQ_BENCH_MESSAGES=200000   messages per measurement (default 200 000)
 *   TIDEMQ_BENCH_OLD=/tmp/old      a checkout root with dist/ built, whose decodeMessages is compared
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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

type DecodeMessages = typeof decodeMessages;
/** What a consumer reads of each message: everything a user looks at, or what `tidemq bench consume` reads. */
type Reader = (message: ReturnType<DecodeMessages>[number]) => number;
const readIdsAndTags: Reader = (message) => message.msgId.length + (message.tags?.length ?? 0) + message.body.length;
const readBodyAndOffset: Reader = (message) => message.body.readUInt32BE(4) + message.queueOffset;

function benchDecode(frame: Buffer, decode: DecodeMessages = decodeMessages, read: Reader = readIdsAndTags): number {
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
      const messages = decode(command.body!, queue);
      for (const message of messages) checksum += read(message);
    }
    return performance.now() - begin;
  };
  run(200);
  const elapsedMs = run(rounds);
  if (checksum === 0) throw new Error('nothing decoded');
  return (rounds * 32) / (elapsedMs / 1000);
}

/**
 * One decode measurement in a child process (`--decode <checkout root> <ids|bodies>`), so each build's
 * decoder and each reader get a JIT of their own instead of sharing one polymorphic loop.
 */
async function decodeInChild(root: string, reader: 'ids' | 'bodies'): Promise<number> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--decode', root, reader], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolveExit) => child.once('exit', resolveExit));
  if (code !== 0) throw new Error(`decode measurement of ${root} exited with ${code}`);
  return Number(output.trim());
}

/** The child's side: measure the given build's decodeMessages, print messages/s. */
async function decodeChildMain(root: string, reader: string): Promise<void> {
  const module = (await import(pathToFileURL(join(resolve(root), 'dist/src/client/message-codec.js')).href)) as { decodeMessages: DecodeMessages };
  console.log(benchDecode(cannedPullAnswer(), module.decodeMessages, reader === 'bodies' ? readBodyAndOffset : readIdsAndTags));
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
  const thisRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const oldRoot = process.env.TIDEMQ_BENCH_OLD === undefined || process.env.TIDEMQ_BENCH_OLD === '' ? undefined : resolve(process.env.TIDEMQ_BENCH_OLD);
  // Old and new alternate, best of two each, since outside load only slows a run down.
  const runs: Record<string, number[]> = {};
  for (let round = 0; round < 2; round++) {
    for (const [name, root, reader] of [['decode', thisRoot, 'ids'], ['decodeOld', oldRoot, 'ids'], ['decodeBodies', thisRoot, 'bodies'], ['decodeBodiesOld', oldRoot, 'bodies']] as const) {
      if (root !== undefined) (runs[name] ??= []).push(await decodeInChild(root, reader));
    }
  }
  const best = (name: string): number | undefined => (runs[name] === undefined ? undefined : Math.max(...runs[name]));
  const decode = best('decode')!;
  const decodeBodies = best('decodeBodies')!;
  const decodeOld = best('decodeOld');
  const decodeBodiesOld = best('decodeBodiesOld');
  const read = await benchSocketRead(pullFrame);

  const rows = [
    ['(a)  sendOneway, encode + hand to socket', send.perSecond, send.perSecond / bare],
    ['(a0) bare socket.write of encoded frames', bare, 1],
    ['(b)  decode canned pull answer', decode, decode / read],
    ['(b0) bare socket read of the same bytes', read, 1],
    ['(b1) decode, reading body + offset only', decodeBodies, decodeBodies / read],
    ...(decodeOld === undefined || decodeBodiesOld === undefined
      ? []
      : [
          ['(b)  ... old build', decodeOld, decodeOld / read],
          ['(b1) ... old build', decodeBodiesOld, decodeBodiesOld / read],
        ]),
  ] as const;
  for (const [name, perSecond, ratio] of rows as readonly (readonly [string, number, number])[]) {
    console.log(`${name.padEnd(44)} ${Math.round(perSecond).toLocaleString('en-US').padStart(12)} msgs/s   ratio ${ratio.toFixed(2)}`);
  }
  console.log(`\nframe ${Math.round(send.frameBytes)} B per 1 KiB message; target (a) ≥ ${TARGET_SEND_PER_SECOND.toLocaleString('en-US')} msgs/s: ${send.perSecond >= TARGET_SEND_PER_SECOND ? 'met' : 'NOT met'}`);
  if (decodeOld !== undefined && decodeBodiesOld !== undefined) console.log(`decode new/old: (b) ${(decode / decodeOld).toFixed(2)}×, (b1) ${(decodeBodies / decodeBodiesOld).toFixed(2)}× the messages/s; loadavg ${loadavg().map((value) => value.toFixed(2)).join(' ')}`);
  console.log(JSON.stringify({ bench: 'client', messages: MESSAGES, loadAverageEnd: loadavg(), decodeBodiesPerSecond: Math.round(decodeBodies), decodeOldPerSecond: decodeOld === undefined ? undefined : Math.round(decodeOld), decodeBodiesOldPerSecond: decodeBodiesOld === undefined ? undefined : Math.round(decodeBodiesOld), sendOnewayPerSecond: Math.round(send.perSecond), bareWritePerSecond: Math.round(bare), sendRatio: send.perSecond / bare, decodePerSecond: Math.round(decode), socketReadPerSecond: Math.round(read), decodeRatio: decode / read }));
}

if (process.argv[2] === '--decode') await decodeChildMain(process.argv[3]!, process.argv[4]!);
else await main();
