/**
 * Micro-benchmark of the POP checkpoint table and expiry wheel, the new struct-of-arrays code
 * (src/broker/pop/checkpoint-table.ts, expiry-wheel.ts) against the previous object-per-checkpoint
 * code (bench/pop-old-table.ts), in the same run, with one checkpoint per message (pops of 1, the
 * worst case):
 *
 *  - for each level L of live checkpoints (default 10k, 50k, 100k, 200k, 400k): fill the table and
 *    the wheel with L checkpoints over 8 queues, measure heap + external bytes per checkpoint after
 *    forced GCs, then time OPS acks of random live checkpoints (lookup by queue, start offset and pop
 *    time; set the bit; out of the wheel; out of the table), each followed by an untimed add of a new
 *    checkpoint so the level stays at L;
 *  - old and new alternate over ROUNDS rounds; the table shows the median CPU ns per ack
 *    (process.cpuUsage: the time the process waited for a core is left out) and each level against
 *    the first (the slowdown as in-flight state grows).
 *
 * Run: npx tsc -p . && node --expose-gc dist/bench/pop-table-bench.js
 *   TIDEMQ_BENCH_POP_LEVELS=10000,50000,100000,200000,400000  TIDEMQ_BENCH_POP_OPS=50000  TIDEMQ_BENCH_POP_ROUNDS=3
 */
import os from 'node:os';
import { CheckpointTable, type PopQueue } from '../src/broker/pop/checkpoint-table.js';
import { ExpiryWheel } from '../src/broker/pop/expiry-wheel.js';
import { OldCheckpoint, OldCheckpointTable, OldExpiryWheel, type OldPopQueue } from './pop-old-table.js';

const LEVELS = (process.env.TIDEMQ_BENCH_POP_LEVELS ?? '10000,50000,100000,200000,400000').split(',').map(Number);
const OPS = Number(process.env.TIDEMQ_BENCH_POP_OPS ?? 50_000);
const ROUNDS = Number(process.env.TIDEMQ_BENCH_POP_ROUNDS ?? 3);
const QUEUES = 8;
const INVISIBLE_MS = 60_000;
const START_MS = 1_700_000_000_000;

