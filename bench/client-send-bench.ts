/**
 * Micro-benchmarks of the producer's per-send helpers and the bench tool's per-message helpers, each
 * against the code it replaced, in the same run (ns per call and heap bytes per call). The "before"
 * versions are kept here, written as they were, so the comparison stays meaningful after the change:
 *
 *  - send request: SEND_MESSAGE_V2 request object built field by field with String() (before) vs
 *    createSendRequestTo with cached number texts and timestamp (after); both then encoded to a frame.
 *  - UNIQ_KEY: the protocol's UniqueKeyGenerator (six bytes → hex → upper case per key) vs the
 *    client's (cached prefix per millisecond + a table for the counter).
 *  - bench clock: Number(process.hrtime.bigint()) vs performance.now() plus a fixed offset.
 *  - histogram bucket index: float division (before) vs integer shift (after), on latency-like values.
 *  - acknowledgement bookkeeping: recording each latency into the run's and the interval's histograms
 *    (before) vs into the interval's only, folded into the run's once a second (after).
 *  - stamping a bench body: four writeUInt32BE (before) vs byte stores (after).
 *
 * The whole send path (promises, retries, answers) is measured end to end by client-produce-ab.ts.
 *
 *   npx tsc -p . && node --expose-gc dist/bench/client-send-bench.js
 *   TIDEMQ_BENCH_CALLS=1000000   calls per measurement (default 1 000 000)
 */
import { loadavg, tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createSendRequestTo, DEFAULT_TOPIC } from '../src/client/send-request.js';
import { UniqueKeyGenerator } from '../src/client/unique-key.js';
import { monotonicNowNs, stampBenchBody } from '../src/cli/bench/bench-body.js';
import { BenchCounters } from '../src/cli/bench/bench-report.js';
import { LatencyHistogram } from '../src/cli/bench/histogram.js';
import { UniqueKeyGenerator as ProtocolUniqueKeyGenerator } from '../src/protocol/message-id.js';
import { encodeCommandAs } from '../src/protocol/remoting-codec.js';
import { createRequest, type RemotingCommand } from '../src/protocol/remoting-command.js';
import { RequestCode } from '../src/protocol/request-code.js';
import { describeMachine, formatMachine } from './machine.js';

const CALLS = Number(process.env.TIDEMQ_BENCH_CALLS ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;

interface Measured {
  nsPerCall: number;
  /** Heap bytes per call (from heapUsed growth over a short run kept alive); NaN without --expose-gc. */
  bytesPerCall: number;
}

let sink = 0;

function consume(value: unknown): void {
  if (typeof value === 'string') sink += value.length;
  else if (typeof value === 'number') sink += value;
  else if (value !== null && typeof value === 'object') sink += 1;
}

function measure(run: () => unknown): Measured {
  for (let index = 0; index < Math.min(CALLS, 200_000); index++) consume(run());
  const begin = performance.now();
  for (let index = 0; index < CALLS; index++) consume(run());
  const nsPerCall = ((performance.now() - begin) * 1e6) / CALLS;
  let bytesPerCall = Number.NaN;
  if (gc !== undefined) {
    const kept = new Array<unknown>(10_000);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let index = 0; index < kept.length; index++) kept[index] = run();
    bytesPerCall = (process.memoryUsage().heapUsed - before) / kept.length;
    consume(kept.length);
  }
  return { nsPerCall, bytesPerCall };
}

// ---- before: the send request as the producer built it until this change ----------------------

interface OldSendHeader {
  producerGroup: string;
  topic: string;
  queueId: number;
  sysFlag: number;
  bornTimestamp: number;
  flag: number;
  properties: string;
  brokerName: string;
  defaultTopicQueueNums: number;
  reconsumeTimes?: number | undefined;
  maxReconsumeTimes?: number | undefined;
  batch: boolean;
}

function oldCreateSendRequest(header: OldSendHeader, body: Buffer): RemotingCommand {
  const fields: Record<string, string> = {
    a: header.producerGroup,
    b: header.topic,
    c: DEFAULT_TOPIC,
    d: String(header.defaultTopicQueueNums),
    e: String(header.queueId),
    f: String(header.sysFlag),
    g: String(header.bornTimestamp),
    h: String(header.flag | 0),
    i: header.properties,
    j: String(header.reconsumeTimes ?? 0),
    k: 'false',
    m: header.batch ? 'true' : 'false',
    n: header.brokerName,
  };
  if (header.maxReconsumeTimes !== undefined) fields.l = String(header.maxReconsumeTimes);
  return createRequest(header.batch ? RequestCode.SEND_BATCH_MESSAGE : RequestCode.SEND_MESSAGE_V2, fields, body);
}

// ---- before: the histogram's bucket index --------------------------------------------------------

function oldIndexOf(value: number, subBucketBits: number, halfSubBuckets: number): number {
  const subBucketCount = 2 * halfSubBuckets;
  if (value < subBucketCount) return value;
  const magnitude = value < 2 ** 32 ? 31 - Math.clz32(value) : Math.floor(Math.log2(value));
  const shift = magnitude - subBucketBits + 1;
  return (shift + 1) * halfSubBuckets + Math.floor(value / 2 ** shift) - halfSubBuckets;
}

// ---- before: stamping a bench body ---------------------------------------------------------------

