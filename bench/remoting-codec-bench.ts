/**
 * Micro-benchmark of the remoting codec's hot path, each fast path against the general path it
 * replaces, measured in the same run:
 *
 *  - decode: the hand-written JSON header scanner (`scanJsonHeader`) against JSON.parse plus field
 *    checks (`parseJsonHeader`) on the same bytes, for SEND_MESSAGE_V2 headers as ali-ons, the Java
 *    client and TideMQ's client write them, and a Java PULL_MESSAGE header (long key names); plus
 *    whole `decodeCommand` calls, and FrameDecoder splitting for context;
 *  - encode: `encodeCommandAs` (header bytes written into a scratch buffer) against
 *    `encodeCommandViaString` (the header built as a string, the previous implementation) for a SEND
 *    answer and a SEND_MESSAGE_V2 request with a 1 KiB body;
 *  - queueing into a connection's staging buffer: a frame of its own then copied (before) against
 *    `prepareCommand` + `writePreparedCommand` writing the frame in place.
 *
 * Times are CPU time of this process per call (process.cpuUsage), not wall time: the machines here are
 * shared, and CPU time leaves out the time the process waited for a core. Cases are interleaved over
 * many short rounds; the table shows the median and the minimum over rounds, and each ratio divides
 * medians of the same run.
 *
 * Run: npx tsc -p . && node dist/bench/remoting-codec-bench.js [rounds] [callsPerRound]
 */
import os from 'node:os';
import {
  FrameDecoder,
  decodeCommand,
  decodeCommandAt,
  encodeCommandAs,
  encodeCommandViaString,
  parseJsonHeader,
  prepareCommand,
  scanJsonHeader,
  writePreparedCommand,
} from '../src/protocol/remoting-codec.js';
import { RequestCode } from '../src/protocol/request-code.js';
import { RemotingFlag, type RemotingCommand } from '../src/protocol/remoting-command.js';
import { describeMachine, formatMachine } from './machine.js';
import { nsPerCall, median } from './cpu-timing.js';

const rounds = Number(process.argv[2] ?? 25);
const callsPerRound = Number(process.argv[3] ?? 20_000);

const properties = 'KEYS\u0001order-42\u0002UNIQ_KEY\u00017F0000011A2B18B4AAC2595A1B2C0000\u0002WAIT\u0001true\u0002TAGS\u0001TagA\u0002';
const group = 'please_rename_unique_group_name';
const topic = 'BenchmarkTopic';

/** ali-ons 3.x: JSON.stringify of {code, language, opaque, flag, version, extFields}; numbers and booleans raw. */
const aliOnsHeader = JSON.stringify({
  code: RequestCode.SEND_MESSAGE_V2,
  language: 'JAVA',
  opaque: 123_456,
  flag: 0,
  version: 121,
  extFields: { a: group, b: topic, c: 'TBW102', d: 4, e: 3, f: 0, g: 1_700_000_000_123, h: 0, i: properties, j: 0, k: false },
});
/** The Java client (fastjson): top-level keys sorted, extFields a HashMap of strings (a..n in 5.x). */
const javaExtFields = { a: group, b: topic, c: 'TBW102', d: '4', e: '3', f: '0', g: '1700000000123', h: '0', i: properties, j: '0', k: 'false', l: '16', m: 'false', n: 'broker-a' };
const javaHeader = `{"code":${RequestCode.SEND_MESSAGE_V2},"extFields":${JSON.stringify(javaExtFields)},"flag":0,"language":"JAVA","opaque":123456,"serializeTypeCurrentRPC":"JSON","version":479}`;
/** TideMQ's own client, which the race's producer uses: our encoder's field order. */
const tideRequest: RemotingCommand = {
  code: RequestCode.SEND_MESSAGE_V2,
  language: 'JAVA',
  version: 479,
  opaque: 123_456,
  flag: 0,
  extFields: { a: group, b: topic, c: 'TBW102', d: '4', e: '3', f: '0', g: '1700000000123', h: '0', i: properties, j: '0', k: 'false', l: '16', m: 'false' },
  body: Buffer.alloc(1024, 0x61),
};
const tideHeader = encodeCommandAs(tideRequest, tideRequest.opaque, 0);
const javaPullExtFields = {
  commitOffset: '1234',
  consumerGroup: 'please_rename_unique_group_name_4',
  expressionType: 'TAG',
  maxMsgNums: '32',
  queueId: '3',
  queueOffset: '98765',
  subVersion: '1700000000000',
  subscription: '*',
  suspendTimeoutMillis: '15000',
  sysFlag: '3',
  topic,
};
const javaPullHeader = `{"code":${RequestCode.PULL_MESSAGE},"extFields":${JSON.stringify(javaPullExtFields)},"flag":0,"language":"JAVA","opaque":123456,"serializeTypeCurrentRPC":"JSON","version":479}`;

