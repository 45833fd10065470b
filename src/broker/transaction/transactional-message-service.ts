/**
 * Transactional messages on the broker: half messages, END_TRANSACTION and the check-back of open halves.
 *
 * - prepare: a TRAN_MSG send is stored once as a half message in RMQ_SYS_TRANS_HALF_TOPIC queue 0
 *   (half-message.ts); the real topic shows nothing until the commit. Its half-queue offset is the transaction's
 *   identity for the rest of its life: TideMQ never re-appends a half (RocketMQ does, to count checks).
 * - endTransaction: commit stores the real message (through the MessageWriter, so a delay level on the
 *   message applies from the commit) and then an op record naming the half; rollback stores only the op
 *   record. Both append in one synchronous step, so no other request runs in between. A half that is
 *   already finished makes a second commit or rollback a no-op, which is what makes END_TRANSACTION
 *   idempotent (RocketMQ would deliver a duplicate commit twice).
 * - check pass: every transactionCheckInterval the open halves are visited in offset order; a half older
 *   than transactionTimeOut (or its CHECK_IMMUNITY_TIME_IN_SECONDS) is checked with
 *   CHECK_TRANSACTION_STATE on one live connection of its producer group (PGROUP); the producer answers
 *   with END_TRANSACTION. Only checks actually sent are counted (RocketMQ counts a check even when no
 *   producer is online, which discards transactions during a producer outage). After transactionCheckMax
 *   checks the half is discarded (logged, copied to TRANS_CHECK_MAX_TIME_TOPIC, op record written) or,
 *   with transactionDiscardAfterCheckMax=false, kept and checked again every pass. Halves older than
 *   fileReservedTime, or more than MAX_OPEN_WINDOW halves behind the newest, are discarded whatever the
 *   mode, so the memory of the finished-offset window stays bounded.
 *
 * Which halves are finished lives in memory as a bit window (resolved-offsets.ts). At start it is
 * rebuilt from the op records from the persisted op offset on (transaction-progress-file.ts), so every
 * state survives a restart or a kill -9: an open half is checked again, a finished one stays finished.
 * One crash window remains between the append of a committed message and that of its op record (or
 * after an op append failed): for halves stored before this start the broker looks the committed
 * message up in the key index (UNIQ_KEY, PREPARED_TRANSACTION_OFFSET = the half's commit-log offset)
 * before it commits again or checks, and only restores the op record when it finds one.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { isTideError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/logger.js';
import type { HostAddress } from '../../protocol/host-address.js';
import { createOffsetMessageId } from '../../protocol/message-id.js';
import { getProperty, MessageProperty } from '../../protocol/message-properties.js';
import { decodeRecord, SysFlag, TRANSACTION_TYPE_MASK, type DecodedRecord } from '../../protocol/message-record.js';
import { Perm } from '../../protocol/route-data.js';
import type { AppendResult, MessageStoreApi } from '../../store/types.js';
import type { BrokerConfig } from '../broker-config.js';
import type { DurableJsonFile } from '../durable-json-file.js';
import type { MessageWriter, OutgoingMessage } from '../message-writer.js';
import type { ProducerManager } from '../producer-manager.js';
import { TIMER_TOPIC } from '../timer/timer-properties.js';
import type { TopicConfigManager } from '../topic-config-manager.js';
import { SystemTopic } from '../topic-names.js';
import {
  checkRequestOf,
  committedMessageOf,
  discardedCopyInput,
  HALF_QUEUE_ID,
  halfAppendInput,
  OP_QUEUE_ID,
  opAppendInput,
} from './half-message.js';
import { decodeOpBody } from './op-body.js';
import { ResolvedOffsets } from './resolved-offsets.js';
import { parseTransactionProgress, transactionProgressFile, type TransactionProgress } from './transaction-progress-file.js';
import { transactionSettingsOf, type TransactionSettings } from './transaction-settings.js';

/** Open halves examined (record read) per pass; the rest wait for the next pass. */
const MAX_EXAMINED_PER_PASS = 20_000;
/** The pass yields to the event loop after this many record reads, so requests keep flowing. */
const EXAMINED_PER_YIELD = 256;
/** ... and after this many finished offsets skipped. */
const STEPS_PER_YIELD = 65_536;
/** A half this many offsets behind the newest is given up: the bit window stays ≤ 4 MiB. */
export const MAX_OPEN_WINDOW = 2 ** 25;
/** (half max, op max) samples kept to move the persisted op offset forward. */
const MAX_CHECKPOINTS = 1024;
/** Op records read per store call during the rebuild. */
const OP_SCAN_BATCH = 256;
const OP_SCAN_BATCH_BYTES = 1024 * 1024;
/** Committed copies looked at per key-index query (a UNIQ_KEY is normally unique). */
const COMMIT_LOOKUP_MAX = 32;

