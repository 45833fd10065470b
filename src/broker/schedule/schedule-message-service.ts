/**
 * Delivery of 4.x delayed messages. A message with DELAY = level sits in SCHEDULE_TOPIC_XXXX queue
 * level−1 with its delivery time as the consume-queue tags code (see message-writer.ts). One shared
 * tick walks each level's queue from its persisted progress offset: entries are in delivery-time order
 * within a level (same delay, appended in time order), so the walk stops at the first entry not yet
 * due, without reading the commit log. A due message is re-appended to REAL_TOPIC/REAL_QID with the
 * DELAY and REAL_* properties removed, and the progress moves past it.
 *
 * Progress lives in `<storePathRootDir>/config/delayOffset.json` (`{"offsetTable":{"level":offset}}`),
 * written when it changed every `persistIntervalMs` and on close, and only as far as the commit log is
 * flushed past the deliveries it counts (a power cut never loses a delivery the file claims).
 *
 * Exactly once across crashes (RocketMQ is at-least-once here): the file may lag the deliveries, but a
 * level delivers strictly in queue order, so the deliveries it made after the saved offset form a
 * prefix. After a start, each level checks its due entries in order, through the key index, for a
 * copy already in the real topic (same UNIQ_KEY and reconsumeTimes, stored after the parked record),
 * skipping those, until the first entry without one; from there it delivers without checking.
 *
 * This service also owns the 5.x timer (timer/timer-message-service.ts, arbitrary delivery times),
 * started and closed with it, so the broker wires one delay component.
 */
