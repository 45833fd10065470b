/**
 * Micro-benchmarks of the store's per-append hot functions, each against the code it replaced, in
 * the same run (so machine load affects both alike). Prints ns per call and the ratio old / new.
 *
 *   npx tsc -p . && node dist/bench/store-append-bench.js
 *   TIDEMQ_BENCH_CALLS=1000000     calls per measurement (default 1,000,000)
 */
import os from 'node:os';
import { javaStringHashCode } from '../src/common/java-hash.js';
import { parseHostAddress } from '../src/protocol/host-address.js';
import { encodeProperties } from '../src/protocol/message-properties.js';
import { MAGIC_V1, MAGIC_V2, prepareRecord, writeInt64, writeRecord, type PreparedRecord } from '../src/protocol/message-record.js';
import { indexKeyHash, indexKeyHashAfter, topicKeyPrefixHash } from '../src/store/key-index-file.js';

const CALLS = Number(process.env.TIDEMQ_BENCH_CALLS ?? 1_000_000);
const ROUNDS = 3;

/** writeRecord before this change: Buffer's checked writers, Buffer#copy, UTF-8 encoder for strings. */
function writeRecordBefore(prepared: PreparedRecord, target: Buffer, position: number, queueOffset: number, physicalOffset: number, storeTimestamp: number): number {
  const input = prepared.input;
  let at = position;
  target.writeInt32BE(prepared.size, at); at += 4;
  target.writeInt32BE(prepared.topicV2 ? MAGIC_V2 : MAGIC_V1, at); at += 4;
  target.writeInt32BE(prepared.bodyCrc, at); at += 4;
  target.writeInt32BE(input.queueId, at); at += 4;
  target.writeInt32BE(input.flag | 0, at); at += 4;
  writeInt64(target, queueOffset, at); at += 8;
  writeInt64(target, physicalOffset, at); at += 8;
  target.writeInt32BE(prepared.sysFlag, at); at += 4;
  writeInt64(target, input.bornTimestamp, at); at += 8;
  at += input.bornHost.ip.copy(target, at);
  target.writeInt32BE(input.bornHost.port, at); at += 4;
  writeInt64(target, storeTimestamp, at); at += 8;
  at += input.storeHost.ip.copy(target, at);
  target.writeInt32BE(input.storeHost.port, at); at += 4;
  target.writeInt32BE(input.reconsumeTimes, at); at += 4;
  writeInt64(target, input.preparedTransactionOffset, at); at += 8;
  target.writeInt32BE(input.body.length, at); at += 4;
  at += input.body.copy(target, at);
  if (prepared.topicV2) {
    target.writeInt16BE(prepared.topicLength, at); at += 2;
  } else {
    target.writeInt8(prepared.topicLength, at); at += 1;
  }
  at += target.write(input.topic, at, prepared.topicLength, 'utf8');
  target.writeInt16BE(prepared.propertiesLength, at); at += 2;
  if (prepared.propertiesLength > 0) at += target.write(input.properties, at, prepared.propertiesLength, 'utf8');
  return at - position;
}

/** indexKeyHash before this change: hash of the concatenated "topic#key" string. */
function indexKeyHashBefore(topic: string, key: string): number {
  const hash = javaStringHashCode(`${topic}#${key}`);
  return hash === -0x80000000 ? 0 : Math.abs(hash);
}

function measure(label: string, run: (calls: number) => number): number {
  run(Math.min(CALLS, 20_000)); // warm up and let the JIT settle
  let best = Infinity;
  let sink = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    sink ^= run(CALLS);
    best = Math.min(best, ((performance.now() - start) * 1e6) / CALLS);
  }
  console.log(`${label.padEnd(44)} ${best.toFixed(1).padStart(7)} ns/call${sink === 0.5 ? ' ' : ''}`);
  return best;
}

function compare(name: string, before: (calls: number) => number, after: (calls: number) => number): void {
  const old = measure(`${name} (before)`, before);
  const now = measure(`${name} (after)`, after);
  console.log(`${name}: before / after = ${(old / now).toFixed(2)}x`);
}

const keys = Array.from({ length: 4096 }, (_, index) => `7F00000100002A9F0000${(index % 256).toString(16).padStart(4, '0')}${index.toString(16).padStart(8, '0')}`);
const prepared = prepareRecord({
  topic: 'BenchTopic',
  queueId: 3,
  flag: 0,
  sysFlag: 0,
  bornTimestamp: Date.now(),
  bornHost: parseHostAddress('127.0.0.1', 50000),
  storeHost: parseHostAddress('127.0.0.1', 10911),
  reconsumeTimes: 0,
  preparedTransactionOffset: 0,
  body: Buffer.alloc(1024, 0x61),
  properties: encodeProperties({ TAGS: 'bench', UNIQ_KEY: keys[7]!, WAIT: 'true' }),
});
// A recycled 4 MiB buffer, like the commit log's write buffer.
const target = Buffer.allocUnsafeSlow(4 * 1024 * 1024);
const recordLoop = (write: typeof writeRecord) => (calls: number): number => {
  let at = 0;
  for (let call = 0; call < calls; call++) {
    if (at + prepared.size > target.length) at = 0;
    at += write(prepared, target, at, call, call * 1200, 1_700_000_000_000 + call);
  }
  return at;
};

