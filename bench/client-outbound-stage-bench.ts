/**
 * The connection's staging buffer (src/remoting/outbound-frames.ts) under a producer's load: SEND
 * frames (≈1.3 KiB: header + 1 KiB body) encoded in place, 256 per flush, each flush's chunks
 * "written" (read once, as the kernel would copy them). Before: a full staging buffer is replaced by a
 * fresh one (the old behaviour, which is what happens when `rewind` is never called); after: the
 * connection rewinds the buffer after a flush the socket took whole (what SocketConnection.flush now
 * does when writableLength is 0). Same run, alternating rounds; CPU ns per frame (process.cpuUsage,
 * GC included) and the load average.
 *
 *   npx tsc -p . && node dist/bench/client-outbound-stage-bench.js
 *   TIDEMQ_BENCH_FRAMES=2000000   frames per round (default 2 000 000)
 */
import { loadavg, tmpdir } from 'node:os';
import { createSendRequestTo } from '../src/client/send-request.js';
import { prepareCommand } from '../src/protocol/remoting-codec.js';
import type { RemotingCommand } from '../src/protocol/remoting-command.js';
import { OutboundFrames } from '../src/remoting/outbound-frames.js';
import { describeMachine, formatMachine } from './machine.js';

const FRAMES = Number(process.env.TIDEMQ_BENCH_FRAMES ?? 2_000_000);
const FRAMES_PER_FLUSH = 256;
const ROUNDS = 5;
const body = Buffer.alloc(1024, 0x61);

const commands: RemotingCommand[] = [];
for (let index = 0; index < 64; index++) {
  const properties = `UNIQ_KEY\u0001AC11000100000000000000000000${(0x1000 + index).toString(16).toUpperCase()}\u0002WAIT\u0001true\u0002`;
  commands.push(createSendRequestTo('benchmark_producer_1', 4, { topic: 'BenchTopic', body, sysFlag: 0, flag: 0, properties }, { topic: 'BenchTopic', brokerName: 'broker-a', queueId: index & 7 }, 1_763_700_000_000, false));
}

let checksum = 0;

/** CPU ns per frame of FRAMES frames through one OutboundFrames, rewinding after each flush or not. */
function run(rewind: boolean): number {
  const outbound = new OutboundFrames();
  const started = process.cpuUsage();
  for (let frame = 0; frame < FRAMES; frame++) {
    const command = commands[frame & 63]!;
    outbound.commitPrepared(command, prepareCommand(command, frame & 0x7fffffff, 0));
    if ((frame + 1) % FRAMES_PER_FLUSH === 0) {
      for (const chunk of outbound.take()) checksum = (checksum + chunk[chunk.length - 1]! + chunk.length) | 0;
      if (rewind) outbound.rewind();
    }
  }
  const used = process.cpuUsage(started);
  return ((used.user + used.system) * 1000) / FRAMES;
}

console.log(formatMachine(describeMachine(tmpdir())));
console.log(`loadavg at start ${loadavg().map((value) => value.toFixed(2)).join(' ')}; ${FRAMES} frames per round, ${FRAMES_PER_FLUSH} per flush, ${ROUNDS} rounds`);
const before: number[] = [];
const after: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  if (round % 2 === 0) {
    before.push(run(false));
    after.push(run(true));
  } else {
    after.push(run(true));
    before.push(run(false));
  }
}
const median = (values: number[]): number => [...values].sort((left, right) => left - right)[values.length >> 1]!;
const rounded = (values: number[]): string => values.map((value) => value.toFixed(0)).join(', ');
console.log(`stage a SEND frame: fresh staging buffers ${median(before).toFixed(0)} ns -> rewound ${median(after).toFixed(0)} ns CPU per frame (median of ${ROUNDS}; before ${rounded(before)}; after ${rounded(after)}; checksum ${checksum})`);
console.log(`loadavg at end ${loadavg().map((value) => value.toFixed(2)).join(' ')}`);