export interface TransactionalMessageServiceOptions {
  store: MessageStoreApi;
  /** Commits go through the writer, like every message the broker stores on a real topic. */
  writer: MessageWriter;
  /** Live settings: the transaction keys are re-read before every pass. */
  config: BrokerConfig;
  producerManager: Pick<ProducerManager, 'pickConnection'>;
  topicConfigManager: Pick<TopicConfigManager, 'createTopicInSendMessageBackMethod'>;
  /** The advertised broker address (known only once the broker listens). */
  storeHost: () => HostAddress;
  logger?: Logger;
  now?: () => number;
}

export interface EndTransactionRequest {
  producerGroup: string;
  /** The half's queue offset in RMQ_SYS_TRANS_HALF_TOPIC queue 0. */
  tranStateTableOffset: number;
  /** The half's commit-log offset. */
  commitLogOffset: number;
  /** SysFlag.TRANSACTION_COMMIT (8) or SysFlag.TRANSACTION_ROLLBACK (12). */
  commitOrRollback: number;
  fromTransactionCheck: boolean;
}

export type EndTransactionOutcome =
  | { status: 'COMMITTED'; endOffset: number }
  | { status: 'ROLLED_BACK'; endOffset: number }
  | { status: 'ALREADY_ENDED' }
  /** RocketMQ answers these with SYSTEM_ERROR and the same remarks. */
  | { status: 'REFUSED'; remark: string };

/** What tests and admin views can see of the service. */
export interface TransactionServiceState {
  /** Every half below this offset is finished. */
  halfProgress: number;
  /** Persisted op offset (where the rebuild starts reading op records). */
  opOffset: number;
  /** Checks sent per half still open. */
  checkTimes: ReadonlyMap<number, number>;
}

