/**
 * The producer's SEND_MESSAGE_V2 request header, written into a staging buffer the way a connection
 * queues it (prepareCommand + writePreparedCommand): extFields by the JSON writer's general loop
 * (before: the request without its extFieldsEncoder) vs by the template of send-header-encoder.ts
 * (after), same requests, same run, alternating rounds. Prints ns per request and the load average.
 *
 *   npx tsc -p . && node dist/bench/client-send-header-bench.js
 *   TIDEMQ_BENCH_CALLS=1000000   requests per round (default 1 000 000)
 */
import { loadavg, tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createSendRequestTo } from '../src/client/send-request.js';
import { prepareCommand, writePreparedCommand } from '../src/protocol/remoting-codec.js';
import type { RemotingCommand } from '../src/protocol/remoting-command.js';
import { describeMachine, formatMachine } from './machine.js';

const CALLS = Number(process.env.TIDEMQ_BENCH_CALLS ?? 1_000_000);
const ROUNDS = 5;
const body = Buffer.alloc(1024, 0x61);
const stage = Buffer.allocUnsafeSlow(64 * 1024);

/** 64 distinct requests like the bench's: 8 queues, a fresh UNIQ_KEY each, WAIT true. */
function requests(withEncoder: boolean): RemotingCommand[] {
  const made: RemotingCommand[] = [];
  for (let index = 0; index < 64; index++) {
    const uniqueKey = (0xac110001_0000n * 1_000_000n + BigInt(index)).toString(16).toUpperCase().padStart(32, '0');
    const properties = `UNIQ_KEY\u0001${uniqueKey}\u0002WAIT\u0001true\u0002`;
    const command = createSendRequestTo('benchmark_producer_1', 4, { topic: 'BenchTopic', body, sysFlag: 0, flag: 0, properties }, { topic: 'BenchTopic', brokerName: 'broker-a', queueId: index & 7 }, 1_763_700_000_000 + index, false);
    made.push(withEncoder ? command : { ...command, extFieldsEncoder: undefined });
  }
  return made;
}

function run(commands: RemotingCommand[]): number {
  let position = 0;
  const started = performance.now();
  for (let call = 0; call < CALLS; call++) {
    const command = commands[call & 63]!;
    const length = prepareCommand(command, call & 0x7fffffff, 0);
    if (position + length > stage.length) position = 0;
    position = writePreparedCommand(command, stage, position);
  }
  return ((performance.now() - started) * 1e6) / CALLS;
}

console.log(formatMachine(describeMachine(tmpdir())));
console.log(`loadavg at start ${loadavg().map((value) => value.toFixed(2)).join(' ')}; ${CALLS} requests per round, ${ROUNDS} rounds`);
const before = requests(false);
const after = requests(true);
const results: { before: number[]; after: number[] } = { before: [], after: [] };
for (let round = 0; round < ROUNDS; round++) {
  // Alternate the order so neither always runs first (JIT, caches).
  if (round % 2 === 0) {
    results.before.push(run(before));
    results.after.push(run(after));
  } else {
    results.after.push(run(after));
    results.before.push(run(before));
  }
}
const median = (values: number[]): number => [...values].sort((left, right) => left - right)[values.length >> 1]!;
console.log(`queue a SEND request (header + 1 KiB body into the staging buffer): general extFields loop ${median(results.before).toFixed(0)} ns -> template ${median(results.after).toFixed(0)} ns (median of ${ROUNDS}; rounds before ${results.before.map((value) => value.toFixed(0)).join(', ')}; after ${results.after.map((value) => value.toFixed(0)).join(', ')})`);
console.log(`loadavg at end ${loadavg().map((value) => value.toFixed(2)).join(' ')}`);
