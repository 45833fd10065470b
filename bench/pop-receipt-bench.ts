/**
 * Micro-benchmark of the per-ack work before the checkpoint table is reached, new code against the
 * previous code in the same run:
 *
 *  - parse: parseReceiptHandle (a hand-written scan) against the previous split + RegExp + Number per
 *    field (copied below), on eight-field handles as Java clients send them;
 *  - queue lookup: CheckpointTable.findQueue (group → topic → queue id maps) against the previous
 *    single map keyed by `${group}\0${topic}\0${queueId}`, with the group and topic strings fresh per
 *    call as they are after header parsing;
 *  - pop log ACK record: encodeAck with FrameEncoder's byte stores and table CRC of the short frame
 *    against the previous encoder's Buffer.writeInt32BE/writeUInt32BE calls and zlib.crc32 of a
 *    subarray (copied below).
 *
 * Times are CPU ns per call (process.cpuUsage), median over interleaved rounds.
 *
 * Run: npx tsc -p . && node dist/bench/pop-receipt-bench.js   (TIDEMQ_BENCH_ROUNDS=7, TIDEMQ_BENCH_CALLS=200000)
 */
import os from 'node:os';
import { crc32 } from 'node:zlib';
import { CheckpointTable, type PopQueue } from '../src/broker/pop/checkpoint-table.js';
import { encodeAck, FrameEncoder, PopLogRecordType } from '../src/broker/pop/pop-log-codec.js';
import { writeInt64 } from '../src/protocol/message-record.js';
import { buildReceiptHandle, parseReceiptHandle } from '../src/broker/pop/receipt-handle.js';

const ROUNDS = Number(process.env.TIDEMQ_BENCH_ROUNDS ?? 7);
const CALLS = Number(process.env.TIDEMQ_BENCH_CALLS ?? 200_000);