export class TransactionalMessageService {
  private readonly store: MessageStoreApi;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly file: DurableJsonFile;
  private readonly resolved: ResolvedOffsets;
  private readonly checkTimes: Map<number, number>;
  /** Samples of (half max offset, op max offset) taken at the same instant, oldest first. */
  private readonly checkpoints: Array<{ halfMax: number; opMax: number }> = [];
  /** Halves stored before this start: only they can lack an op record for a commit that was stored. */
  private readonly halfMaxAtStart: number;
  /** Pre-start halves already found to have no committed copy. */
  private readonly verifiedUncommitted = new Set<number>();
  private opOffset: number;
  private lastAppendEndOffset = 0;
  private dirty = false;
  private topicsReady = false;
  private timer: NodeJS.Timeout | null = null;
  private pass: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly options: TransactionalMessageServiceOptions) {
    this.store = options.store;
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.file = transactionProgressFile(options.config.storePathRootDir, () => this.snapshot());
    const halfMin = this.store.getMinOffsetInQueue(SystemTopic.TRANS_HALF, HALF_QUEUE_ID);
    const halfMax = this.store.getMaxOffsetInQueue(SystemTopic.TRANS_HALF, HALF_QUEUE_ID);
    const opMin = this.store.getMinOffsetInQueue(SystemTopic.TRANS_OP_HALF, OP_QUEUE_ID);
    const opMax = this.store.getMaxOffsetInQueue(SystemTopic.TRANS_OP_HALF, OP_QUEUE_ID);
    const loaded = this.loadProgress();
    // A persisted offset past the queue's end means the log lost its tail (or was replaced): trust the log.
    const halfOffset = Math.min(Math.max(loaded.halfOffset ?? halfMin, halfMin), halfMax);
    this.opOffset = Math.min(Math.max(loaded.opOffset ?? opMin, opMin), opMax);
    this.resolved = new ResolvedOffsets(halfOffset);
    this.checkTimes = new Map([...loaded.checkTimes].filter(([offset]) => offset >= halfOffset && offset < halfMax));
    const opRecords = this.replayOpRecords(this.opOffset, opMax, halfMax);
    this.halfMaxAtStart = halfMax;
    this.checkpoints.push({ halfMax, opMax });
    if (halfMax > halfOffset || opRecords > 0) {
      this.logger.info({ halfProgress: this.resolved.progress, halfMax, opOffset: this.opOffset, opMax, opRecords }, 'transaction state rebuilt from the half and op topics');
    }
  }

  /** Starts the periodic check pass. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.scheduleNextPass();
  }

  /** Stops checking, waits for a running pass and writes the progress. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.pass?.catch(() => undefined);
    this.dirty = true;
    await this.persistIfDirty();
  }

  state(): TransactionServiceState {
    return { halfProgress: this.resolved.progress, opOffset: this.opOffset, checkTimes: new Map(this.checkTimes) };
  }

  /** Whether the half at this offset is committed, rolled back or discarded. */
  isFinished(halfOffset: number): boolean {
    return this.resolved.has(halfOffset);
  }

  /**
   * Stores a transactional send as a half message. `message` is the message as it would have been
   * stored on its real topic (broker properties added). Throws the store's TideErrors.
   */
  prepare(message: OutgoingMessage, producerGroup: string): AppendResult {
    this.ensureSystemTopics();
    const result = this.store.append(halfAppendInput(message, producerGroup, this.options.storeHost()));
    this.noteAppend(result);
    return result;
  }

  /**
   * Commits or rolls back one half message. Synchronous from the first read to the last append, so
   * two END_TRANSACTIONs for the same half never interleave. Throws the store's TideErrors when the
   * committed message cannot be stored (the half then stays open and is checked later).
   */
  endTransaction(request: EndTransactionRequest): EndTransactionOutcome {
    const halfOffset = request.tranStateTableOffset;
    if (this.resolved.has(halfOffset)) return { status: 'ALREADY_ENDED' };
    const half = this.readHalf(request.commitLogOffset);
    if (half === undefined) return { status: 'REFUSED', remark: 'Find prepared transaction message failed' };
    if (half.topic !== SystemTopic.TRANS_HALF || half.queueId !== HALF_QUEUE_ID) {
      return { status: 'REFUSED', remark: `the record at commitLogOffset ${request.commitLogOffset} is not a half message` };
    }
    if (getProperty(half.properties, MessageProperty.PGROUP) !== request.producerGroup) return { status: 'REFUSED', remark: 'The producer group wrong' };
    if (half.queueOffset !== halfOffset) return { status: 'REFUSED', remark: 'The transaction state table offset wrong' };
    if (half.physicalOffset !== request.commitLogOffset) return { status: 'REFUSED', remark: 'The commit log offset wrong' };

    if (request.commitOrRollback === SysFlag.TRANSACTION_ROLLBACK) {
      const endOffset = this.finish(halfOffset);
      return { status: 'ROLLED_BACK', endOffset };
    }
    if (halfOffset < this.halfMaxAtStart && !this.verifiedUncommitted.has(halfOffset)) {
      if (this.hasCommittedCopy(half)) {
        this.logger.warn({ halfOffset, uniqueKey: getProperty(half.properties, MessageProperty.UNIQ_KEY) }, 'transaction was already committed before a restart; op record restored, nothing stored again');
        this.finish(halfOffset);
        return { status: 'ALREADY_ENDED' };
      }
      this.verifiedUncommitted.add(halfOffset);
    }
    const message = committedMessageOf(half);
    if (message === undefined) return { status: 'REFUSED', remark: 'the half message has no REAL_TOPIC / REAL_QID' };
    const written = this.options.writer.write(message);
    this.noteAppend(written.result);
    const opEndOffset = this.finish(halfOffset);
    return { status: 'COMMITTED', endOffset: Math.max(written.result.endOffset, opEndOffset) };
  }

  /** Runs one check pass now (the timer calls this; a pass already running is joined). */
  checkOnce(): Promise<void> {
    if (this.pass === null) {
      this.pass = this.runPass()
        .catch((error: unknown) => this.logger.error({ err: error }, 'transaction check pass failed'))
        .finally(() => {
          this.pass = null;
        });
    }
    return this.pass;
  }

  private scheduleNextPass(): void {
    if (this.stopped) return;
    const { checkIntervalMs } = transactionSettingsOf(this.options.config);
    this.timer = setTimeout(() => {
      void this.checkOnce().finally(() => this.scheduleNextPass());
    }, checkIntervalMs);
    this.timer.unref();
  }

  private async runPass(): Promise<void> {
    // Slaves never check: the master owns the transactions (RocketMQ does the same without acting-master).
    if (this.options.config.brokerId !== 0) return;
    const settings = transactionSettingsOf(this.options.config);
    const halfMin = this.store.getMinOffsetInQueue(SystemTopic.TRANS_HALF, HALF_QUEUE_ID);
    const halfMax = this.store.getMaxOffsetInQueue(SystemTopic.TRANS_HALF, HALF_QUEUE_ID);
    if (this.resolved.progress < halfMin) {
      // Retention removed halves that were still open: nothing can commit them any more.
      this.logger.warn({ from: this.resolved.progress, to: halfMin }, 'open half messages removed by retention are given up');
      this.resolved.skipTo(halfMin);
      this.dirty = true;
    }
    this.addCheckpoint(halfMax, this.store.getMaxOffsetInQueue(SystemTopic.TRANS_OP_HALF, OP_QUEUE_ID));
    const nowMs = this.now();
    const groupsWithoutProducer = new Set<string>();
    let examined = 0;
    let steps = 0;
    for (let offset = this.resolved.progress; offset < halfMax && examined < MAX_EXAMINED_PER_PASS; offset++) {
      if (++steps % STEPS_PER_YIELD === 0) await yieldToEventLoop();
      if (this.stopped) break;
      if (this.resolved.has(offset)) continue;
      examined++;
      try {
        if (!this.examine(offset, halfMax, nowMs, settings, groupsWithoutProducer)) break;
      } catch (error) {
        // Typically the store refusing appends (disk full, closing): try again next pass.
        if (!isTideError(error)) throw error;
        this.logger.warn({ err: error, halfOffset: offset }, 'transaction check paused');
        break;
      }
      if (examined % EXAMINED_PER_YIELD === 0) await yieldToEventLoop();
    }
    for (const group of groupsWithoutProducer) {
      this.logger.warn({ producerGroup: group }, 'open transactions wait for a producer of their group to come online');
    }
    await this.persistIfDirty();
  }

  /**
   * One open half during a pass: check it, give it up, or leave it for later. Returns false when the
   * pass can stop here: halves are in store-time order, so after one that is younger than
   * transactionTimeOut (and has no shorter immunity of its own) every later one is younger too, as in
   * RocketMQ. A later half with a shorter CHECK_IMMUNITY_TIME_IN_SECONDS waits for the next pass.
   */
  private examine(offset: number, halfMax: number, nowMs: number, settings: TransactionSettings, groupsWithoutProducer: Set<string>): boolean {
    const entry = this.store.getConsumeQueueEntry(SystemTopic.TRANS_HALF, HALF_QUEUE_ID, offset);
    const half = entry === null ? undefined : this.readHalf(entry.physicalOffset);
    if (half === undefined) {
      this.logger.error({ halfOffset: offset }, 'half message cannot be read; given up');
      this.finish(offset);
      return true;
    }
    const ageMs = nowMs - half.storeTimestamp;
    if (ageMs > settings.maxHalfAgeMs) return this.discard(offset, half, 'older than fileReservedTime');
    if (halfMax - offset > MAX_OPEN_WINDOW) return this.discard(offset, half, `more than ${MAX_OPEN_WINDOW} half messages behind the newest`);
    // A negative age means the clock went back: check rather than wait for the clock (as RocketMQ does).
    if (ageMs >= 0) {
      const immunityMs = immunityMsOf(half);
      if (ageMs < (immunityMs ?? settings.transactionTimeOutMs)) return immunityMs !== undefined;
    }
    if (offset < this.halfMaxAtStart && !this.verifiedUncommitted.has(offset)) {
      if (this.hasCommittedCopy(half)) {
        this.logger.warn({ halfOffset: offset }, 'open half message was committed before a restart; op record restored');
        this.finish(offset);
        return true;
      }
      this.verifiedUncommitted.add(offset);
    }
    const producerGroup = getProperty(half.properties, MessageProperty.PGROUP);
    if (!producerGroup) return this.discard(offset, half, 'no producer group (PGROUP) to check with');
    const checks = this.checkTimes.get(offset) ?? 0;
    if (checks >= settings.checkMax) {
      if (settings.discardAfterCheckMax) return this.discard(offset, half, `checked ${checks} times (transactionCheckMax) without an answer`, checks);
      this.logger.warn({ halfOffset: offset, checks, producerGroup }, 'transaction still open after transactionCheckMax checks; kept and checked again');
    }
    const request = checkRequestOf({
      half,
      checkTimes: checks + 1,
      offsetMsgId: createOffsetMessageId({ ip: Buffer.from(half.storeHost.ip), port: half.storeHost.port }, half.physicalOffset),
      brokerName: this.options.config.brokerName,
    });
    if (request === undefined) return this.discard(offset, half, 'no REAL_TOPIC / REAL_QID to commit to');
    const channel = this.options.producerManager.pickConnection(producerGroup);
    if (channel === undefined) {
      groupsWithoutProducer.add(producerGroup);
      return true;
    }
    if (!channel.connection.invokeOneway(request)) {
      this.logger.warn({ halfOffset: offset, clientId: channel.clientId }, 'transaction check not sent: producer connection closed or busy');
      return true;
    }
    this.checkTimes.set(offset, checks + 1);
    this.dirty = true;
    this.logger.info({ halfOffset: offset, checks: checks + 1, producerGroup, clientId: channel.clientId, uniqueKey: getProperty(half.properties, MessageProperty.UNIQ_KEY) }, 'transaction state checked with the producer');
    return true;
  }

  /** Gives a half up: logged, copied to TRANS_CHECK_MAX_TIME_TOPIC, op record written. Returns true (the pass goes on). */
  private discard(offset: number, half: DecodedRecord, reason: string, checks = this.checkTimes.get(offset) ?? 0): boolean {
    this.logger.warn(
      {
        halfOffset: offset,
        reason,
        checks,
        producerGroup: getProperty(half.properties, MessageProperty.PGROUP),
        realTopic: getProperty(half.properties, MessageProperty.REAL_TOPIC),
        uniqueKey: getProperty(half.properties, MessageProperty.UNIQ_KEY),
      },
      'transactional half message discarded',
    );
    this.options.topicConfigManager.createTopicInSendMessageBackMethod(SystemTopic.TRANS_CHECK_MAX_TIME, 1, Perm.READ | Perm.WRITE, 0);
    this.noteAppend(this.store.append(discardedCopyInput(half, checks, this.options.storeHost())));
    this.finish(offset);
    return true;
  }

  /**
   * Marks a half finished and writes its op record. The mark stands even when the op append fails
   * (logged): in this process the half is done either way, and after a restart the key-index lookup
   * or the producer's answer settles it again. Returns the op record's end offset (0 if not written).
   */
  private finish(halfOffset: number): number {
    this.resolved.add(halfOffset);
    this.checkTimes.delete(halfOffset);
    this.verifiedUncommitted.delete(halfOffset);
    this.dirty = true;
    try {
      const result = this.store.append(opAppendInput([halfOffset], this.options.storeHost(), this.now()));
      this.noteAppend(result);
      return result.endOffset;
    } catch (error) {
      this.logger.error({ err: error, halfOffset }, 'op record of a finished transaction not written; it is settled again after a restart');
      return 0;
    }
  }

  /** Whether a committed copy of this half is stored (its op record may have been lost in a crash). */
  private hasCommittedCopy(half: DecodedRecord): boolean {
    const uniqueKey = getProperty(half.properties, MessageProperty.UNIQ_KEY);
    const realTopic = getProperty(half.properties, MessageProperty.REAL_TOPIC);
    if (!uniqueKey || !realTopic) return false;
    // A commit with a delay level or a timer sits in SCHEDULE_TOPIC_XXXX or the timer topic until due.
    for (const topic of [realTopic, SystemTopic.SCHEDULE, TIMER_TOPIC]) {
      let records: Buffer[];
      try {
        records = this.store.queryMessageByKey(topic, uniqueKey, COMMIT_LOOKUP_MAX, half.storeTimestamp, Number.MAX_SAFE_INTEGER).records;
      } catch (error) {
        this.logger.warn({ err: error, topic }, 'key-index lookup for a committed transaction failed');
        continue;
      }
      for (const bytes of records) {
        const record = decodeRecord(bytes);
        if (record !== null && (record.sysFlag & TRANSACTION_TYPE_MASK) === SysFlag.TRANSACTION_COMMIT && record.preparedTransactionOffset === half.physicalOffset) {
          return true;
        }
      }
    }
    return false;
  }

  private readHalf(physicalOffset: number): DecodedRecord | undefined {
    if (!Number.isSafeInteger(physicalOffset) || physicalOffset < 0) return undefined;
    let bytes: Buffer | null;
    try {
      bytes = this.store.readRecord(physicalOffset);
    } catch (error) {
      if (!isTideError(error, 'STORE_CORRUPT')) throw error;
      this.logger.error({ err: error, physicalOffset }, 'half message is corrupt');
      return undefined;
    }
    return bytes === null ? undefined : (decodeRecord(bytes) ?? undefined);
  }

  private ensureSystemTopics(): void {
    if (this.topicsReady) return;
    // As RocketMQ does, the half and op topics get a topic config (1 queue) so admin tools list them.
    this.options.topicConfigManager.createTopicInSendMessageBackMethod(SystemTopic.TRANS_HALF, 1, Perm.READ | Perm.WRITE, 0);
    this.options.topicConfigManager.createTopicInSendMessageBackMethod(SystemTopic.TRANS_OP_HALF, 1, Perm.READ | Perm.WRITE, 0);
    this.topicsReady = true;
  }

  private noteAppend(result: AppendResult): void {
    if (result.endOffset > this.lastAppendEndOffset) this.lastAppendEndOffset = result.endOffset;
  }

  /**
   * Reads op records [from, to) into the finished-offset window; returns how many were read. An op
   * naming a half at or past `halfMax` cannot be genuine (an op is always stored after its half) and
   * is skipped rather than allowed to blow up the window.
   */
  private replayOpRecords(from: number, to: number, halfMax: number): number {
    let offset = from;
    let records = 0;
    let invalid = 0;
    while (offset < to) {
      let result;
      try {
        result = this.store.getMessages(SystemTopic.TRANS_OP_HALF, OP_QUEUE_ID, offset, OP_SCAN_BATCH, OP_SCAN_BATCH_BYTES);
      } catch (error) {
        // Halves whose op records are unreadable look open: a commit of one stored before this start
        // is found in the key index before anything is stored again, so carrying on is safe.
        if (!isTideError(error)) throw error;
        this.logger.error({ err: error, opOffset: offset }, 'op records unreadable; the rest of the op topic is not replayed');
        break;
      }
      for (const bytes of result.records) {
        const record = decodeRecord(bytes);
        if (record === null) continue;
        records++;
        const decoded = decodeOpBody(record.body);
        invalid += decoded.invalid;
        for (const halfOffset of decoded.offsets) {
          if (halfOffset >= halfMax) {
            invalid++;
            continue;
          }
          this.resolved.add(halfOffset);
          this.checkTimes.delete(halfOffset);
        }
      }
      if (result.nextBeginOffset <= offset) break;
      offset = result.nextBeginOffset;
    }
    if (invalid > 0) this.logger.warn({ invalid }, 'op records with unreadable half offsets were skipped');
    return records;
  }

  private addCheckpoint(halfMax: number, opMax: number): void {
    const last = this.checkpoints[this.checkpoints.length - 1];
    if (last !== undefined && last.halfMax === halfMax && last.opMax === opMax) return;
    // When full, the oldest samples are kept: they become usable first; newer ones are taken later.
    if (this.checkpoints.length < MAX_CHECKPOINTS) this.checkpoints.push({ halfMax, opMax });
  }

  /**
   * The op offset safe to persist with the current half progress. A sample (halfMax, opMax) taken at
   * one instant says: halves at or after halfMax were stored later, so their op records are at or
   * after opMax. Once the progress reaches halfMax, op records before opMax are no longer needed.
   */
  private advanceOpOffset(): void {
    const progress = this.resolved.progress;
    while (this.checkpoints.length > 0 && this.checkpoints[0]!.halfMax <= progress) {
      const sample = this.checkpoints.shift()!;
      if (sample.opMax > this.opOffset) this.opOffset = sample.opMax;
    }
  }

  private snapshot(): TransactionProgress {
    this.advanceOpOffset();
    return { halfOffset: this.resolved.progress, opOffset: this.opOffset, checkTimes: this.checkTimes };
  }

  private async persistIfDirty(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      // Never persist progress past records that are not durable yet (SYNC_FLUSH; resolves at once for ASYNC_FLUSH).
      if (this.lastAppendEndOffset > 0 && (await this.store.waitDurable(this.lastAppendEndOffset)) !== 'PUT_OK') {
        this.dirty = true;
        return;
      }
      await this.file.save();
    } catch (error) {
      this.dirty = true;
      this.logger.error({ err: error, path: this.file.path }, 'persisting the transaction progress failed');
    }
  }

  private loadProgress(): ReturnType<typeof parseTransactionProgress> {
    try {
      return parseTransactionProgress(this.file.load());
    } catch (error) {
      // The file is written by rename, so this is damage from outside: rebuild from the op topic.
      this.logger.error({ err: error, path: this.file.path }, 'transaction progress unreadable; rebuilding from the op topic');
      return parseTransactionProgress(undefined);
    }
  }
}

/** CHECK_IMMUNITY_TIME_IN_SECONDS in ms, or undefined when absent or not a number (transactionTimeOut applies). */
function immunityMsOf(half: DecodedRecord): number | undefined {
  const text = getProperty(half.properties, MessageProperty.CHECK_IMMUNITY_TIME_IN_SECONDS);
  if (text === undefined || !/^\d{1,9}$/.test(text.trim())) return undefined;
  return Number(text.trim()) * 1000;
}
