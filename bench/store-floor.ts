/**
 * The "floor" of the store benchmark: the least work per message that RocketMQ's record format
 * forces on whoever writes it, measured on the same disk and in the same run as the store.
 *
 * For every 1 KiB body: copy it into a reused 1 MiB buffer at a record-sized stride (so the bytes
 * land where a record's body would) and compute zlib.crc32 over the copy (the record's BODYCRC);
 * `writeSync` the buffer once it is full. Once without fsync, once with `fdatasync` per 1 MiB. No
 * headers, no consume queue, no index, no promises: what remains is what no encoding can avoid.
 *
 * `floorWithCrcWorker` tries whether moving the CRC to a worker thread raises the floor on this
 * machine: the main thread copies bodies into one of several shared 1 MiB buffers and writes the
 * buffers the worker has finished; the worker computes every body CRC of a buffer and stores it in
 * the record's BODYCRC field. Main and worker run in parallel, so on two idle cores the floor is
 * the slower of the two instead of their sum.
 */
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { crc32 } from 'node:zlib';

export const FLOOR_BLOCK_BYTES = 1024 * 1024;
/** The floor file wraps around here so a fast disk does not fill up. */
const FLOOR_FILE_LIMIT_BYTES = 2 * 1024 * 1024 * 1024;
/** Where BODYCRC sits in a record. */
const BODY_CRC_POSITION = 8;
/** Shared buffers in flight between the main thread and the CRC worker. */
const WORKER_RING_BUFFERS = 4;

export interface FloorResult {
  /** Record bytes (stride × messages) per second, 10^6 bytes. */
  mbPerSecond: number;
  messagesPerSecond: number;
  /** Process CPU time (all threads) per message. */
  cpuMicrosPerMessage: number;
}

export interface FloorOptions {
  directory: string;
  durationMs: number;
  body: Buffer;
  /** Bytes of one record (header + body + topic + properties); the body sits at `bodyPosition` in it. */
  recordBytes: number;
  bodyPosition: number;
  withFdatasync: boolean;
}

/** Copy + CRC + write on the main thread alone. */
export function floorSingleThread(options: FloorOptions): FloorResult {
  const { body, recordBytes, bodyPosition } = options;
  const path = join(options.directory, options.withFdatasync ? 'floor-sync' : 'floor-buffered');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(FLOOR_BLOCK_BYTES);
  const recordsPerBlock = Math.floor(FLOOR_BLOCK_BYTES / recordBytes);
  const blockBytes = recordsPerBlock * recordBytes;
  let messages = 0;
  let position = 0;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const deadline = start + options.durationMs;
  try {
    while (performance.now() < deadline) {
      for (let record = 0, at = 0; record < recordsPerBlock; record++, at += recordBytes) {
        body.copy(block, at + bodyPosition);
        block.writeInt32BE(crc32(block.subarray(at + bodyPosition, at + bodyPosition + body.length)) & 0x7fffffff, at + BODY_CRC_POSITION);
      }
      writeFully(fd, block, blockBytes, position);
      if (options.withFdatasync) fdatasyncSync(fd);
      messages += recordsPerBlock;
      position += blockBytes;
      if (position >= FLOOR_FILE_LIMIT_BYTES) position = 0;
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  return summarize(messages, recordBytes, start, cpuBefore);
}

/** Copy + write on the main thread, CRC on a worker thread, pipelined over shared buffers. */
export async function floorWithCrcWorker(options: FloorOptions): Promise<FloorResult> {
  const { body, recordBytes, bodyPosition } = options;
  const recordsPerBlock = Math.floor(FLOOR_BLOCK_BYTES / recordBytes);
  const blockBytes = recordsPerBlock * recordBytes;
  const shared = Array.from({ length: WORKER_RING_BUFFERS }, () => new SharedArrayBuffer(FLOOR_BLOCK_BYTES));
  const blocks = shared.map((memory) => Buffer.from(memory));
  const worker = new Worker(CRC_WORKER_SOURCE, { eval: true, workerData: { shared, recordBytes, recordsPerBlock, bodyPosition, bodyBytes: body.length } });
  const path = join(options.directory, options.withFdatasync ? 'floor-worker-sync' : 'floor-worker-buffered');
  const fd = openSync(path, 'w');
  // Blocks handed to the worker, in order; it answers with the index of each finished block.
  const finished: number[] = [];
  let wake: (() => void) | null = null;
  worker.on('message', (index: number) => {
    finished.push(index);
    wake?.();
  });
  const nextFinished = async (): Promise<number> => {
    while (finished.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    wake = null;
    return finished.shift()!;
  };
  let messages = 0;
  let position = 0;
  let inFlight = 0;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const deadline = start + options.durationMs;
  const free = blocks.map((_, index) => index);
  try {
    for (;;) {
      if (free.length > 0 && performance.now() < deadline) {
        const index = free.pop()!;
        const block = blocks[index]!;
        for (let record = 0, at = 0; record < recordsPerBlock; record++, at += recordBytes) body.copy(block, at + bodyPosition);
        worker.postMessage(index);
        inFlight++;
        continue;
      }
      if (inFlight === 0) break;
      // The worker answers in the order blocks were posted, so the file is written in that order.
      const done = await nextFinished();
      inFlight--;
      writeFully(fd, blocks[done]!, blockBytes, position);
      if (options.withFdatasync) fdatasyncSync(fd);
      messages += recordsPerBlock;
      position += blockBytes;
      if (position >= FLOOR_FILE_LIMIT_BYTES) position = 0;
      free.push(done);
    }
  } finally {
    await worker.terminate();
    closeSync(fd);
    rmSync(path, { force: true });
  }
  return summarize(messages, recordBytes, start, cpuBefore);
}

/**
 * The worker: for each block index it receives, CRC every body and store it as BODYCRC. Evaluated
 * from source so the benchmark needs no second compiled file.
 */
const CRC_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { crc32 } = require('node:zlib');
const { shared, recordBytes, recordsPerBlock, bodyPosition, bodyBytes } = workerData;
const blocks = shared.map((memory) => Buffer.from(memory));
parentPort.on('message', (index) => {
  const block = blocks[index];
  for (let record = 0, at = 0; record < recordsPerBlock; record++, at += recordBytes) {
    block.writeInt32BE(crc32(block.subarray(at + bodyPosition, at + bodyPosition + bodyBytes)) & 0x7fffffff, at + ${BODY_CRC_POSITION});
  }
  parentPort.postMessage(index);
});
`;

function writeFully(fd: number, block: Buffer, length: number, position: number): void {
  let written = 0;
  while (written < length) written += writeSync(fd, block, written, length - written, position + written);
}

function summarize(messages: number, recordBytes: number, start: number, cpuBefore: NodeJS.CpuUsage): FloorResult {
  const elapsedSeconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    mbPerSecond: (messages * recordBytes) / 1_000_000 / elapsedSeconds,
    messagesPerSecond: messages / elapsedSeconds,
    cpuMicrosPerMessage: (cpu.user + cpu.system) / Math.max(1, messages),
  };
}
