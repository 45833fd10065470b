/**
 * The bookkeeping of one invoke (the promise a request's answer settles, its pending entry in the
 * opaque table) and its completion, as socket-connection.ts did it before and does it now, in one run:
 *
 *  - previous: an object-literal entry built inside a promise executor closure (a closure and its
 *    context per request);
 *  - current: a PendingInvoke instance and one module-level executor that fills in its settlers.
 *
 * Each call makes the promise and entry, stores the entry by opaque, then takes it out again and
 * resolves it, as the answer does. Times are CPU time per call (process.cpuUsage), median (min).
 *
 * Run: npx tsc -p . && node dist/bench/remoting-invoke-bench.js [rounds] [callsPerRound]
 */
import os from 'node:os';
import { describeMachine, formatMachine } from './machine.js';
import { cpuTimeNs, median } from './cpu-timing.js';

const rounds = Number(process.argv[2] ?? 15);
const callsPerRound = Number(process.argv[3] ?? 50_000);

interface LiteralEntry {
  readonly opaque: number;
  readonly code: number;
  readonly timeoutMs: number;
  readonly deadlineMs: number;
  readonly resolve: (response: number) => void;
  readonly reject: (error: Error) => void;
  signal: AbortSignal | undefined;
  abortListener: (() => void) | undefined;
}

class PendingInvoke {
  resolve!: (response: number) => void;
  reject!: (error: Error) => void;
  signal: AbortSignal | undefined = undefined;
  abortListener: (() => void) | undefined = undefined;

  constructor(
    readonly opaque: number,
    readonly code: number,
    readonly timeoutMs: number,
    readonly deadlineMs: number,
  ) {}
}
let invokeBeingMade: PendingInvoke | undefined;
function attachSettlers(resolve: (response: number) => void, reject: (error: Error) => void): void {
  const entry = invokeBeingMade as PendingInvoke;
  entry.resolve = resolve;
  entry.reject = reject;
}

const literalPending = new Map<number, LiteralEntry>();
const classPending = new Map<number, PendingInvoke>();
let opaque = 0;
const promises: Promise<number>[] = [];

function previousInvoke(): void {
  const id = opaque++ & 0xffff;
  const timeoutMs = 3000;
  promises.push(
    new Promise<number>((resolve, reject) => {
      const entry: LiteralEntry = { opaque: id, code: 310, timeoutMs, deadlineMs: performance.now() + timeoutMs, resolve, reject, signal: undefined, abortListener: undefined };
      literalPending.set(id, entry);
    }),
  );
  const entry = literalPending.get(id)!;
  literalPending.delete(id);
  entry.resolve(id);
}

function currentInvoke(): void {
  const id = opaque++ & 0xffff;
  const timeoutMs = 3000;
  const entry = new PendingInvoke(id, 310, timeoutMs, performance.now() + timeoutMs);
  invokeBeingMade = entry;
  promises.push(new Promise<number>(attachSettlers));
  invokeBeingMade = undefined;
  classPending.set(id, entry);
  const found = classPending.get(id)!;
  classPending.delete(id);
  found.resolve(id);
}

const cases: [string, () => void, number[]][] = [
  ['closure executor (previous)', previousInvoke, []],
  ['shared executor', currentInvoke, []],
];
const loadAtStart = os.loadavg();
for (const [, operation] of cases) for (let call = 0; call < 50_000; call++) operation();
promises.length = 0;
for (let round = 0; round < rounds; round++) {
  for (const [, operation, samples] of cases) {
    const startNs = cpuTimeNs();
    for (let call = 0; call < callsPerRound; call++) operation();
    samples.push((cpuTimeNs() - startNs) / callsPerRound);
    promises.length = 0;
  }
}
const loadAtEnd = os.loadavg();
console.log(formatMachine(describeMachine(process.cwd())));
console.log(`load average: ${loadAtStart.map((value) => value.toFixed(2)).join(' ')} at the start, ${loadAtEnd.map((value) => value.toFixed(2)).join(' ')} at the end`);
console.log(`${rounds} rounds × ${callsPerRound} calls per case; CPU ns per invoke + answer, median (min)\n`);
const first = median(cases[0]![2]);
for (const [name, , samples] of cases) {
  const middle = median(samples);
  console.log(`  ${name.padEnd(28)} ${middle.toFixed(0).padStart(6)} ns (${Math.min(...samples).toFixed(0)})${middle === first ? '' : `   ${(first / middle).toFixed(2)}× faster than the line above`}`);
}