/** The previous parser, verbatim in behaviour. */
function integerField(text: string | undefined): number | undefined {
  if (text === undefined || !/^-?\d{1,16}$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

function parseBySplit(text: string): object | undefined {
  if (typeof text !== 'string' || text.length > 1024) return undefined;
  const fields = text.split(' ');
  if (fields.length !== 7 && fields.length !== 8) return undefined;
  const ckQueueOffset = integerField(fields[0]);
  const popTimeMs = integerField(fields[1]);
  const invisibleTimeMs = integerField(fields[2]);
  const reviveQueueId = integerField(fields[3]);
  const retryFlag = fields[4];
  const brokerName = fields[5]!;
  const queueId = integerField(fields[6]);
  const queueOffset = fields.length === 8 ? integerField(fields[7]) : -1;
  if (ckQueueOffset === undefined || ckQueueOffset < 0 || popTimeMs === undefined || popTimeMs < 0) return undefined;
  if (invisibleTimeMs === undefined || invisibleTimeMs < 0 || reviveQueueId === undefined || queueId === undefined || queueId < 0) return undefined;
  if (queueOffset === undefined || (fields.length === 8 && queueOffset < 0)) return undefined;
  if (retryFlag !== '0' && retryFlag !== '1' && retryFlag !== '2') return undefined;
  return { ckQueueOffset, popTimeMs, invisibleTimeMs, reviveQueueId, retryFlag, brokerName, queueId, queueOffset };
}

/** The previous frame encoder's ACK path: Buffer's range-checked integer writers. */
class BufferWriterEncoder {
  readonly buffer = Buffer.allocUnsafe(256 * 1024);
  length = 0;

  encodeAck(queueRef: number, startOffset: number, popTimeMs: number, bits: number): void {
    const start = this.length;
    this.length += 8;
    this.buffer[this.length++] = PopLogRecordType.ACK;
    this.buffer.writeUInt32BE(queueRef >>> 0, this.length);
    this.length += 4;
    writeInt64(this.buffer, startOffset, this.length);
    this.length += 8;
    writeInt64(this.buffer, popTimeMs, this.length);
    this.length += 8;
    this.buffer.writeUInt32BE(bits >>> 0, this.length);
    this.length += 4;
    this.buffer.writeInt32BE(this.length - start - 8, start);
    this.buffer.writeUInt32BE(crc32(this.buffer.subarray(start + 8, this.length)) >>> 0, start + 4);
  }
}

const handles = Array.from({ length: 1024 }, (_, index) =>
  buildReceiptHandle({
    ckQueueOffset: 1_000_000 + index * 3, popTimeMs: 1_763_700_000_000 + index, invisibleTimeMs: 30_000, reviveQueueId: 0,
    retryFlag: '0', brokerName: 'broker-a', queueId: index % 8, queueOffset: 1_000_000 + index * 3 + (index % 3),
  }),
);

const GROUPS = ['GID_order_service', 'GID_billing', 'GID_audit_trail', 'GID_search_index'];
const TOPICS = ['TopicOrders', 'TopicPayments'];
const table = new CheckpointTable(1000);
const oldQueues = new Map<string, PopQueue>();
for (const group of GROUPS) {
  for (const topic of TOPICS) {
    for (let queueId = 0; queueId < 8; queueId++) {
      const queue = table.getOrCreateQueue(group, topic, topic, queueId).queue;
      oldQueues.set(`${group}\u0000${topic}\u0000${queueId}`, queue);
    }
  }
}
/** Fresh strings per call, as the header decoder hands them over (not interned constants). */
const freshGroups = (): string[] => Array.from({ length: 256 }, (_, index) => Buffer.from(GROUPS[index % GROUPS.length]!).toString('latin1'));
const freshTopics = (): string[] => Array.from({ length: 256 }, (_, index) => Buffer.from(TOPICS[index % TOPICS.length]!).toString('latin1'));

let sink = 0;
const oldEncoder = new BufferWriterEncoder();
const newEncoder = new FrameEncoder(256 * 1024);
const cases: Record<string, (calls: number) => void> = {
  'parse: split + RegExp (old)': (calls) => {
    for (let index = 0; index < calls; index++) if (parseBySplit(handles[index & 1023]!) !== undefined) sink++;
  },
  'parse: scan (new)': (calls) => {
    for (let index = 0; index < calls; index++) if (parseReceiptHandle(handles[index & 1023]!) !== undefined) sink++;
  },
  'pop log ACK: Buffer writers (old)': (calls) => {
    for (let index = 0; index < calls; index++) {
      if (oldEncoder.length > 200_000) oldEncoder.length = 0;
      oldEncoder.encodeAck(3, 1_000_000 + index, 1_763_700_000_000 + index, 1 << (index & 31));
    }
    sink += oldEncoder.length;
  },
  'pop log ACK: byte stores (new)': (calls) => {
    for (let index = 0; index < calls; index++) {
      if (newEncoder.length > 200_000) newEncoder.reset();
      encodeAck(newEncoder, 3, 1_000_000 + index, 1_763_700_000_000 + index, 1 << (index & 31));
    }
    sink += newEncoder.length;
  },
  'queue lookup: joined key (old)': (calls) => {
    for (let done = 0; done < calls; done += 256) {
      const groups = freshGroups();
      const topics = freshTopics();
      for (let index = 0; index < 256; index++) if (oldQueues.get(`${groups[index]}\u0000${topics[index]}\u0000${index & 7}`) !== undefined) sink++;
    }
  },
  'queue lookup: nested maps (new)': (calls) => {
    for (let done = 0; done < calls; done += 256) {
      const groups = freshGroups();
      const topics = freshTopics();
      for (let index = 0; index < 256; index++) if (table.findQueue(groups[index]!, topics[index]!, index & 7) !== undefined) sink++;
    }
  },
};

const load = (): string => os.loadavg().map((value) => value.toFixed(2)).join(' ');
const loadStart = load();
for (const run of Object.values(cases)) run(CALLS / 4);
const samples = new Map<string, number[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(cases)) {
    const start = process.cpuUsage();
    run(CALLS);
    const used = process.cpuUsage(start);
    samples.set(name, [...(samples.get(name) ?? []), ((used.user + used.system) * 1000) / CALLS]);
  }
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(`${CALLS} calls × ${ROUNDS} rounds; CPU ns per call (median; the lookups include building their fresh strings, the same for both)`);
const results: Record<string, number> = {};
for (const [name, values] of samples) {
  results[name] = median(values);
  console.log(`  ${name.padEnd(34)} ${median(values).toFixed(0).padStart(6)} ns`);
}
console.log(`  old/new: parse ${(results['parse: split + RegExp (old)']! / results['parse: scan (new)']!).toFixed(2)}x, ACK record ${(results['pop log ACK: Buffer writers (old)']! / results['pop log ACK: byte stores (new)']!).toFixed(2)}x, queue lookup ${(results['queue lookup: joined key (old)']! / results['queue lookup: nested maps (new)']!).toFixed(2)}x`);
console.log(`load average: ${loadStart} at the start, ${load()} at the end (sink ${sink > 0 ? 'ok' : 0})`);
console.log(JSON.stringify({ bench: 'pop-receipt', date: new Date().toISOString(), calls: CALLS, rounds: ROUNDS, loadAverage: { start: loadStart, end: load() }, nsPerCall: results }));
