/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): the functions with the most self time and
 * the most total (inclusive) time, as percentages of the sampled time, so a profile of the broker
 * under the race's produce workload can be read without a browser.
 *
 *   node dist/bench/race/cpu-profile-summary.js <file.cpuprofile> [--top 30] [--filter src/]
 *
 * Inclusive time counts a function once per sample even when it recurses.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' }, filter: { type: 'string' } } });
if (positionals[0] === undefined) throw new Error('usage: cpu-profile-summary.js <file.cpuprofile> [--top N] [--filter text]');
const profile = JSON.parse(readFileSync(positionals[0], 'utf8')) as CpuProfile;
const top = Number(values.top);

const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const node of profile.nodes) {
  byId.set(node.id, node);
  for (const child of node.children ?? []) parent.set(child, node.id);
}

function keyOf(node: ProfileNode): string {
  const frame = node.callFrame;
  const file = frame.url.replace(/^file:\/\/.*?\/dist\//, '').replace(/^node:/, 'node:');
  return `${frame.functionName || '(anonymous)'} ${file === '' ? '' : `${file}:${frame.lineNumber + 1}`}`.trim();
}

const selfMicros = new Map<string, number>();
const totalMicros = new Map<string, number>();
let sampledMicros = 0;
for (let index = 0; index < profile.samples.length; index++) {
  const delta = profile.timeDeltas[index] ?? 0;
  sampledMicros += delta;
  let node = byId.get(profile.samples[index]!);
  if (node === undefined) continue;
  const self = keyOf(node);
  selfMicros.set(self, (selfMicros.get(self) ?? 0) + delta);
  const seen = new Set<string>();
  while (node !== undefined) {
    const key = keyOf(node);
    if (!seen.has(key)) {
      seen.add(key);
      totalMicros.set(key, (totalMicros.get(key) ?? 0) + delta);
    }
    const parentId = parent.get(node.id);
    node = parentId === undefined ? undefined : byId.get(parentId);
  }
}

function print(title: string, table: Map<string, number>): void {
  console.log(`\n${title} (of ${(sampledMicros / 1e6).toFixed(2)} s sampled)`);
  const rows = [...table.entries()].filter(([key]) => values.filter === undefined || key.includes(values.filter)).sort((left, right) => right[1] - left[1]).slice(0, top);
  for (const [key, micros] of rows) console.log(`${((micros / sampledMicros) * 100).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${key}`);
}

print('self time', selfMicros);
print('total time', totalMicros);