/** The bytes after totalLen of a frame with this JSON header and a 1 KiB body. */
function frameAfterLength(header: string | Buffer): Buffer {
  const headerBytes = typeof header === 'string' ? Buffer.from(header, 'utf8') : header;
  const frame = Buffer.alloc(4 + headerBytes.length + 1024, 0x61);
  frame.writeInt32BE(headerBytes.length, 0);
  headerBytes.copy(frame, 4);
  return frame;
}

const decodeShapes: [string, Buffer][] = [
  ['SEND_MESSAGE_V2, ali-ons', frameAfterLength(aliOnsHeader)],
  ['SEND_MESSAGE_V2, Java client', frameAfterLength(javaHeader)],
  ['SEND_MESSAGE_V2, TideMQ client', tideHeader.subarray(4)],
  ['PULL_MESSAGE, Java client', frameAfterLength(javaPullHeader)],
];

const sendAnswer: RemotingCommand = {
  code: 0,
  language: 'JAVA',
  version: 479,
  opaque: 0,
  flag: RemotingFlag.RESPONSE,
  remark: undefined,
  extFields: { msgId: '0A0000010000A8B0000000000001E240', queueId: '3', queueOffset: '123456', MSG_REGION: 'DefaultRegion', TRACE_ON: 'true' },
  body: undefined,
};

let sink = 0;
let opaqueCounter = 1;

interface Case {
  name: string;
  group: string;
  operation: () => void;
}

const cases: Case[] = [];
for (const [shape, frame] of decodeShapes) {
  const headerEnd = 4 + frame.readInt32BE(0);
  // Both paths must agree on what they decode, or the comparison means nothing.
  const viaScan = scanJsonHeader(frame, 4, headerEnd);
  const viaParse = parseJsonHeader(frame, 4, headerEnd);
  if (viaScan === undefined || JSON.stringify(viaScan) !== JSON.stringify(viaParse)) throw new Error(`the scanner does not take or disagrees on ${shape}`);
  cases.push({ group: `decode header: ${shape} (${headerEnd - 4} B)`, name: 'JSON.parse + checks', operation: () => (sink += parseJsonHeader(frame, 4, headerEnd).code) });
  cases.push({ group: `decode header: ${shape} (${headerEnd - 4} B)`, name: 'scanner', operation: () => (sink += (scanJsonHeader(frame, 4, headerEnd) as RemotingCommand).code) });
}
/** decodeCommand as it was before the scanner: JSON.parse for every JSON header. */
function decodeCommandViaParse(frame: Buffer): RemotingCommand {
  const headerEnd = 4 + (frame.readUInt32BE(0) & 0xffffff);
  const command = parseJsonHeader(frame, 4, headerEnd);
  if (headerEnd < frame.length) command.body = frame.subarray(headerEnd);
  return command;
}
const javaSendFrame = decodeShapes[1]![1];
cases.push({ group: 'decodeCommand: SEND_MESSAGE_V2, Java client, 1 KiB body', name: 'JSON.parse path (previous)', operation: () => (sink += decodeCommandViaParse(javaSendFrame).code) });
cases.push({ group: 'decodeCommand: SEND_MESSAGE_V2, Java client, 1 KiB body', name: 'decodeCommand', operation: () => (sink += decodeCommand(javaSendFrame).code) });

for (const [shape, command, flag] of [
  ['SEND answer (5 extFields)', sendAnswer, RemotingFlag.RESPONSE],
  ['SEND_MESSAGE_V2 request, TideMQ client, 1 KiB body', tideRequest, 0],
] as const) {
  const viaString = encodeCommandViaString(command, 77, flag);
  if (!encodeCommandAs(command, 77, flag).equals(viaString)) throw new Error(`the two encoders disagree on ${shape}`);
  cases.push({ group: `encode: ${shape} (${viaString.length} B)`, name: 'string header (previous)', operation: () => (sink += encodeCommandViaString(command, opaqueCounter++ & 0x7fffffff, flag).length) });
  cases.push({ group: `encode: ${shape} (${viaString.length} B)`, name: 'byte writer', operation: () => (sink += encodeCommandAs(command, opaqueCounter++ & 0x7fffffff, flag).length) });
}

