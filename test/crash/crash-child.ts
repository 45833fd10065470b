/**
 * The child process of the crash tests. It opens (and so recovers) a store, checks it against every
 * acknowledgement the parent has collected so far, then appends workload messages at a random
 * concurrency until it is killed, printing an ack line for each append that became durable (see
 * crash-workload.ts for the line format).
 *
 *   node crash-child.js --dir <store> --run <n> --seed <n> --flush SYNC_FLUSH|ASYNC_FLUSH
 *        [--segment-bytes <n>] [--acks <file>] [--may-lose <file>] [--sync-log <file>] [--mode write|verify]
 *        [--full-check 1|0]
 *
 * --sync-log installs fs-sync-recorder.ts before the store is imported (power-loss simulation).
 * --may-lose lists `run seq` of acknowledged messages a power cut may have taken (ASYNC_FLUSH).
 * --mode verify opens, checks and closes cleanly instead of writing.
 * --full-check 0 checks only the recent part of the store (long loops; see VerifyOptions.window).
 * Exit codes: 0 verified and closed (verify mode), 1 verification failed, 2 unexpected error,
 * 3 nobody killed it within --max-seconds.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isTideError } from '../../src/common/errors.js';
import type { Logger } from '../../src/common/logger.js';
import type { MessageStoreApi } from '../../src/store/types.js';
import { buildAppendInput, formatAck, parseAck, randomInt, seededRandom, type Ack } from './crash-workload.js';
import { installSyncRecorder } from './fs-sync-recorder.js';
import { verifyStore } from './store-verifier.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    run: { type: 'string' },
    seed: { type: 'string', default: '1' },
    flush: { type: 'string', default: 'SYNC_FLUSH' },
    'segment-bytes': { type: 'string', default: String(256 * 1024) },
    'cq-entries': { type: 'string', default: '1000' },
    'flush-interval-ms': { type: 'string', default: '100' },
    acks: { type: 'string' },
    'may-lose': { type: 'string' },
    'sync-log': { type: 'string' },
    mode: { type: 'string', default: 'write' },
    'full-check': { type: 'string', default: '1' },
    'max-seconds': { type: 'string', default: '60' },
  },
});

/** Set while stdout's pipe is full: appenders wait for it, so unsent ack lines cannot pile up. */
let stdoutDrained: Promise<void> | null = null;

function out(line: string): void {
  // A line still queued in this process when it is killed never reaches the parent; the parent
  // counts only lines it received, so that message simply counts as unacknowledged.
  const flushed = process.stdout.write(line.endsWith('\n') ? line : `${line}\n`);
  if (!flushed && stdoutDrained === null) {
    stdoutDrained = once(process.stdout, 'drain').then(() => {
      stdoutDrained = null;
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function stderrLogger(run: number): Logger {
  const write = (level: string) => (first: unknown, ...rest: unknown[]): void => {
    const text = typeof first === 'string' ? first : `${JSON.stringify(first)} ${rest.length > 0 ? String(rest[0]) : ''}`;
    process.stderr.write(`[child r${run} ${level}] ${text}\n`);
  };
  const noop = (): void => {};
  return { debug: noop, info: noop, warn: write('warn'), error: write('error') } as Logger;
}

function readLines(path: string | undefined): string[] {
  if (path === undefined) return [];
  try {
    return readFileSync(path, 'utf8').split('\n').filter((line) => line.length > 0);
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  const dir = values.dir;
  const run = Number(values.run);
  if (dir === undefined || !Number.isInteger(run)) throw new Error('--dir and --run are required');
  const flushDiskType = values.flush === 'ASYNC_FLUSH' ? 'ASYNC_FLUSH' : 'SYNC_FLUSH';
  const maxSeconds = Number(values['max-seconds']);
  setTimeout(() => {
    process.stderr.write(`[child r${run}] not killed within ${maxSeconds} s, exiting\n`);
    process.exit(3);
  }, maxSeconds * 1000).unref();

  if (values['sync-log'] !== undefined) await installSyncRecorder(values['sync-log']);
  // Imported only now, so the store binds to the wrapped fs functions.
  const { MessageStore } = await import('../../src/store/message-store.js');
  const store: MessageStoreApi = await MessageStore.open(
    {
      storePathRootDir: dir,
      mappedFileSizeCommitLog: Number(values['segment-bytes']),
      consumeQueueEntriesPerFile: Number(values['cq-entries']),
      flushDiskType,
      flushIntervalCommitLog: Number(values['flush-interval-ms']),
      flushIntervalConsumeQueue: Number(values['flush-interval-ms']) * 2,
      syncFlushTimeout: 10_000,
    },
    { logger: stderrLogger(run) },
  );

  const acks = readLines(values.acks).map(parseAck).filter((ack): ack is Ack => ack !== null);
  const mayLose = new Set(readLines(values['may-lose']));
  // A full check reads everything; otherwise the last runs' messages and a sample of older ones.
  const window = values['full-check'] === '1' ? undefined : { fromRun: run - 2, sampleOlder: 2000, seed: run, tailEntries: 200 };
  const report = verifyStore(store, acks, { mayLose: (ack) => mayLose.has(`${ack.run} ${ack.seq}`), window });
  for (const ack of report.lost) out(`LOST ${ack.run} ${ack.seq}`);
  for (const failure of report.failures) out(`FAIL ${failure.replace(/\n/g, ' ')}`);
  if (report.failureCount > 0) {
    out(`FAIL ${report.failureCount} failures in total`);
    process.exit(1);
  }
  out(`VERIFIED ${report.verifiedAcks} ${report.records}`);

  if (values.mode === 'verify') {
    await store.close();
    out('CLOSED');
    return;
  }

  const random = seededRandom(Number(values.seed) ^ Math.imul(run, 0x9e3779b1));
  // ASYNC_FLUSH acknowledges at once; without a pace the store would grow by hundreds of MB a run.
  const paced = flushDiskType === 'ASYNC_FLUSH';
  const concurrency = randomInt(random, 1, paced ? 8 : 32);
  out(`READY ${concurrency}`);
  let nextSeq = 0;
  const appender = async (): Promise<void> => {
    for (;;) {
      if (stdoutDrained !== null) await stdoutDrained;
      if (paced) await sleep(1);
      const seq = nextSeq++;
      const input = buildAppendInput(run, seq);
      let result;
      try {
        result = store.append(input);
      } catch (error) {
        if (isTideError(error, 'SYSTEM_BUSY')) {
          await sleep(1);
          continue;
        }
        throw error;
      }
      const status = await store.waitDurable(result.endOffset);
      if (status !== 'PUT_OK') continue;
      out(
        formatAck({
          run,
          seq,
          topic: input.topic,
          queueId: input.queueId,
          queueOffset: result.queueOffset,
          physicalOffset: result.physicalOffset,
          size: result.size,
          endOffset: result.endOffset,
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, appender));
}

main().catch((error: unknown) => {
  process.stderr.write(`[child] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  out(`FAIL unexpected error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});
