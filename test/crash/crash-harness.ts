/**
 * The parent side of the crash tests: runs crash-child.js against one store directory again and
 * again, SIGKILLs it at a seeded random moment, optionally simulates a power cut on the files it left,
 * and keeps the register of acknowledged messages that every later run must find intact.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../src/common/logger.js';
import { MessageStore } from '../../src/store/message-store.js';
import type { FlushDiskType } from '../../src/store/store-config.js';
import { formatAck, parseAck, queueName, randomInt, seededRandom, type Ack } from './crash-workload.js';
import { appendTornTail, applyPowerCut, durableCommitLogEnd, readSyncLog, snapshotFiles } from './power-cut.js';
import { verifyStore } from './store-verifier.js';

const CHILD_PATH = fileURLToPath(new URL('./crash-child.js', import.meta.url));
/** A child that neither finishes nor gets killed within this long is a hang. */
const CHILD_TIMEOUT_MS = 90_000;
/** stderr kept per child for the failure message. */
const STDERR_KEEP_BYTES = 16 * 1024;

/** Cycles per scenario: small by default so `npm test` stays fast; `npm run test:crash` sets 200. */
export function crashCycles(defaultCycles: number): number {
  const fromEnv = Number(process.env.TIDEMQ_CRASH_CYCLES);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : defaultCycles;
}

/** The seed of a scenario: TIDEMQ_CRASH_SEED to replay one, a fresh one otherwise (always printed). */
export function crashSeed(): number {
  const fromEnv = Number(process.env.TIDEMQ_CRASH_SEED);
  return Number.isInteger(fromEnv) ? fromEnv >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}

export interface KillPlan {
  /** Kill this long after spawning, wherever the child is (often inside recovery). */
  afterSpawnMs?: number;
  /** Kill this long after the child reported READY (verification done, appends under way). */
  afterReadyMs?: number;
}

export interface ChildOutcome {
  acks: Ack[];
  lost: Array<{ run: number; seq: number }>;
  failures: string[];
  verified: boolean;
  ready: boolean;
  closed: boolean;
  killed: boolean;
  exitCode: number | null;
  stderr: string;
}

export function runChild(args: readonly string[], killPlan: KillPlan | null): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const outcome: ChildOutcome = { acks: [], lost: [], failures: [], verified: false, ready: false, closed: false, killed: false, exitCode: null, stderr: '' };
    const timers: NodeJS.Timeout[] = [];
    const kill = (): void => {
      if (child.exitCode === null && child.signalCode === null) {
        outcome.killed = true;
        child.kill('SIGKILL');
      }
    };
    if (killPlan?.afterSpawnMs !== undefined) timers.push(setTimeout(kill, killPlan.afterSpawnMs));
    timers.push(
      setTimeout(() => {
        outcome.failures.push(`child hung for ${CHILD_TIMEOUT_MS} ms`);
        kill();
      }, CHILD_TIMEOUT_MS),
    );
    let pending = '';
    const onLine = (line: string): void => {
      const ack = parseAck(line);
      if (ack !== null) {
        outcome.acks.push(ack);
        return;
      }
      const [word, ...rest] = line.split(' ');
      if (word === 'LOST') outcome.lost.push({ run: Number(rest[0]), seq: Number(rest[1]) });
      else if (word === 'FAIL') outcome.failures.push(rest.join(' '));
      else if (word === 'VERIFIED') outcome.verified = true;
      else if (word === 'CLOSED') outcome.closed = true;
      else if (word === 'READY') {
        outcome.ready = true;
        if (killPlan?.afterReadyMs !== undefined) timers.push(setTimeout(kill, killPlan.afterReadyMs));
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        onLine(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      outcome.stderr = (outcome.stderr + chunk).slice(-STDERR_KEEP_BYTES);
    });
    child.on('error', reject);
    // 'close' waits for stdout to drain, so every ack line written before the kill is in.
    child.on('close', (code) => {
      for (const timer of timers) clearTimeout(timer);
      // A line without its '\n' was cut by the kill; it acknowledges nothing.
      outcome.exitCode = code;
      resolve(outcome);
    });
  });
}

export interface CrashScenario {
  name: string;
  flushDiskType: FlushDiskType;
  cycles: number;
  seed: number;
  /** Roll files back to their last sync after each kill. */
  powerLoss: boolean;
  /** Chance per cycle of a torn record appended to the commit log's tail (power loss only). */
  tornTailProbability: number;
  segmentBytes: number;
  /** ASYNC_FLUSH interval of the child. */
  flushIntervalMs: number;
  log: (line: string) => void;
}

