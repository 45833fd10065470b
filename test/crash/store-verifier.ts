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
 * With `window`, the same checks run over the recent part of the store only.
 */
import { isTideError } from '../../src/common/errors.js';
import { decodeRecord, encodeRecord, type DecodedRecord } from '../../src/protocol/message-record.js';
import type { MessageStoreApi } from '../../src/store/types.js';
import { buildAppendInput, queueName, runSeqOfProperties, seededRandom, type Ack } from './crash-workload.js';

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
  /**
   * Checks only the recent part of a large store, so a long crash loop stays linear: the
   * acknowledgements of runs >= fromRun plus `sampleOlder` older ones picked by `seed`, and each
   * consume queue from the lowest offset among them (or its last `tailEntries` entries). Absent:
   * everything is checked.
   */
  window?: { fromRun: number; sampleOlder: number; seed: number; tailEntries: number };
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
}

interface Located {
  run: number;
  seq: number;
  physicalOffset: number;
}

export function verifyStore(store: MessageStoreApi, acks: readonly Ack[], options: VerifyOptions = {}): VerifyReport {
  const report: VerifyReport = { failures: [], failureCount: 0, verifiedAcks: 0, lost: [], records: 0 };
  const fail = (text: string): void => {
    report.failureCount++;
    if (report.failures.length < MAX_REPORTED_FAILURES) report.failures.push(text);
  };

  const checked = options.window === undefined ? acks : pickWindow(acks, options.window, options.mayLose);
  const scanFrom = new Map<string, number>();
  if (options.window !== undefined) {
    for (const ack of checked) {
      const name = queueName(ack.topic, ack.queueId);
      scanFrom.set(name, Math.min(scanFrom.get(name) ?? Number.MAX_SAFE_INTEGER, ack.queueOffset));
    }
  }

  // Pass 1: read the consume queues (end to end, or their recent part).
  const byQueue = new Map<string, Map<number, Located>>();
  const seenMessages = new Map<string, string>();
  const seenPhysical = new Set<number>();
  // A copy: the store's own map must not grow with the queues only the acknowledgements name.
  const queues = new Map<string, number[]>();
  for (const [topic, queueIds] of store.listQueues()) queues.set(topic, [...queueIds]);
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
      if (minOffset !== 0 && maxOffset > 0) fail(`${name}: min offset ${minOffset}, expected 0 (nothing is deleted in these tests)`);
      let queueOffset = minOffset;
      if (options.window !== undefined) {
        queueOffset = Math.max(minOffset, Math.min(scanFrom.get(name) ?? maxOffset, maxOffset - options.window.tailEntries));
      }
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
  for (const ack of checked) {
    const name = queueName(ack.topic, ack.queueId);
    const what = `acked r${ack.run}-s${ack.seq} (${name}@${ack.queueOffset}, physical ${ack.physicalOffset})`;
    const located = byQueue.get(name)?.get(ack.queueOffset) ?? locateDirectly(store, ack, fail);
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

/**
 * The acknowledgements a windowed check looks at: the recent runs, every one a power cut may have
 * taken (the parent forgets that list after this check), and a seeded sample of the rest.
 */
function pickWindow(acks: readonly Ack[], window: { fromRun: number; sampleOlder: number; seed: number }, mayLose?: (ack: Ack) => boolean): Ack[] {
  const isRecent = (ack: Ack): boolean => ack.run >= window.fromRun || (mayLose?.(ack) ?? false);
  const recent = acks.filter(isRecent);
  const older = acks.filter((ack) => !isRecent(ack));
  const random = seededRandom(window.seed);
  for (let index = 0; index < window.sampleOlder && older.length > 0; index++) {
    recent.push(older[Math.floor(random() * older.length)]!);
  }
  return recent;
}

/** Finds an acknowledged message outside the scanned part of its queue through its consume-queue entry. */
function locateDirectly(store: MessageStoreApi, ack: Ack, fail: (text: string) => void): Located | undefined {
  const entry = store.getConsumeQueueEntry(ack.topic, ack.queueId, ack.queueOffset);
  if (entry === null) return undefined;
  const record = readByPhysicalOffset(store, entry.physicalOffset).record;
  if (record === null) return undefined;
  const where = `${queueName(ack.topic, ack.queueId)}@${ack.queueOffset}`;
  const found = checkWorkloadRecord(record, fail, where);
  if (found === null) return undefined;
  if (found.queueOffset !== ack.queueOffset) fail(`${where}: record has QUEUEOFFSET ${found.queueOffset}`);
  return { run: found.run, seq: found.seq, physicalOffset: found.physicalOffset };
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
