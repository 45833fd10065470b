/**
 * Checks a recovered store against the acknowledgements of the crash workload. Used by the child
 * right after it opens the store (so recovery after a kill is checked in the process that recovered)
 * and by the test process for the final check. It collects failures instead of throwing, so one run
 * reports everything it finds.
 *
 * What it proves:
 *  - every acknowledged message is readable by physical offset and by (topic, queue, queue offset),
 *    byte-identical to the record recomputed from (run, seq), at the acknowledged offsets;
 *  - every consume queue is dense: offsets min..max-1 are all readable, each entry's record carries
 *    that QUEUEOFFSET, its topic and queue, and is itself a valid workload message (unacknowledged
 *    survivors of a crash are fine, but they must be whole);
 *  - no message (run, seq) appears twice anywhere, and no physical offset is used twice.
 */
import { isTideError } from '../../src/common/errors.js';
import { decodeRecord, encodeRecord, type DecodedRecord } from '../../src/protocol/message-record.js';
import type { MessageStoreApi } from '../../src/store/types.js';
import { buildAppendInput, queueName, runSeqOfProperties, type Ack } from './crash-workload.js';

/** Failures kept per verification; past this only the count grows. */
const MAX_REPORTED_FAILURES = 25;
const READ_BATCH_MESSAGES = 32;
const READ_BATCH_BYTES = 4 * 1024 * 1024;

export interface VerifyOptions {
  /**
   * ASYNC_FLUSH power loss: true for acknowledged messages a power cut may have taken (their record
   * ended past the durable end of the commit log). Absent: every acknowledged message must be there.
   */
  mayLose?: (ack: Ack) => boolean;
}

export interface VerifyReport {
  failures: string[];
  failureCount: number;
  /** Acknowledged messages found intact. */
  verifiedAcks: number;
  /** Acknowledged messages missing but allowed to be (see VerifyOptions.mayLose). */
  lost: Ack[];
  /** Records read through the consume queues. */
  records: number;
  /** Next queue offset per queue (`topic/queueId`), as the store reports it. */
  maxOffsets: Map<string, number>;
}

interface Located {
  run: number;
  seq: number;
  physicalOffset: number;
}

export function verifyStore(store: MessageStoreApi, acks: readonly Ack[], options: VerifyOptions = {}): VerifyReport {
  const report: VerifyReport = { failures: [], failureCount: 0, verifiedAcks: 0, lost: [], records: 0, maxOffsets: new Map() };
  const fail = (text: string): void => {
    report.failureCount++;
    if (report.failures.length < MAX_REPORTED_FAILURES) report.failures.push(text);
  };

  // Pass 1: read every consume queue end to end.
  const byQueue = new Map<string, Map<number, Located>>();
  const seenMessages = new Map<string, string>();
  const seenPhysical = new Set<number>();
  const queues = store.listQueues();
  for (const ack of acks) {
    const ids = queues.get(ack.topic) ?? [];
    if (!ids.includes(ack.queueId)) {
      ids.push(ack.queueId);
      queues.set(ack.topic, ids);
    }
  }
  for (const [topic, queueIds] of queues) {
    for (const queueId of queueIds) {
      const name = queueName(topic, queueId);
      const located = new Map<number, Located>();
      byQueue.set(name, located);
      const minOffset = store.getMinOffsetInQueue(topic, queueId);
      const maxOffset = store.getMaxOffsetInQueue(topic, queueId);
      report.maxOffsets.set(name, maxOffset);
      if (minOffset !== 0 && maxOffset > 0) fail(`${name}: min offset ${minOffset}, expected 0 (nothing is deleted in these tests)`);
      let queueOffset = minOffset;
      while (queueOffset < maxOffset) {
        const result = store.getMessages(topic, queueId, queueOffset, READ_BATCH_MESSAGES, READ_BATCH_BYTES);
        if (result.status !== 'FOUND' || result.records.length === 0) {
          fail(`${name}: getMessages at ${queueOffset} of [${minOffset}, ${maxOffset}) answered ${result.status} with ${result.records.length} records`);
          // Skip the hole so the rest of the queue is still checked.
          queueOffset++;
          continue;
        }
        for (let index = 0; index < result.records.length; index++) {
          const expectedOffset = queueOffset + index;
          const record = result.records[index]!;
          if (result.queueOffsets[index] !== expectedOffset) {
            fail(`${name}: getMessages at ${queueOffset} returned queue offset ${result.queueOffsets[index]} in place ${index} (gap or duplicate)`);
          }
          const checked = checkWorkloadRecord(record, fail, `${name}@${expectedOffset}`);
          if (checked === null) continue;
          if (checked.queueOffset !== expectedOffset) fail(`${name}@${expectedOffset}: record has QUEUEOFFSET ${checked.queueOffset}`);
          if (checked.topic !== topic || checked.queueId !== queueId) fail(`${name}@${expectedOffset}: record belongs to ${checked.topic}/${checked.queueId}`);
          const entry = store.getConsumeQueueEntry(topic, queueId, expectedOffset);
          if (entry === null || entry.physicalOffset !== checked.physicalOffset || entry.size !== record.length) {
            fail(`${name}@${expectedOffset}: consume-queue entry ${JSON.stringify(entry)} disagrees with record at ${checked.physicalOffset} (${record.length} B)`);
          }
          const messageId = `${checked.run}:${checked.seq}`;
          const previous = seenMessages.get(messageId);
          if (previous !== undefined) fail(`message ${messageId} stored twice: ${previous} and ${name}@${expectedOffset}`);
          seenMessages.set(messageId, `${name}@${expectedOffset}`);
          if (seenPhysical.has(checked.physicalOffset)) fail(`physical offset ${checked.physicalOffset} referenced twice`);
          seenPhysical.add(checked.physicalOffset);
          located.set(expectedOffset, { run: checked.run, seq: checked.seq, physicalOffset: checked.physicalOffset });
          report.records++;
        }
        queueOffset += result.records.length;
      }
    }
  }

  // Pass 2: every acknowledged message, by queue offset (from pass 1) and by physical offset.
  for (const ack of acks) {
    const name = queueName(ack.topic, ack.queueId);
    const what = `acked r${ack.run}-s${ack.seq} (${name}@${ack.queueOffset}, physical ${ack.physicalOffset})`;
    const located = byQueue.get(name)?.get(ack.queueOffset);
    const physical = readByPhysicalOffset(store, ack.physicalOffset);
    const intactInQueue = located !== undefined && located.run === ack.run && located.seq === ack.seq && located.physicalOffset === ack.physicalOffset;
    const intactPhysical = physical.record !== null && physical.record.length === ack.size && isExpectedRecord(physical.record, ack);
    if (intactInQueue && intactPhysical) {
      report.verifiedAcks++;
      continue;
    }
    const mayLose = options.mayLose?.(ack) ?? false;
    // A lost message must be gone entirely; a half-there message is never fine.
    const gone = (located === undefined || located.run !== ack.run || located.seq !== ack.seq) && !intactPhysical;
    if (mayLose && gone) {
      report.lost.push(ack);
      continue;
    }
    if (!intactInQueue) {
      const found = located === undefined ? 'nothing' : `r${located.run}-s${located.seq} at physical ${located.physicalOffset}`;
      fail(`${what}: consume queue has ${found}`);
    }
    if (!intactPhysical) fail(`${what}: readRecord gave ${physical.error ?? (physical.record === null ? 'null' : `a different record of ${physical.record.length} B`)}`);
  }
  return report;
}

