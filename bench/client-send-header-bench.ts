/**
 * The producer's SEND_MESSAGE_V2 request header, written into a staging buffer the way a connection
 * queues it (prepareCommand + writePreparedCommand): extFields by the JSON writer's general loop
 * (before: the request without its extFieldsEncoder) vs by the template of send-header-encoder.ts
 * (after), same requests, same run, alternating rounds. With `--old <checkout root>` (a built
 * checkout of an earlier commit) the old build's createSendRequestTo + prepareCommand +
 * writePreparedCommand run in the same rounds too, so writer changes outside the template count.
 * Prints ns per request and the load average.
 *
 *   npx tsc -p . && node dist/bench/client-send-header-bench.js [--old /tmp/old-checkout]
 *   TIDEMQ_BENCH_CALLS=1000000   requests per round (default 1 000 000)
 */
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createSendRequestTo } from '../src/client/send-request.js';
import { prepareCommand, writePreparedCommand } from '../src/protocol/remoting-codec.js';
import type { RemotingCommand } from '../src/protocol/remoting-command.js';
import { describeMachine, formatMachine } from './machine.js';

const CALLS = Number(process.env.TIDEMQ_BENCH_CALLS ?? 1_000_000);
const ROUNDS = 5;
const body = Buffer.alloc(1024, 0x61);
const stage = Buffer.allocUnsafeSlow(64 * 1024);

type MakeRequest = typeof createSendRequestTo;
type Prepare = typeof prepareCommand;
type WritePrepared = typeof writePreparedCommand;

/** 64 distinct requests like the bench's: 8 queues, a fresh UNIQ_KEY each, WAIT true. */
function requests(withEncoder: boolean, make: MakeRequest = createSendRequestTo): RemotingCommand[] {
  const made: RemotingCommand[] = [];
  for (let index = 0; index < 64; index++) {
    const uniqueKey = (0xac110001_0000n * 1_000_000n + BigInt(index)).toString(16).toUpperCase().padStart(32, '0');
    const properties = `UNIQ_KEY\u0001${uniqueKey}\u0002WAIT\u0001true\u0002`;
    const command = make('benchmark_producer_1', 4, { topic: 'BenchTopic', body, sysFlag: 0, flag: 0, properties }, { topic: 'BenchTopic', brokerName: 'broker-a', queueId: index & 7 }, 1_763_700_000_000 + index, false);
    made.push(withEncoder ? command : { ...command, extFieldsEncoder: undefined });
  }
  return made;
}

function run(commands: RemotingCommand[], prepare: Prepare = prepareCommand, writePrepared: WritePrepared = writePreparedCommand): number {
  let position = 0;
  const started = performance.now();
  for (let call = 0; call < CALLS; call++) {
    const command = commands[call & 63]!;
    const length = prepare(command, call & 0x7fffffff, 0);
    if (position + length > stage.length) position = 0;
    position = writePrepared(command, stage, position);
  }
  return ((performance.now() - started) * 1e6) / CALLS;
}

const { values } = parseArgs({ options: { old: { type: 'string' } } });

async function main(): Promise<void> {
  console.log(formatMachine(describeMachine(tmpdir())));
  console.log(`loadavg at start ${loadavg().map((value) => value.toFixed(2)).join(' ')}; ${CALLS} requests per round, ${ROUNDS} rounds`);
  const variants: { name: string; commands: RemotingCommand[]; prepare: Prepare; writePrepared: WritePrepared }[] = [];
  if (values.old !== undefined) {
    const root = resolve(values.old);
    const oldRequest = (await import(pathToFileURL(join(root, 'dist/src/client/send-request.js')).href)) as { createSendRequestTo: MakeRequest };
    const oldCodec = (await import(pathToFileURL(join(root, 'dist/src/protocol/remoting-codec.js')).href)) as { prepareCommand: Prepare; writePreparedCommand: WritePrepared };
    variants.push({ name: `old build (${root})`, commands: requests(false, oldRequest.createSendRequestTo), prepare: oldCodec.prepareCommand, writePrepared: oldCodec.writePreparedCommand });
  }
  variants.push({ name: 'general extFields loop', commands: requests(false), prepare: prepareCommand, writePrepared: writePreparedCommand });
  variants.push({ name: 'template', commands: requests(true), prepare: prepareCommand, writePrepared: writePreparedCommand });
  const results = variants.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order so none always runs first (JIT, caches).
    for (let step = 0; step < variants.length; step++) {
      const index = (round + step) % variants.length;
      const variant = variants[index]!;
      results[index]!.push(run(variant.commands, variant.prepare, variant.writePrepared));
    }
  }
  const median = (numbers: number[]): number => [...numbers].sort((left, right) => left - right)[numbers.length >> 1]!;
  console.log('queue a SEND request (header + 1 KiB body into the staging buffer), ns per request, median of rounds:');
  variants.forEach((variant, index) => console.log(`  ${variant.name.padEnd(40)} ${median(results[index]!).toFixed(0).padStart(5)} ns  (rounds ${results[index]!.map((value) => value.toFixed(0)).join(', ')})`));
  console.log(`loadavg at end ${loadavg().map((value) => value.toFixed(2)).join(' ')}`);
}

await main();
