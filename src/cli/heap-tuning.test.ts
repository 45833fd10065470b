// Proves the heap tuning of the server commands holds while the process runs: the young generation
// stops growing at its cap under an allocation load that grows it past the cap without tuning, and
// node flags given on the command line are left to rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { tuneHeap } from './heap-tuning.js';

const MODULE_URL = new URL('./heap-tuning.js', import.meta.url).href;

function newSpaceMiB(): number {
  return (v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0) / (1024 * 1024);
}

/**
 * Allocates like a server: short-lived garbage, a window of survivors, and a turn of the event loop
 * after every ~200 KB (a broker turn handles a few 64 KiB socket reads), so the cap is checked
 * between scavenges as in a broker.
 */
async function allocateForAWhile(): Promise<number> {
  let largestMiB = 0;
  let survivors: object[] = [];
  for (let batch = 0; batch < 2_000; batch++) {
    for (let index = 0; index < 2_000; index++) {
      survivors.push({ index, text: `message ${index}`, list: [index, batch] });
      if (survivors.length > 8_000) survivors = [];
    }
    largestMiB = Math.max(largestMiB, newSpaceMiB());
    await new Promise((resolve) => setImmediate(resolve));
  }
  return largestMiB;
}

test('the young generation stays at its cap under load', async () => {
  const tuned = tuneHeap({ maxSemiSpaceMiB: 2, heapGrowingPercent: 100 });
  try {
    assert.deepEqual(tuned.applied, { maxSemiSpaceMiB: 2, heapGrowingPercent: 100 });
    const largestMiB = await allocateForAWhile();
    // Two semi-spaces of 2 MiB.
    assert.ok(largestMiB <= 4, `the new space grew to ${largestMiB} MiB`);
  } finally {
    tuned.stop();
  }
});

test('node flags given on the command line are left alone', () => {
  const script = `import { tuneHeap } from ${JSON.stringify(MODULE_URL)}; const t = tuneHeap({ maxSemiSpaceMiB: 8, heapGrowingPercent: 100 }); console.log(JSON.stringify({ applied: t.applied, left: t.leftToNodeFlags })); t.stop();`;
  // NODE_OPTIONS takes --max-semi-space-size but not --heap-growing-percent.
  const output = execFileSync(process.execPath, ['--heap-growing-percent=50', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '--max-semi-space-size=4' },
    cwd: fileURLToPath(new URL('.', import.meta.url)),
  });
  assert.deepEqual(JSON.parse(output), { applied: { maxSemiSpaceMiB: 0, heapGrowingPercent: 0 }, left: ['--max-semi-space-size', '--heap-growing-percent'] });
});

test('zero leaves V8 its defaults', () => {
  const tuned = tuneHeap({ maxSemiSpaceMiB: 0, heapGrowingPercent: 0 });
  assert.deepEqual(tuned.applied, { maxSemiSpaceMiB: 0, heapGrowingPercent: 0 });
  assert.deepEqual(tuned.leftToNodeFlags, []);
  tuned.stop();
});