export interface CrashScenarioResult {
  acked: number;
  survivingAcks: number;
  lostAcks: number;
  killsBeforeReady: number;
  tornTails: number;
  records: number;
}

/** Runs the kill / (cut) / restart loop and the final checks; throws an AssertionError on any failure. */
export async function runCrashScenario(scenario: CrashScenario): Promise<CrashScenarioResult> {
  const workDir = mkdtempSync(join(tmpdir(), `tidemq-${scenario.name}-`));
  const storeDir = join(workDir, 'store');
  mkdirSync(storeDir);
  const acksPath = join(workDir, 'acks.log');
  const mayLosePath = join(workDir, 'may-lose.txt');
  writeFileSync(acksPath, '');
  writeFileSync(mayLosePath, '');
  const random = seededRandom(scenario.seed);
  const register = new Map<string, Ack>();
  const mayLose = new Set<string>();
  const result: CrashScenarioResult = { acked: 0, survivingAcks: 0, lostAcks: 0, killsBeforeReady: 0, tornTails: 0, records: 0 };
  const commonArgs = [
    '--dir', storeDir,
    '--seed', String(scenario.seed),
    '--flush', scenario.flushDiskType,
    '--segment-bytes', String(scenario.segmentBytes),
    '--flush-interval-ms', String(scenario.flushIntervalMs),
    '--acks', acksPath,
    '--may-lose', mayLosePath,
  ];
  const describe = (run: number, outcome: ChildOutcome): string =>
    `${scenario.name} seed=${scenario.seed} run=${run} (replay with TIDEMQ_CRASH_SEED=${scenario.seed})\n` +
    `failures:\n  ${outcome.failures.join('\n  ')}\nchild exit=${outcome.exitCode} killed=${outcome.killed}\nchild stderr (tail):\n${outcome.stderr}`;

  try {
    for (let run = 1; run <= scenario.cycles; run++) {
      const before = scenario.powerLoss ? snapshotFiles(storeDir) : null;
      const syncLogPath = join(workDir, `sync-${run}.log`);
      const killPlan: KillPlan = random() < 0.15 ? { afterSpawnMs: randomInt(random, 10, 250) } : { afterReadyMs: randomInt(random, 50, 400) };
      // Every 10th run (and every run of a short loop) checks the whole store; the others its recent part.
      const fullCheck = scenario.cycles <= 20 || run % 10 === 0;
      const args = [...commonArgs, '--run', String(run), '--full-check', fullCheck ? '1' : '0', ...(scenario.powerLoss ? ['--sync-log', syncLogPath] : [])];
      const outcome = await runChild(args, killPlan);
      assert.equal(outcome.failures.length, 0, describe(run, outcome));
      assert.ok(outcome.killed, `${describe(run, outcome)}\nthe child exited by itself`);
      if (!outcome.ready) result.killsBeforeReady++;

      if (outcome.verified) {
        // The child found these acknowledged messages gone, as the power cut allowed: drop them.
        let removed = 0;
        for (const lost of outcome.lost) if (register.delete(`${lost.run} ${lost.seq}`)) removed++;
        result.lostAcks += removed;
        mayLose.clear();
        if (removed > 0) scenario.log(`run ${run}: ${removed} acknowledged messages lost with the unflushed tail (allowed by ${scenario.flushDiskType})`);
      }
      checkOffsetsContinue(register, outcome.acks, describe(run, outcome));
      for (const ack of outcome.acks) register.set(`${ack.run} ${ack.seq}`, ack);
      result.acked += outcome.acks.length;
      writeFileSync(acksPath, [...register.values()].map(formatAck).join(''));

      if (before !== null) {
        const cut = applyPowerCut(storeDir, before, readSyncLog(syncLogPath));
        const durableEnd = durableCommitLogEnd(storeDir, scenario.segmentBytes);
        let beyond = 0;
        for (const [key, ack] of register) {
          if (ack.endOffset <= durableEnd) continue;
          beyond++;
          if (scenario.flushDiskType === 'SYNC_FLUSH') {
            assert.fail(`${scenario.name} seed=${scenario.seed} run=${run}: r${ack.run}-s${ack.seq} was acknowledged under SYNC_FLUSH but ends at ${ack.endOffset}, past the last synced commit-log byte ${durableEnd}`);
          }
          mayLose.add(key);
        }
        writeFileSync(mayLosePath, [...mayLose].map((key) => `${key}\n`).join(''));
        let torn = '';
        if (random() < scenario.tornTailProbability) {
          const description = appendTornTail(storeDir, scenario.segmentBytes, durableEnd, random);
          if (description !== null) {
            result.tornTails++;
            torn = `; torn tail: ${description}`;
          }
        }
        scenario.log(
          `run ${run}: ${outcome.acks.length} acks; power cut undid ${cut.undoneWrites} writes, cut ${cut.truncatedFiles} files, removed ${cut.removedFiles}; ` +
            `durable log end ${durableEnd}, ${beyond} acks past it${torn}`,
        );
      }
      if (before === null) {
        const when = outcome.ready ? 'while appending' : 'during recovery';
        scenario.log(`run ${run}: killed ${when}; ${outcome.acks.length} acks, ${register.size} acknowledged messages on record`);
      }
      rmSync(syncLogPath, { force: true });
      rmSync(`${syncLogPath}.undo`, { force: true });
    }

    // A last child recovers from the last kill, checks, and shuts down cleanly.
    const final = await runChild([...commonArgs, '--run', String(scenario.cycles + 1), '--mode', 'verify'], null);
    assert.equal(final.failures.length, 0, describe(scenario.cycles + 1, final));
    assert.ok(final.closed && final.exitCode === 0, describe(scenario.cycles + 1, final));
    for (const lost of final.lost) if (register.delete(`${lost.run} ${lost.seq}`)) result.lostAcks++;

    // And this process reopens the cleanly closed store and checks once more, in-process.
    const errors: string[] = [];
    const store = await MessageStore.open({ storePathRootDir: storeDir, mappedFileSizeCommitLog: scenario.segmentBytes, consumeQueueEntriesPerFile: 1000 }, { logger: capturingLogger(errors) });
    try {
      const report = verifyStore(store, [...register.values()]);
      assert.equal(report.failureCount, 0, `${scenario.name} seed=${scenario.seed} final in-process check:\n  ${report.failures.join('\n  ')}`);
      assert.equal(report.verifiedAcks, register.size);
      assert.ok(report.records >= register.size);
      result.records = report.records;
    } finally {
      await store.close();
    }
    assert.deepEqual(errors, [], 'the store logged errors on a clean reopen');
    result.survivingAcks = register.size;
    rmSync(workDir, { recursive: true, force: true });
    return result;
  } catch (error) {
    scenario.log(`store kept for inspection: ${storeDir}`);
    throw error;
  }
}