const gc = (globalThis as { gc?: () => void }).gc;
function memoryBytes(): number {
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

/** What clients hold: the name of each live checkpoint, in arrays allocated once. */
class Names {
  readonly queues = new Int32Array(Math.max(...LEVELS) + 1);
  readonly starts = new Float64Array(Math.max(...LEVELS) + 1);
  readonly popTimes = new Float64Array(Math.max(...LEVELS) + 1);
  count = 0;
  nextOffset = 0;

  /** A new checkpoint name: offsets grow per queue, pop times advance by 1 ms every 100 pops. */
  next(): number {
    const index = this.count++;
    const sequence = this.nextOffset++;
    this.queues[index] = sequence % QUEUES;
    this.starts[index] = Math.floor(sequence / QUEUES);
    this.popTimes[index] = START_MS + Math.floor(sequence / 100);
    return index;
  }

  /**
   * Removes a random name and returns where it now is: past `count`, where it stays until the next
   * `next()` (the churn picks 32, acks them, and only then adds 32 new ones).
   */
  takeRandom(): number {
    const index = Math.floor(Math.random() * this.count);
    const last = --this.count;
    const queue = this.queues[index]!;
    const start = this.starts[index]!;
    const popTime = this.popTimes[index]!;
    this.queues[index] = this.queues[last]!;
    this.starts[index] = this.starts[last]!;
    this.popTimes[index] = this.popTimes[last]!;
    this.queues[last] = queue;
    this.starts[last] = start;
    this.popTimes[last] = popTime;
    return last;
  }
}

interface Subject {
  name: string;
  fill(level: number): void;
  /** Acks a random live checkpoint, then adds a new one; returns CPU µs of the acks alone. */
  churn(ops: number): number;
  close(): void;
}

/** The names of one timed turn of 32 acks, picked before the clock starts. */
const picked = new Int32Array(32);

function cpuMicros(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

function newSubject(): Subject {
  let table = new CheckpointTable(10_000_000);
  let wheel = new ExpiryWheel(100, START_MS);
  let queues: PopQueue[] = [];
  const names = new Names();
  const add = (): void => {
    const index = names.next();
    const slot = table.add(queues[names.queues[index]!]!, names.starts[index]!, names.popTimes[index]!, INVISIBLE_MS, 1, null);
    wheel.reserve(table.capacity);
    wheel.add(slot, table.reviveAtOf(slot));
  };
  return {
    name: 'new',
    fill(level) {
      table = new CheckpointTable(10_000_000);
      wheel = new ExpiryWheel(100, START_MS);
      queues = Array.from({ length: QUEUES }, (_, queueId) => table.getOrCreateQueue('G', 'T', 'T', queueId).queue);
      names.count = 0;
      names.nextOffset = 0;
      for (let index = 0; index < level; index++) add();
    },
    churn(ops) {
      let micros = 0;
      for (let done = 0; done < ops; done += 32) {
        for (let index = 0; index < 32; index++) picked[index] = names.takeRandom();
        const start = process.cpuUsage();
        for (let index = 0; index < 32; index++) {
          const name = picked[index]!;
          const slot = table.get(queues[names.queues[name]!]!, names.starts[name]!, names.popTimes[name]!);
          table.ack(slot, 1);
          if (table.allAcked(slot)) {
            wheel.remove(slot);
            table.remove(slot);
          }
        }
        micros += cpuMicros(start);
        for (let index = 0; index < 32; index++) add();
      }
      return micros;
    },
    close() {
      table = new CheckpointTable(1);
      wheel = new ExpiryWheel(100, START_MS);
      queues = [];
    },
  };
}

function oldSubject(): Subject {
  let table = new OldCheckpointTable();
  let wheel = new OldExpiryWheel<OldCheckpoint>(100, START_MS);
  let queues: OldPopQueue[] = [];
  const names = new Names();
  const add = (): void => {
    const index = names.next();
    const checkpoint = new OldCheckpoint(queues[names.queues[index]!]!, names.starts[index]!, names.popTimes[index]!, INVISIBLE_MS, 1, null);
    table.add(checkpoint);
    wheel.add(checkpoint, checkpoint.reviveAtMs);
  };
  return {
    name: 'old',
    fill(level) {
      table = new OldCheckpointTable();
      wheel = new OldExpiryWheel<OldCheckpoint>(100, START_MS);
      queues = Array.from({ length: QUEUES }, (_, queueId) => table.getOrCreateQueue('G', 'T', 'T', queueId).queue);
      names.count = 0;
      names.nextOffset = 0;
      for (let index = 0; index < level; index++) add();
    },
    churn(ops) {
      let micros = 0;
      for (let done = 0; done < ops; done += 32) {
        for (let index = 0; index < 32; index++) picked[index] = names.takeRandom();
        const start = process.cpuUsage();
        for (let index = 0; index < 32; index++) {
          const name = picked[index]!;
          const checkpoint = table.get(queues[names.queues[name]!]!, names.starts[name]!, names.popTimes[name]!)!;
          table.ack(checkpoint, 1);
          if (checkpoint.allAcked) {
            wheel.remove(checkpoint);
            table.remove(checkpoint);
          }
        }
        micros += cpuMicros(start);
        for (let index = 0; index < 32; index++) add();
      }
      return micros;
    },
    close() {
      table = new OldCheckpointTable();
      wheel = new OldExpiryWheel<OldCheckpoint>(100, START_MS);
      queues = [];
    },
  };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const load = (): string => os.loadavg().map((value) => value.toFixed(2)).join(' ');

function main(): void {
  if (!gc) console.log('note: run with node --expose-gc, or the memory numbers mean little');
  const loadStart = load();
  console.log(`levels ${LEVELS.join(', ')} live checkpoints of 1 message; ${OPS} timed acks per level and round (each followed by an untimed add); ${ROUNDS} rounds; load average ${loadStart}`);
  const subjects = [oldSubject(), newSubject()];
  // Warm-up: both shapes JIT-compiled before anything counts.
  for (const subject of subjects) {
    subject.fill(20_000);
    subject.churn(20_000);
    subject.close();
  }
  const nsPerAck = new Map<string, number[]>();
  const bytesPer = new Map<string, number>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const level of LEVELS) {
      for (const subject of round % 2 === 0 ? subjects : [...subjects].reverse()) {
        const before = memoryBytes();
        subject.fill(level);
        const bytes = (memoryBytes() - before) / level;
        const key = `${subject.name}@${level}`;
        bytesPer.set(key, Math.min(bytesPer.get(key) ?? Infinity, bytes));
        const micros = subject.churn(OPS);
        nsPerAck.set(key, [...(nsPerAck.get(key) ?? []), (micros * 1000) / OPS]);
        subject.close();
      }
    }
  }
  console.log('\n live checkpoints | old ns/ack | new ns/ack | old/new | slowdown vs first: old  new | bytes per checkpoint: old  new');
  const first = (name: string): number => median(nsPerAck.get(`${name}@${LEVELS[0]}`)!);
  const results = LEVELS.map((level) => {
    const oldNs = median(nsPerAck.get(`old@${level}`)!);
    const newNs = median(nsPerAck.get(`new@${level}`)!);
    const row = { level, oldNs, newNs, oldSlowdown: oldNs / first('old'), newSlowdown: newNs / first('new'), oldBytes: bytesPer.get(`old@${level}`)!, newBytes: bytesPer.get(`new@${level}`)! };
    console.log(
      `${String(level).padStart(17)} | ${row.oldNs.toFixed(0).padStart(10)} | ${row.newNs.toFixed(0).padStart(10)} | ${(oldNs / newNs).toFixed(2).padStart(6)}x |` +
        ` ${row.oldSlowdown.toFixed(2).padStart(24)}x ${row.newSlowdown.toFixed(2).padStart(4)}x | ${row.oldBytes.toFixed(0).padStart(25)} ${row.newBytes.toFixed(0).padStart(4)}`,
    );
    return row;
  });
  console.log(`\nload average: ${loadStart} at the start, ${load()} at the end`);
  console.log(JSON.stringify({ bench: 'pop-table', date: new Date().toISOString(), ops: OPS, rounds: ROUNDS, loadAverage: { start: loadStart, end: load() }, results }));
}

main();