function oldStampBenchBody(body: Buffer, sendTimeNs: number, sequence: number, warmup = false): void {
  if (body.length < 16) return;
  body.writeUInt32BE(warmup ? 0x54424d30 : 0x54424d31, 0);
  const high = Math.floor(sendTimeNs / 2 ** 32);
  body.writeUInt32BE(high >>> 0, 4);
  body.writeUInt32BE((sendTimeNs - high * 2 ** 32) >>> 0, 8);
  body.writeUInt32BE(sequence >>> 0, 12);
}

function main(): void {
  console.log(formatMachine(describeMachine(tmpdir())));
  console.log(`calls per measurement: ${CALLS}; loadavg ${loadavg().map((value) => value.toFixed(2)).join(' ')}${gc === undefined ? ' (run with --expose-gc for bytes per call)' : ''}\n`);
  const body = Buffer.alloc(1024, 0x61);
  const properties = 'UNIQ_KEY\u0001C0A8000100002A9F000000000000000000\u0002WAIT\u0001true\u0002';
  const queue = { topic: 'BenchTopic', brokerName: 'broker-a', queueId: 5 };
  const prepared = { topic: 'BenchTopic', body, sysFlag: 0, flag: 0, properties, reconsumeTimes: undefined, maxReconsumeTimes: undefined };
  let opaque = 1;
  const oldRequest = (): RemotingCommand =>
    oldCreateSendRequest(
      { producerGroup: 'bench_producer', topic: 'BenchTopic', queueId: queue.queueId, sysFlag: 0, bornTimestamp: Date.now(), flag: 0, properties, brokerName: queue.brokerName, defaultTopicQueueNums: 4, reconsumeTimes: undefined, maxReconsumeTimes: undefined, batch: false },
      body,
    );
  const newRequest = (): RemotingCommand => createSendRequestTo('bench_producer', 4, prepared, queue, Date.now(), false);
  const protocolKeys = new ProtocolUniqueKeyGenerator(Buffer.from([192, 168, 0, 1]));
  const clientKeys = new UniqueKeyGenerator(Buffer.from([192, 168, 0, 1]));
  const histogram = new LatencyHistogram();
  let latency = 0;
  const nextLatency = (): number => {
    // Latency-like µs values, 1 µs to ~130 ms.
    latency = (latency * 1103515245 + 12345) & 0x7fffffff;
    return 1 + (latency % 131_072);
  };

  const twoHistograms = [new LatencyHistogram(), new LatencyHistogram()];
  const counters = new BenchCounters();
  let acknowledged = 0;
  const stampTarget = Buffer.alloc(1024);
  let sequence = 0;
  const pairs: [string, () => unknown, () => unknown][] = [
    ['send request object', oldRequest, newRequest],
    ['send request + frame', () => encodeCommandAs(oldRequest(), opaque++ & 0x7fffffff, 0), () => encodeCommandAs(newRequest(), opaque++ & 0x7fffffff, 0)],
    ['UNIQ_KEY', () => protocolKeys.next(), () => clientKeys.next()],
    ['bench clock (ns)', () => Number(process.hrtime.bigint()), () => monotonicNowNs()],
    ['histogram bucket index', () => oldIndexOf(nextLatency(), 8, 128), () => histogram.indexOf(nextLatency())],
    [
      'ack bookkeeping',
      () => {
        const latency = nextLatency();
        twoHistograms[0]!.record(latency);
        twoHistograms[1]!.record(latency);
        return ++acknowledged;
      },
      () => {
        counters.recordSendAck(nextLatency(), 1024);
        // The progress printer's once-a-second fold, at 100k acknowledgements a second.
        if (counters.acknowledged % 100_000 === 0) counters.endInterval();
        return counters.acknowledged;
      },
    ],
    ['stamp bench body', () => oldStampBenchBody(stampTarget, 1.8e15 + sequence * 1000, sequence++), () => stampBenchBody(stampTarget, 1.8e15 + sequence * 1000, sequence++)],
  ];
  const results: Record<string, { before: Measured; after: Measured; ratio: number }> = {};
  for (const [name, before, after] of pairs) {
    // Interleave before/after twice and keep the better of each, since outside load only slows a run.
    const beforeRuns = [measure(before)];
    const afterRuns = [measure(after)];
    beforeRuns.push(measure(before));
    afterRuns.push(measure(after));
    const best = (runs: Measured[]): Measured => runs.reduce((left, right) => (right.nsPerCall < left.nsPerCall ? right : left));
    const result = { before: best(beforeRuns), after: best(afterRuns), ratio: 0 };
    result.ratio = result.after.nsPerCall / result.before.nsPerCall;
    results[name] = result;
    const bytes = (measured: Measured): string => (Number.isNaN(measured.bytesPerCall) ? '' : `, ${measured.bytesPerCall.toFixed(0)} B`);
    console.log(`${name.padEnd(24)} before ${result.before.nsPerCall.toFixed(1).padStart(7)} ns${bytes(result.before)}   after ${result.after.nsPerCall.toFixed(1).padStart(7)} ns${bytes(result.after)}   after/before ${result.ratio.toFixed(2)}`);
  }
  console.log(JSON.stringify({ bench: 'client-send', calls: CALLS, loadAverageEnd: loadavg(), results, sink: sink > 0 }));
}

main();