import { join } from 'node:path';
import { isTideError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/logger.js';
import { decodeProperties, getProperty, MessageProperty } from '../../protocol/message-properties.js';
import { decodeRecord } from '../../protocol/message-record.js';
import type { MessageStoreApi } from '../../store/types.js';
import { DurableJsonFile } from '../durable-json-file.js';
import type { MessageWriter } from '../message-writer.js';
import { copyExists } from '../timer/timer-delivery.js';
import { TimerMessageService } from '../timer/timer-message-service.js';
import type { TimerSettings } from '../timer/timer-settings.js';
import { SystemTopic } from '../topic-names.js';

export interface ScheduleMessageServiceOptions {
  store: MessageStoreApi;
  writer: MessageWriter;
  storePathRootDir: string;
  tickIntervalMs: number;
  /** Most messages delivered per level per tick, so one tick never blocks the event loop for long. */
  maxDeliveriesPerLevelPerTick?: number;
  persistIntervalMs?: number;
  now?: () => number;
  logger?: Logger;
  /** The broker config: the timer reads its keys (timerMaxDelaySec, ...) and fileReservedTime from it. */
  brokerConfig?: object;
  /** Overrides of the timer settings (tests, benchmarks). */
  timerSettings?: Partial<TimerSettings>;
}

export class ScheduleMessageService {
  /** level (1-based) → next schedule-queue offset to look at. */
  private readonly offsets = new Map<number, number>();
  /** The offsets last made durable, or about to be (what the file holds). */
  private savedOffsets = new Map<number, number>();
  /** Offsets waiting for the commit log to be flushed past `endOffset` before they are saved. */
  private pendingSave: { offsets: Map<number, number>; endOffset: number } | null = null;
  /** Levels that still check their next due entry for a copy made before a crash. */
  private readonly recheckLevels = new Set<number>();
  private lastWriteEndOffset = 0;
  private readonly file: DurableJsonFile;
  private readonly logger: Logger;
  private readonly now: () => number;
  private interval: NodeJS.Timeout | null = null;
  private dirty = false;
  private lastPersistMs = 0;
  private stopped = false;
  /** 5.x timer messages. */
  readonly timer: TimerMessageService;
  private brokerConfig: object | undefined;

  constructor(private readonly options: ScheduleMessageServiceOptions) {
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.file = new DurableJsonFile(join(options.storePathRootDir, 'config', 'delayOffset.json'), () => this.encode(this.savedOffsets));
    this.load();
    this.brokerConfig = options.brokerConfig;
    this.savedOffsets = new Map(this.offsets);
    for (let level = 1; level <= this.maxDelayLevel; level++) this.recheckLevels.add(level);
    this.timer = new TimerMessageService({
      store: options.store,
      writer: options.writer,
      storePathRootDir: options.storePathRootDir,
      ...(options.brokerConfig ? { config: options.brokerConfig } : {}),
      ...(options.timerSettings ? { settings: options.timerSettings } : {}),
      ...(options.now ? { now: options.now } : {}),
      logger: this.logger,
    });
  }

  /**
   * Hands the broker config to the timer when the broker did not pass it at construction (it must
   * come before start for the settings that shape the timer's files; the horizon applies at once).
   */
  useBrokerConfig(config: object): void {
    if (this.options.brokerConfig !== undefined) return;
    this.brokerConfig = config;
    this.timer.useConfig(config);
  }

  get maxDelayLevel(): number {
    return this.options.writer.maxDelayLevel;
  }

  /** Progress per level, for GET_ALL_DELAY_OFFSET. */
  offsetTable(): Map<number, number> {
    return new Map(this.offsets);
  }

  start(): void {
    if (this.interval) return;
    this.stopped = false;
    this.lastPersistMs = this.now();
    this.interval = setInterval(() => this.tick(), this.options.tickIntervalMs);
    this.interval.unref();
    this.timer.start();
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.interval) clearInterval(this.interval);
    this.interval = null;
    await this.timer.close();
    await this.persist();
  }

  /**
   * Saves the progress the commit log is durable for: the current offsets once their deliveries are
   * flushed (waiting for that under SYNC_FLUSH), else the last snapshot that is.
   */
  async persist(): Promise<void> {
    this.dirty = false;
    this.lastPersistMs = this.now();
    this.pendingSave = { offsets: new Map(this.offsets), endOffset: this.lastWriteEndOffset };
    await this.options.store.waitDurable(this.lastWriteEndOffset).catch(() => undefined);
    if (!this.takePendingSave()) return;
    await this.file.save();
  }

  /** Moves the pending snapshot to what the file saves if the commit log is flushed past it. */
  private takePendingSave(): boolean {
    const pending = this.pendingSave;
    if (pending === null || this.options.store.stats().flushedOffset < pending.endOffset) return false;
    this.pendingSave = null;
    this.savedOffsets = pending.offsets;
    return true;
  }

  /** Delivers everything due now (the timer calls this; tests may too). */
  tick(): void {
    if (this.stopped) return;
    // A slave's commit log is the master's copy: only the master delivers (as in RocketMQ).
    if ((this.brokerConfig as Record<string, unknown> | undefined)?.brokerRole === 'SLAVE') return;
    const nowMs = this.now();
    for (let level = 1; level <= this.maxDelayLevel; level++) {
      try {
        this.deliverLevel(level, nowMs);
      } catch (error) {
        // Typically the store refusing appends (disk full, closing): keep the progress and retry later.
        if (!isTideError(error)) this.logger.error({ err: error, level }, 'delivering delayed messages failed');
        else this.logger.warn({ err: error, level }, 'delivering delayed messages paused');
      }
    }
    if (this.takePendingSave()) {
      this.file.save().catch((error: unknown) => this.logger.error({ err: error }, 'persisting delayOffset.json failed'));
    }
    if (this.dirty && nowMs - this.lastPersistMs >= (this.options.persistIntervalMs ?? 1000)) {
      this.persist().catch((error: unknown) => this.logger.error({ err: error }, 'persisting delayOffset.json failed'));
    }
  }

  private deliverLevel(level: number, nowMs: number): void {
    const { store, writer } = this.options;
    const queueId = level - 1;
    const maxOffset = store.getMaxOffsetInQueue(SystemTopic.SCHEDULE, queueId);
    let offset = this.offsets.get(level) ?? 0;
    if (offset >= maxOffset) return;
    const minOffset = store.getMinOffsetInQueue(SystemTopic.SCHEDULE, queueId);
    if (offset < minOffset) offset = minOffset;
    const budget = this.options.maxDeliveriesPerLevelPerTick ?? 2000;
    let delivered = 0;
    while (offset < maxOffset && delivered < budget) {
      const entry = store.getConsumeQueueEntry(SystemTopic.SCHEDULE, queueId, offset);
      if (entry === null) {
        offset++;
        continue;
      }
      // A delivery time further out than the level's delay can only come from a clock jump: deliver now.
      const latestMs = nowMs + writer.delayOfLevelMs(level);
      const deliverMs = entry.tagsCode > latestMs ? nowMs : entry.tagsCode;
      if (deliverMs > nowMs) break;
      this.deliver(entry.physicalOffset, level, this.recheckLevels.has(level));
      offset++;
      delivered++;
      this.offsets.set(level, offset);
      this.dirty = true;
    }
    if (offset >= maxOffset) this.recheckLevels.delete(level);
    if ((this.offsets.get(level) ?? 0) !== offset) {
      this.offsets.set(level, offset);
      this.dirty = true;
    }
  }

  private deliver(physicalOffset: number, level: number, recheck: boolean): void {
    let bytes: Buffer | null;
    try {
      bytes = this.options.store.readRecord(physicalOffset);
    } catch (error) {
      // A corrupt record would otherwise block its level forever.
      if (!isTideError(error, 'STORE_CORRUPT')) throw error;
      this.logger.error({ err: error, physicalOffset, level }, 'delayed message is corrupt; skipped');
      return;
    }
    const record = bytes === null ? null : decodeRecord(bytes);
    if (record === null) {
      this.logger.warn({ physicalOffset, level }, 'delayed message not found in the commit log; skipped');
      return;
    }
    const properties = decodeProperties(record.properties);
    const realTopic = properties.get(MessageProperty.REAL_TOPIC);
    const realQueueId = Number(properties.get(MessageProperty.REAL_QID));
    if (!realTopic || !Number.isInteger(realQueueId) || realQueueId < 0) {
      this.logger.warn({ physicalOffset, level }, 'delayed message has no REAL_TOPIC/REAL_QID; skipped');
      return;
    }
    if (recheck) {
      const uniqueKey = properties.get(MessageProperty.UNIQ_KEY);
      const delivered = uniqueKey !== undefined && copyExists(this.options.store, realTopic, uniqueKey, record, (copy) =>
        copy.reconsumeTimes === record.reconsumeTimes && getProperty(copy.properties, MessageProperty.REAL_TOPIC) === undefined);
      if (delivered) {
        this.logger.info({ physicalOffset, level }, 'delayed message was delivered before the restart; not again');
        return;
      }
      this.recheckLevels.delete(level);
    }
    for (const key of [MessageProperty.DELAY, MessageProperty.REAL_TOPIC, MessageProperty.REAL_QID, MessageProperty.TIMER_DELIVER_MS, MessageProperty.TIMER_DELAY_SEC]) {
      properties.delete(key);
    }
    const written = this.options.writer.write({
      topic: realTopic,
      queueId: realQueueId,
      flag: record.flag,
      sysFlag: record.sysFlag,
      bornTimestamp: record.bornTimestamp,
      bornHost: { ip: Buffer.from(record.bornHost.ip), port: record.bornHost.port },
      reconsumeTimes: record.reconsumeTimes,
      preparedTransactionOffset: record.preparedTransactionOffset,
      body: Buffer.from(record.body),
      properties,
    });
    this.lastWriteEndOffset = Math.max(this.lastWriteEndOffset, written.result.endOffset);
  }

  encode(offsets: ReadonlyMap<number, number> = this.offsets): { offsetTable: Record<string, number> } {
    const offsetTable: Record<string, number> = {};
    for (const [level, offset] of [...offsets].sort((a, b) => a[0] - b[0])) offsetTable[String(level)] = offset;
    return { offsetTable };
  }

  private load(): void {
    const content = this.file.load() as { offsetTable?: unknown } | undefined;
    if (!content || typeof content.offsetTable !== 'object' || content.offsetTable === null) return;
    for (const [level, offset] of Object.entries(content.offsetTable as Record<string, unknown>)) {
      const number = Number(offset);
      if (Number.isInteger(Number(level)) && Number.isSafeInteger(number) && number >= 0) this.offsets.set(Number(level), number);
    }
  }
}
