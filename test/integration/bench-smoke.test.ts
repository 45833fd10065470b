// Proves `tidemq bench produce --duration 1` against a real `tidemq start` prints a JSON summary of acknowledged sends, and `bench consume` reads them back with end-to-end latencies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempHome, startStandalone } from '../support/tidemq-process.js';

const CLI = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../src/cli/tidemq.js');

function runBench(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolveRun, rejectRun) => {
    execFile(process.execPath, [CLI, 'bench', ...args], { timeout: 15_000, env: { ...process.env, TIDEMQ_LOG_LEVEL: 'warn' } }, (error, stdout, stderr) => {
      if (error) rejectRun(new Error(`tidemq bench ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolveRun({ stdout, stderr });
    });
  });
}

function lastJsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

test('bench produce prints a JSON summary with acknowledged messages, and bench consume catches up on them', { timeout: 20_000 }, async () => {
  const { home, cleanup } = makeTempHome('tidemq-bench-smoke-');
  const broker = await startStandalone(home);
  try {
    const produced = await runBench(['produce', '-n', broker.namesrvAddr, '-t', 'BenchSmoke', '-q', '4', '--duration', '1', '--window', '32']);
    const summary = lastJsonLine(produced.stdout);
    assert.equal(summary.tool, 'tidemq-bench');
    assert.equal(summary.mode, 'produce');
    assert.equal(summary.queues, 4);
    assert.equal(summary.messageBytes, 1024);
    assert.ok((summary.messages as number) > 0, `no message acknowledged: ${produced.stdout}`);
    assert.equal(summary.errorCount, 0, JSON.stringify(summary.errors));
    const sendLatency = summary.sendLatencyMs as { count: number; p50: number; p99: number };
    assert.equal(sendLatency.count, summary.messages);
    assert.ok(sendLatency.p99 >= sendLatency.p50);
    assert.match(produced.stderr, /acked/);

    const consumed = await runBench(['consume', '-n', broker.namesrvAddr, '-t', 'BenchSmoke', '--from', 'earliest', '--until-caught-up', '--duration', '0', '--quiet']);
    const consumeSummary = lastJsonLine(consumed.stdout);
    assert.equal(consumeSummary.mode, 'consume');
    assert.equal(consumeSummary.messages, summary.messages);
    assert.equal((consumeSummary.e2eLatencyMs as { count: number }).count, summary.messages);
  } finally {
    await broker.stop();
    cleanup();
  }
});