/**
 * A new run must continue every queue after the highest acknowledged offset of all earlier runs: a
 * recovered store that hands out an acknowledged offset again would overwrite a message in the
 * consumers' eyes.
 */
function checkOffsetsContinue(register: ReadonlyMap<string, Ack>, newAcks: readonly Ack[], context: string): void {
  const previousMax = new Map<string, number>();
  for (const ack of register.values()) {
    const name = queueName(ack.topic, ack.queueId);
    previousMax.set(name, Math.max(previousMax.get(name) ?? -1, ack.queueOffset));
  }
  const seenOffsets = new Set<string>();
  for (const ack of newAcks) {
    const name = queueName(ack.topic, ack.queueId);
    const before = previousMax.get(name) ?? -1;
    assert.ok(ack.queueOffset > before, `${context}\nr${ack.run}-s${ack.seq} got ${name}@${ack.queueOffset}, but an earlier run's acknowledged message holds offset ${before}`);
    const key = `${name}@${ack.queueOffset}`;
    assert.ok(!seenOffsets.has(key), `${context}\n${key} acknowledged twice in one run`);
    seenOffsets.add(key);
  }
}

/** A logger that records warn/error lines (tests assert on them). */
export function capturingLogger(errors: string[], warnings: string[] = []): Logger {
  const record = (target: string[]) => (first: unknown, second?: unknown): void => {
    target.push(typeof first === 'string' ? first : `${typeof second === 'string' ? second : ''} ${JSON.stringify(first)}`);
  };
  const noop = (): void => {};
  return { debug: noop, info: noop, warn: record(warnings), error: record(errors) } as Logger;
}
