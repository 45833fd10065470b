/**
 * Micro-benchmark of the remoting codec on a SEND_MESSAGE_V2-like frame with a 1 KiB body: frames/s
 * for encode (our hand-written JSON header and, for comparison, JSON.stringify), decode, and
 * stream splitting + decode, each as a ratio to a plain Buffer copy of the same bytes in the same run.
 *
 * Run: npx tsc -p . && node dist/bench/remoting-codec-bench.js [secondsPerCase]   (3 interleaved rounds, best kept)
 */
import { cpus } from 'node:os';
import { FrameDecoder, decodeCommand, encodeCommand } from '../src/protocol/remoting-codec.js';
import { RequestCode } from '../src/protocol/request-code.js';
import type { RemotingCommand } from '../src/protocol/remoting-command.js';

const secondsPerCase = Number(process.argv[2] ?? 1);

const command: RemotingCommand = {
  code: RequestCode.SEND_MESSAGE_V2,
  language: 'JAVA',
  version: 479,
  opaque: 123_456,
  flag: 0,
  extFields: {
    a: 'please_rename_unique_group_name',
    b: 'BenchmarkTopic',
    c: 'TBW102',
    d: '4',
    e: '3',
    f: '0',
    g: '1700000000123',
    h: '0',
    i: 'KEYS\u0001order-42\u0002UNIQ_KEY\u00017F0000011A2B18B4AAC2595A1B2C0000\u0002WAIT\u0001true\u0002TAGS\u0001TagA',
    j: '0',
    k: 'false',
    l: '16',
    m: 'false',
  },
  body: Buffer.alloc(1024, 0x61),
};

/** The straightforward encoder the hand-written header is measured against. */
function encodeWithStringify(source: RemotingCommand): Buffer {
  const header = Buffer.from(
    JSON.stringify({
      code: source.code,
      language: source.language,
      version: source.version,
      opaque: source.opaque,
      flag: source.flag,
      remark: source.remark,
      extFields: source.extFields,
      serializeTypeCurrentRPC: 'JSON',
    }),
  );
  const body = source.body as Buffer;
  const frame = Buffer.allocUnsafe(8 + header.length + body.length);
  frame.writeInt32BE(4 + header.length + body.length, 0);
  frame.writeInt32BE(header.length, 4);
  frame.set(header, 8);
  frame.set(body, 8 + header.length);
  return frame;
}

let sink = 0;

/** Runs `operation` in batches for about `secondsPerCase` and returns operations per second. */
function measure(operation: () => void): number {
  for (let warm = 0; warm < 20_000; warm++) operation();
  const budgetNs = BigInt(Math.round(secondsPerCase * 1e9));
  const start = process.hrtime.bigint();
  let count = 0;
  let elapsed = 0n;
  do {
    for (let index = 0; index < 1000; index++) operation();
    count += 1000;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < budgetNs);
  return count / (Number(elapsed) / 1e9);
}

const frame = encodeCommand(command);
const frameAfterLength = frame.subarray(4);
const framesPerChunk = Math.floor((64 * 1024) / frame.length);
const stream = Buffer.concat(Array.from({ length: framesPerChunk * 16 }, () => frame));

// Splitting: 64 KiB socket-sized chunks, frames crossing chunk edges, every frame decoded.
let streamPosition = 0;
const decoder = new FrameDecoder();

const cases: [string, () => void][] = [
  [
    'baseline: Buffer copy of the frame',
    () => {
      const copy = Buffer.allocUnsafe(frame.length);
      copy.set(frame);
      sink += copy[copy.length - 1] as number;
    },
  ],
  ['encodeCommand (hand-written header)', () => (sink += encodeCommand(command).length)],
  ['encode with JSON.stringify header', () => (sink += encodeWithStringify(command).length)],
  ['decodeCommand', () => (sink += decodeCommand(frameAfterLength).code)],
  [
    'FrameDecoder + decodeCommand (64 KiB chunks)',
    () => {
      let next = decoder.next();
      while (next === null) {
        decoder.push(stream.subarray(streamPosition, streamPosition + 65_536));
        streamPosition += 65_536;
        if (streamPosition >= stream.length) streamPosition = 0;
        next = decoder.next();
      }
      sink += decodeCommand(next).code;
    },
  ],
];

// Rounds interleave the cases and keep each one's best, so a noisy neighbour skews no single case.
const best = new Map<string, number>();
for (let round = 0; round < 3; round++) {
  for (const [name, operation] of cases) best.set(name, Math.max(best.get(name) ?? 0, measure(operation)));
}
const baseline = best.get('baseline: Buffer copy of the frame') as number;
const encodeOurs = best.get('encodeCommand (hand-written header)') as number;
const encodeStringify = best.get('encode with JSON.stringify header') as number;

const cpu = cpus()[0];
console.log(`machine: ${cpu?.model ?? 'unknown'}, ${cpus().length} cores, node ${process.version}`);
console.log(`frame: SEND_MESSAGE_V2-like, ${frame.length} bytes (${frame.readInt32BE(4)} bytes of JSON header, 1024 bytes of body)`);
const rows = [...best.entries()];
for (const [name, rate] of rows) {
  console.log(`${name.padEnd(48)} ${Math.round(rate).toLocaleString('en-US').padStart(12)} frames/s   ${(rate / baseline).toFixed(3)} × baseline`);
}
console.log(`hand-written header vs JSON.stringify: ${(encodeOurs / encodeStringify).toFixed(2)} ×`);
if (sink === 42) console.log('');
