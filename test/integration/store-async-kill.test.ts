// Proves DESIGN.md's ASYNC_FLUSH promise: a child process appends with ASYNC_FLUSH and prints each acknowledgement (after waitDurable, where the broker answers SEND_OK); killed with SIGKILL right after some acknowledgements, again and again, the reopened store holds every acknowledged record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHostAddress } from '../../src/protocol/host-address.js';
import { decodeRecord } from '../../src/protocol/message-record.js';
import { MessageStore } from '../../src/store/message-store.js';
import type { StoreConfig } from '../../src/store/store-config.js';
import type { AppendInput } from '../../src/store/types.js';

const CHILD_ENV = 'TIDEMQ_ASYNC_KILL_CHILD';
const TOPIC = 'AsyncKill';
const QUEUES = 4;
const APPENDERS = 8;
const BODY_BYTES = 1024;
const CYCLES = 6;
/** Small segments, so roll-overs happen under the kill too. */
const STORE_CONFIG = { mappedFileSizeCommitLog: 256 * 1024, flushDiskType: 'ASYNC_FLUSH', flushIntervalConsumeQueue: 200, maxHashSlotNum: 1000, maxIndexNum: 4000 } as const satisfies Partial<StoreConfig>;

const bornHost = parseHostAddress('127.0.0.1', 40000);
const storeHost = parseHostAddress('127.0.0.1', 10911);

function inputFor(id: string, queueId: number): AppendInput {
  const body = Buffer.alloc(BODY_BYTES, 0x2e);
  body.write(`${id}|`);
  return {
    topic: TOPIC, queueId, flag: 0, sysFlag: 0, bornTimestamp: Date.now(), bornHost, storeHost, reconsumeTimes: 0,
    preparedTransactionOffset: 0, body, properties: '', tagsCode: 0, keys: [],
  };
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Writes a line to fd 1 synchronously; the pipe is non-blocking, so a full pipe is waited out. */
function printSync(line: string): void {
  const bytes = Buffer.from(line);
  for (let written = 0; written < bytes.length; ) {
    try {
      written += writeSync(1, bytes, written, bytes.length - written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 1); // the parent is reading; try again in a millisecond
    }
  }
}

/** The child: appenders that print `ACK <id>` to fd 1 (a synchronous write) once each append is acknowledged. */
async function runChild(root: string, cycle: string): Promise<void> {
  const store = await MessageStore.open({ storePathRootDir: root, ...STORE_CONFIG });
  const appender = async (appenderIndex: number): Promise<void> => {
    for (let sequence = 0; ; sequence++) {
      const id = `c${cycle}-a${appenderIndex}-${sequence}`;
      const result = store.append(inputFor(id, appenderIndex % QUEUES));
      const status = await store.waitDurable(result.endOffset);
      if (status !== 'PUT_OK') throw new Error(`unexpected ${status}`);
      printSync(`ACK ${id}\n`);
      // As a broker does between requests: other work (timers, I/O) gets the event loop now and then.
      if (sequence % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
    }
  };
  await Promise.all(Array.from({ length: APPENDERS }, (_, index) => appender(index)));
}

/** Runs a child until `killAfterAcks` acknowledgements arrived, SIGKILLs it and returns the ids it acknowledged. */
function runAndKill(root: string, cycle: number, killAfterAcks: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { ...process.env, [CHILD_ENV]: '1', TIDEMQ_ROOT: root, TIDEMQ_CYCLE: String(cycle) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked: string[] = [];
    let pending = '';
    let stderr = '';
    let killed = false;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) if (line.startsWith('ACK ')) acked.push(line.slice(4));
      if (!killed && acked.length >= killAfterAcks) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child ended with code ${code} signal ${signal}: ${stderr}`));
      else resolve(acked);
    });
  });
}

/** Every id stored in the topic, in queue order. */
function storedIds(store: MessageStore): string[] {
  const ids: string[] = [];
  for (let queueId = 0; queueId < QUEUES; queueId++) {
    let offset = store.getMinOffsetInQueue(TOPIC, queueId);
    for (;;) {
      const result = store.getMessages(TOPIC, queueId, offset, 512, 8 * 1024 * 1024);
      if (result.records.length === 0) break;
      for (const record of result.records) {
        const body = decodeRecord(record)!.body;
        ids.push(body.toString('latin1', 0, body.indexOf(0x7c)));
      }
      offset = result.nextBeginOffset;
    }
  }
  return ids;
}

if (process.env[CHILD_ENV] === '1') {
  await runChild(process.env.TIDEMQ_ROOT!, process.env.TIDEMQ_CYCLE!);
} else {
  test('ASYNC_FLUSH: every acknowledged append survives SIGKILL of the process', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tidemq-async-kill-'));
    try {
      const everAcked: string[] = [];
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        // Kill at a different point each cycle: a few hundred to a few thousand acknowledgements in.
        const acked = await runAndKill(root, cycle, 200 + ((cycle * 997) % 2500));
        assert.ok(acked.length > 0, 'the child acknowledged appends before it was killed');
        everAcked.push(...acked);
        const store = await MessageStore.open({ storePathRootDir: root, ...STORE_CONFIG });
        try {
          assert.equal(store.recovery.abnormal, true, 'the kill left the abort marker');
          const stored = new Set<string>();
          for (const id of storedIds(store)) {
            assert.equal(stored.has(id), false, `${id} is stored once`);
            stored.add(id);
          }
          const lost = everAcked.filter((id) => !stored.has(id));
          assert.deepEqual(lost.slice(0, 10), [], `cycle ${cycle}: ${lost.length} of ${everAcked.length} acknowledged appends lost`);
        } finally {
          await store.close();
        }
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}
