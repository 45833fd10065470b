// Proves that after simulated power loss (every file rolled back to its length at its last completed
// fsync, sometimes with a torn record on the tail) SYNC_FLUSH loses no acknowledged message and
// ASYNC_FLUSH loses only acknowledged messages past the synced end of the log, while consume queues
// stay dense, duplicate-free and never reuse an offset.
import { test } from 'node:test';
import { crashCycles, crashSeed, runCrashScenario } from './crash-harness.js';

for (const flushDiskType of ['SYNC_FLUSH', 'ASYNC_FLUSH'] as const) {
  test(`power loss with ${flushDiskType}`, { timeout: 3_600_000 }, async (t) => {
    const seed = crashSeed();
    const cycles = crashCycles(6);
    t.diagnostic(`seed ${seed}, ${cycles} cycles (TIDEMQ_CRASH_SEED / TIDEMQ_CRASH_CYCLES)`);
    const result = await runCrashScenario({
      name: `power-loss-${flushDiskType.toLowerCase()}`,
      flushDiskType,
      cycles,
      seed,
      powerLoss: true,
      tornTailProbability: 0.5,
      segmentBytes: 256 * 1024,
      flushIntervalMs: 100,
      log: (line) => t.diagnostic(line),
    });
    t.diagnostic(
      `${result.acked} acknowledged, ${result.lostAcks} of them lost with the unflushed tail, ${result.survivingAcks} verified, ` +
        `${result.tornTails} torn tails, ${result.killsBeforeReady} kills during recovery`,
    );
    console.log(`[power-loss ${flushDiskType}] acknowledged messages lost: ${result.lostAcks} of ${result.acked}`);
  });
}