console.log(`store append micro-benchmarks, node ${process.version}, load ${os.loadavg()[0]!.toFixed(2)}, ${CALLS} calls, best of ${ROUNDS}`);
compare(`writeRecord ${prepared.size} B record`, recordLoop(writeRecordBefore), recordLoop(writeRecord));
compare(
  'key index hash of topic#key',
  (calls) => {
    let sink = 0;
    for (let call = 0; call < calls; call++) sink ^= indexKeyHashBefore('BenchTopic', keys[call & 4095]!);
    return sink;
  },
  (calls) => {
    // The key index caches the prefix hash of the last topic; that is what this measures.
    const prefix = topicKeyPrefixHash('BenchTopic');
    let sink = 0;
    for (let call = 0; call < calls; call++) sink ^= indexKeyHashAfter(prefix, keys[call & 4095]!);
    return sink;
  },
);
if (indexKeyHash('BenchTopic', keys[1]!) !== indexKeyHashBefore('BenchTopic', keys[1]!)) throw new Error('hash mismatch');
await compareWaiters();
console.log(`load ${os.loadavg()[0]!.toFixed(2)} at the end`);

/**
 * SYNC_FLUSH waiter bookkeeping for groups of 256 appenders, each awaiting its own durability:
 * before, one promise per waiter in four parallel arrays resolved one by one (group-commit.ts until
 * this change); after, one promise per turn of the event loop shared by the turn's waiters.
 */
async function compareWaiters(): Promise<void> {
  const GROUP = 256;
  const GROUPS = Math.max(200, Math.floor(CALLS / GROUP / 4));
  const before = async (): Promise<number> => {
    const offsets: number[] = [];
    const deadlines: number[] = [];
    const resolves: ((status: string) => void)[] = [];
    const rejects: ((error: Error) => void)[] = [];
    const wait = (endOffset: number): Promise<string> =>
      new Promise<string>((resolve, reject) => {
        offsets.push(endOffset);
        deadlines.push(performance.now() + 5000);
        resolves.push(resolve);
        rejects.push(reject);
      });
    let sink = 0;
    for (let group = 0; group < GROUPS; group++) {
      const waits: Promise<void>[] = [];
      for (let index = 0; index < GROUP; index++) waits.push(wait(group * GROUP + index).then((status) => void (sink += status.length)));
      for (let index = 0; index < offsets.length; index++) resolves[index]!('PUT_OK');
      offsets.length = deadlines.length = resolves.length = rejects.length = 0;
      await Promise.all(waits);
    }
    return sink;
  };
  const after = async (): Promise<number> => {
    let turn: { target: number; deadlineMs: number; waiters: number; promise: Promise<string>; resolve(status: string): void } | null = null;
    const wait = (endOffset: number): Promise<string> => {
      if (turn === null) {
        let resolve!: (status: string) => void;
        const promise = new Promise<string>((resolvePromise) => (resolve = resolvePromise));
        turn = { target: endOffset, deadlineMs: performance.now() + 5000, waiters: 0, promise, resolve };
      } else if (endOffset > turn.target) turn.target = endOffset;
      turn.waiters++;
      return turn.promise;
    };
    let sink = 0;
    for (let group = 0; group < GROUPS; group++) {
      const waits: Promise<void>[] = [];
      for (let index = 0; index < GROUP; index++) waits.push(wait(group * GROUP + index).then((status) => void (sink += status.length)));
      turn!.resolve('PUT_OK');
      turn = null;
      await Promise.all(waits);
    }
    return sink;
  };
  const time = async (run: () => Promise<number>): Promise<number> => {
    await run();
    let best = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      const start = performance.now();
      await run();
      best = Math.min(best, ((performance.now() - start) * 1e6) / (GROUPS * GROUP));
    }
    return best;
  };
  const old = await time(before);
  const now = await time(after);
  console.log(`${'SYNC waiter: wait + settle + await (before)'.padEnd(44)} ${old.toFixed(1).padStart(7)} ns/waiter`);
  console.log(`${'SYNC waiter: wait + settle + await (after)'.padEnd(44)} ${now.toFixed(1).padStart(7)} ns/waiter`);
  console.log(`SYNC waiter: before / after = ${(old / now).toFixed(2)}x`);
}
