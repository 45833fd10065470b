/**
 * The persisted progress of the transaction service, `<storePathRootDir>/config/transactionProgress.json`
 * (written whole to a temp file, fdatasync'ed and renamed; see durable-json-file.ts):
 *
 *   {"halfOffset": 120, "opOffset": 97, "checkTimes": {"121": 2, "125": 1}}
 *
 * - halfOffset: every half message below this RMQ_SYS_TRANS_HALF_TOPIC queue-0 offset is finished.
 * - opOffset: the RMQ_SYS_TRANS_OP_HALF_TOPIC queue-0 offset from which the op records are read again
 *   at start; every op record below it only names halves below halfOffset.
 * - checkTimes: how many checks were sent for each half still open (halves never checked are absent).
 *
 * RocketMQ keeps the first two as consumer offsets of group CID_RMQ_SYS_TRANS and counts checks by
 * re-appending the half with TRANSACTION_CHECK_TIMES raised; TideMQ keeps one small file instead, so a
 * half message is stored once and its offsets never change while it is open. After a crash the file
 * may lag the log: the op records written since are read again (idempotent) and a few checks may be
 * sent once more (the producer answers the same).
 */
import { join } from 'node:path';
import { DurableJsonFile } from '../durable-json-file.js';

export interface TransactionProgress {
  halfOffset: number;
  opOffset: number;
  checkTimes: Map<number, number>;
}

function isOffset(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Parses the file content; fields that are missing or malformed come back as undefined / empty. */
export function parseTransactionProgress(content: unknown): { halfOffset: number | undefined; opOffset: number | undefined; checkTimes: Map<number, number> } {
  const checkTimes = new Map<number, number>();
  if (typeof content !== 'object' || content === null) return { halfOffset: undefined, opOffset: undefined, checkTimes };
  const record = content as Record<string, unknown>;
  const table = record.checkTimes;
  if (typeof table === 'object' && table !== null) {
    for (const [key, value] of Object.entries(table as Record<string, unknown>)) {
      const offset = Number(key);
      if (isOffset(offset) && isOffset(value) && value > 0) checkTimes.set(offset, value);
    }
  }
  return {
    halfOffset: isOffset(record.halfOffset) ? record.halfOffset : undefined,
    opOffset: isOffset(record.opOffset) ? record.opOffset : undefined,
    checkTimes,
  };
}

export function encodeTransactionProgress(progress: TransactionProgress): Record<string, unknown> {
  const checkTimes: Record<string, number> = {};
  for (const [offset, times] of [...progress.checkTimes].sort((a, b) => a[0] - b[0])) checkTimes[String(offset)] = times;
  return { halfOffset: progress.halfOffset, opOffset: progress.opOffset, checkTimes };
}

export function transactionProgressFile(storePathRootDir: string, snapshot: () => TransactionProgress): DurableJsonFile {
  return new DurableJsonFile(join(storePathRootDir, 'config', 'transactionProgress.json'), () => encodeTransactionProgress(snapshot()));
}
