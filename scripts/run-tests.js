#!/usr/bin/env node
// Runs every compiled test under dist/ with node:test. Suites that are slow by design (long crash
// loops, Apache RocketMQ side-by-side runs, benchmarks) are excluded here and have their own scripts.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = ['dist/src', 'dist/test'];
const excluded = [/\.slow\.test\.js$/, /\/test\/rocketmq\//];
const files = [];
function walk(directory) {
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.js') && !excluded.some((pattern) => pattern.test(path))) files.push(path);
  }
}
for (const root of roots) {
  try { walk(root); } catch { /* no tests there yet */ }
}
files.sort();
const extra = process.argv.slice(2);
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', ...extra, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
