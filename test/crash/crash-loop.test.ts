// Proves that a store killed with SIGKILL at random moments, over and over, loses no acknowledged
// message, keeps every consume queue dense and duplicate-free, and never reuses a queue offset.
import { test } from 'node:test';
import { crashCycles, crashSeed, runCrashScenario } from './crash-harness.js';

test('SIGKILL loop: acknowledged SYNC_FLUSH messages survive every restart', { timeout: 3_600_000 }, async (t) => {
  const seed = crashSeed();
  const cycles = crashCycles(8);
  t.diagnostic(`seed ${seed}, ${cycles} cycles (TIDEMQ_CRASH_SEED / TIDEMQ_CRASH_CYCLES)`);
  const result = await runCrashScenario({
    name: 'crash-loop',
    flushDiskType: 'SYNC_FLUSH',
    cycles,
    seed,
    powerLoss: false,
    tornTailProbability: 0,
    segmentBytes: 256 * 1024,
    flushIntervalMs: 100,
    log: (line) => t.diagnostic(line),
  });
  t.diagnostic(`${result.acked} acknowledged, ${result.records} records in the queues, ${result.killsBeforeReady} kills during recovery`);
});