function readByPhysicalOffset(store: MessageStoreApi, physicalOffset: number): { record: Buffer | null; error?: string } {
  try {
    return { record: store.readRecord(physicalOffset) };
  } catch (error) {
    if (isTideError(error)) return { record: null, error: `${error.code}: ${error.message}` };
    throw error;
  }
}

function isExpectedRecord(record: Buffer, ack: Ack): boolean {
  const decoded = decodeRecord(record);
  if (decoded === null) return false;
  const identity = runSeqOfProperties(decoded.properties);
  if (identity === null || identity.run !== ack.run || identity.seq !== ack.seq) return false;
  if (decoded.queueOffset !== ack.queueOffset || decoded.physicalOffset !== ack.physicalOffset) return false;
  return expectedBytes(identity.run, identity.seq, decoded).equals(record);
}

function expectedBytes(run: number, seq: number, decoded: DecodedRecord): Buffer {
  return encodeRecord(buildAppendInput(run, seq), decoded.queueOffset, decoded.physicalOffset, decoded.storeTimestamp);
}

/**
 * Decodes a record and checks it is exactly the workload message its KEYS names (the offsets and the
 * store timestamp are the store's; everything else is recomputed). Returns the decoded identity or
 * null after reporting.
 */
export function checkWorkloadRecord(
  record: Buffer,
  fail: (text: string) => void,
  where: string,
): { run: number; seq: number; topic: string; queueId: number; queueOffset: number; physicalOffset: number } | null {
  const decoded = decodeRecord(record);
  if (decoded === null || decoded.totalSize !== record.length) {
    fail(`${where}: record of ${record.length} B does not decode`);
    return null;
  }
  const identity = runSeqOfProperties(decoded.properties);
  if (identity === null) {
    fail(`${where}: record has no workload KEYS (properties ${JSON.stringify(decoded.properties.slice(0, 80))})`);
    return null;
  }
  if (!expectedBytes(identity.run, identity.seq, decoded).equals(record)) {
    fail(`${where}: record r${identity.run}-s${identity.seq} differs from the message it names`);
    return null;
  }
  return { ...identity, topic: decoded.topic, queueId: decoded.queueId, queueOffset: decoded.queueOffset, physicalOffset: decoded.physicalOffset };
}