// What a connection does to queue a command: before, a frame of its own then copied into the staging
// buffer; now, the frame written straight into the staging buffer.
const stage = Buffer.allocUnsafeSlow(64 * 1024);
let stageUsed = 0;
for (const [shape, command, flag] of [
  ['SEND answer (5 extFields)', sendAnswer, RemotingFlag.RESPONSE],
  ['SEND_MESSAGE_V2 request, TideMQ client, 1 KiB body', tideRequest, 0],
] as const) {
  const group = `queue into a staging buffer: ${shape}`;
  cases.push({
    group,
    name: 'encodeCommandAs + copy (previous)',
    operation: () => {
      const frame = encodeCommandAs(command, opaqueCounter++ & 0x7fffffff, flag);
      if (stageUsed + frame.length > stage.length) stageUsed = 0;
      stageUsed += frame.copy(stage, stageUsed);
    },
  });
  cases.push({
    group,
    name: 'prepare + write in place',
    operation: () => {
      const frameBytes = prepareCommand(command, opaqueCounter++ & 0x7fffffff, flag);
      if (stageUsed + frameBytes > stage.length) stageUsed = 0;
      stageUsed = writePreparedCommand(command, stage, stageUsed);
    },
  });
}

// Splitting 64 KiB socket-sized chunks, frames crossing chunk edges, every frame decoded.
const streamFrame = tideHeader;
const stream = Buffer.concat(Array.from({ length: Math.floor((64 * 1024) / streamFrame.length) * 16 }, () => streamFrame));
/** One decoder fed the stream in 64 KiB chunks, over and over. */
class StreamFeed {
  readonly decoder = new FrameDecoder();
  private position = 0;

  refill(): void {
    this.decoder.push(stream.subarray(this.position, this.position + 65_536));
    this.position += 65_536;
    if (this.position >= stream.length) this.position = 0;
  }
}
const viewFeed = new StreamFeed();
const rangeFeed = new StreamFeed();
cases.push({
  group: 'stream: FrameDecoder + decode, 64 KiB chunks',
  name: 'next() view + decodeCommand (previous)',
  operation: () => {
    let next = viewFeed.decoder.next();
    while (next === null) {
      viewFeed.refill();
      next = viewFeed.decoder.next();
    }
    sink += decodeCommand(next).code;
  },
});
cases.push({
  group: 'stream: FrameDecoder + decode, 64 KiB chunks',
  name: 'nextFrame() + decodeCommandAt',
  operation: () => {
    const decoder = rangeFeed.decoder;
    while (!decoder.nextFrame()) rangeFeed.refill();
    sink += decodeCommandAt(decoder.frameSource, decoder.frameStart, decoder.frameEnd).code;
  },
});

const loadAtStart = os.loadavg();
for (const { operation } of cases) nsPerCall(operation, 50_000); // warm up and let V8 optimise
const samples = new Map<Case, number[]>(cases.map((entry) => [entry, []]));
// Rounds interleave the cases, so a noisy neighbour lands on all of them alike.
for (let round = 0; round < rounds; round++) {
  for (const entry of cases) samples.get(entry)!.push(nsPerCall(entry.operation, callsPerRound));
}
const loadAtEnd = os.loadavg();

console.log(formatMachine(describeMachine(process.cwd())));
console.log(`load average: ${loadAtStart.map((value) => value.toFixed(2)).join(' ')} at the start, ${loadAtEnd.map((value) => value.toFixed(2)).join(' ')} at the end`);
console.log(`${rounds} rounds × ${callsPerRound} calls per case; CPU ns per call, median (min)`);
let currentGroup = '';
let firstMedian = 0;
for (const entry of cases) {
  const values = samples.get(entry)!;
  const middle = median(values);
  if (entry.group !== currentGroup) {
    currentGroup = entry.group;
    firstMedian = middle;
    console.log(`\n${entry.group}`);
  }
  const ratio = middle === firstMedian ? '' : `   ${(firstMedian / middle).toFixed(2)}× faster than the line above`;
  console.log(`  ${entry.name.padEnd(28)} ${middle.toFixed(0).padStart(6)} ns (${Math.min(...values).toFixed(0)})${ratio}`);
}
if (sink === 42) console.log('');
