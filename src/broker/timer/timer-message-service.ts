/**
 * Delivery of RocketMQ 5.x timer messages (TIMER_DELAY_SEC / TIMER_DELAY_MS / TIMER_DELIVER_MS) at
 * arbitrary times up to the horizon (timerMaxDelaySec, 40 days by default).
 *
 * Path of a message: the writer parks it in rmq_sys_wheel_timer queue 0 with its delivery time as the
 * consume-queue tags code (message-writer.ts). One shared tick (timerTickIntervalMs) then:
 *
 * 1. Enqueue: takes new consume-queue entries, once their records are durable in the commit log, into
 *    the timer log (timer-log.ts) as 64-byte records chained per wheel slot (timer-wheel.ts). Only the
 *    slot table is in memory; records stay on disk. A record's effectiveMs is its delivery time, or,
 *    when that is further than the roll window (a third of retention, at most a day), the end of the
 *    window: the message is then copied forward in the timer topic at that time, so retention never
 *    removes its record before it is due, and the wheel never needs to span more than the window.
 * 2. Load: slots due within timerLookaheadMs are read from the log into a min-heap (timer-heap.ts),
 *    so memory follows the delivery rate, not the number of waiting messages.
 * 3. Deliver: entries whose effectiveMs has come are written to REAL_TOPIC/REAL_QID (or copied
 *    forward), never before their time. Recalled messages (recall-tombstones.ts) are dropped.
 *
 * Exactly once across crashes. The progress is deliveredUpToMs D: every entry with effectiveMs < D was
 * handled. Before handling entries up to a time T the timer makes "intent ≥ T" durable (timercheck,
 * timer-checkpoint.ts), and it makes D durable only once the commit log is flushed past everything it
 * wrote for entries below D. After a crash, the entries in [D, intent) may have been handled or not:
 * for each of them the timer looks up, through the key index, whether a copy with the same UNIQ_KEY
 * and TIMER_OUT_MS was already stored after the parked record (timer-delivery.ts), and skips it if
 * so. Entries at or past the intent were certainly not handled. The timer log is fdatasync'ed before
 * the enqueue offset that covers it is written, so an entry is never taken in twice.
 *
 * A slave (brokerRole=SLAVE) never delivers: its commit log is the master's copy.
 *
 * Limits: enqueue and delivery work per tick are capped (a full tick is followed by another at once);
 * slot loading pauses past timerMaxLoadedEntries; enqueue pauses when a delivery backlog would make the
 * wheel wrap around (the messages wait in the consume queue); pending recalls are capped.
 */
import { join } from 'node:path';
import { isTideError, TideError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/logger.js';
import { decodeProperties, MessageProperty } from '../../protocol/message-properties.js';
import { decodeRecord } from '../../protocol/message-record.js';
import { replaceFileDurably } from '../../store/durable-fs.js';
import type { MessageStoreApi } from '../../store/types.js';
import type { MessageWriter } from '../message-writer.js';
import { RecallTombstones } from './recall-tombstones.js';
import { writeTimerCheckpoint, writeTimerCheckpointSync } from './timer-checkpoint.js';
import { deliveryOf, rollOf, timerCopyExists } from './timer-delivery.js';
import { TimerHeap, type TimerEntry } from './timer-heap.js';
import type { TimerLog } from './timer-log.js';
import { TIMER_TOPIC } from './timer-properties.js';
import { recoverTimer, TimerFiles } from './timer-recovery.js';
import { readTimerSettings, type TimerSettings } from './timer-settings.js';
import type { TimerWheel } from './timer-wheel.js';

/** How far ahead of the entries being handled the durable intent is kept, in ms. */
const INTENT_LEAD_MS = 3000;
/** Slots looked at per tick by the loader (empty slots cost one array read each). */
const MAX_SLOT_CHECKS_PER_TICK = 200_000;
/** Progress points kept until the commit log is flushed past them. */
const MAX_PROGRESS_POINTS = 4096;

export interface TimerMessageServiceOptions {
  store: MessageStoreApi;
  writer: MessageWriter;
  storePathRootDir: string;
  /** The broker config (timer keys, fileReservedTime); the horizon and on/off switch are read live. */
  config?: object;
  /** Overrides of the settings (tests, benchmarks). */
  settings?: Partial<TimerSettings>;
  now?: () => number;
  logger?: Logger;
}

export type RecallOutcome = 'RECALLED' | 'ALREADY_DELIVERED';

export interface TimerStats {
  enqueueOffset: number;
  deliveredUpToMs: number;
  durableDeliveredUpToMs: number;
  loadedEntries: number;
  pendingRecalls: number;
  timerLogBytes: number;
  delivered: number;
  rolled: number;
  recalled: number;
  deduplicated: number;
  skipped: number;
}

interface Running {
  log: TimerLog;
  wheel: TimerWheel;
  recalls: RecallTombstones;
}

export class TimerMessageService {
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly directory: string;
  private config: object | undefined;
  private settings: TimerSettings;
  private running: Running | null = null;
  private state: 'new' | 'running' | 'closed' = 'new';
  private readonly heap = new TimerHeap();
  private deliveredUpToMs = 0;
  private durableDeliveredUpToMs = 0;
  private intentDurableMs = 0;
  private recheckBelowMs = 0;
  private recheckBelowQueueOffset = 0;
  private enqueueOffset = 0;
  /** Entries with effectiveMs below this are in the heap; later ones are on disk only. */
  private nextLoadMs = 0;
  /** (deliveredUpToMs, commit-log end of the writes for entries below it), oldest first. */
  private progress: { deliveredUpToMs: number; endOffset: number }[] = [];
  private lastWriteEndOffset = 0;
  private flushRequestedUpTo = 0;
  private timer: NodeJS.Timeout | null = null;
  private immediateQueued = false;
  private persisting: Promise<void> | null = null;
  private lastPersistMs = 0;
  private lastSnapshotMs = 0;
  /** Log end the last wheel snapshot covered (-1: none this run). */
  private snapshotLogEnd = -1;
  private persistedActivity = -1;
  private readonly counters = { delivered: 0, rolled: 0, recalled: 0, deduplicated: 0, skipped: 0 };

  constructor(private readonly options: TimerMessageServiceOptions) {
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.directory = join(options.storePathRootDir, 'timer');
    this.config = options.config;
    this.settings = readTimerSettings(this.config, options.settings);
    options.writer.setTimerPolicy({
      enabled: () => this.liveSetting('timerWheelEnable') as boolean,
      maxDelayMs: () => (this.liveSetting('timerMaxDelaySec') as number) * 1000,
    });
  }

  /** Gives the service the broker config (before start; the horizon and on/off switch apply live). */
  useConfig(config: object): void {
    this.config = config;
    if (this.state === 'new') this.settings = readTimerSettings(config, this.options.settings);
  }

  get currentSettings(): Readonly<TimerSettings> {
    return this.settings;
  }

  /** Recovers the timer state from disk and starts the tick. */
  start(): void {
    if (this.state !== 'new') return;
    const nowMs = this.now();
    const recovered = recoverTimer({ directory: this.directory, settings: this.settings, store: this.options.store, nowMs, logger: this.logger });
    const { log, wheel, checkpoint } = recovered;
    this.deliveredUpToMs = checkpoint.deliveredUpToMs;
    this.durableDeliveredUpToMs = checkpoint.deliveredUpToMs;
    this.recheckBelowMs = checkpoint.intentUpToMs;
    this.recheckBelowQueueOffset = checkpoint.recheckBelowQueueOffset;
    this.enqueueOffset = checkpoint.enqueueOffset;
    this.nextLoadMs = wheel.slotStartOf(this.deliveredUpToMs);
    const recalls = new RecallTombstones(join(this.directory, TimerFiles.recalls), this.settings.timerMaxPendingRecalls, this.deliveredUpToMs);
    this.running = { log, wheel, recalls };
    // The recovered log may sit in the page cache only; make it durable before anything counts on it.
    log.syncAllSync();
    const intent = Math.max(checkpoint.intentUpToMs, nowMs + INTENT_LEAD_MS);
    writeTimerCheckpointSync(join(this.directory, TimerFiles.checkpoint), { ...checkpoint, intentUpToMs: intent });
    this.intentDurableMs = intent;
    this.lastPersistMs = nowMs;
    // The first durable step writes a wheel snapshot, so the next start does not replay the whole log.
    this.lastSnapshotMs = Number.NEGATIVE_INFINITY;
    this.state = 'running';
    this.logger.info({ ...recovered.report, deliveredUpToMs: this.deliveredUpToMs, enqueueOffset: this.enqueueOffset, pendingRecalls: recalls.size }, 'timer recovered');
    this.timer = setInterval(() => this.tick(), this.settings.timerTickIntervalMs);
    this.timer.unref();
  }

  /** Delivers what is due now (the interval calls this; tests may too). */
  tick(): void {
    if (this.state !== 'running' || this.running === null) return;
    // A slave's commit log is the master's copy: only the master delivers (as in RocketMQ).
    if ((this.config as Record<string, unknown> | undefined)?.brokerRole === 'SLAVE') return;
    const nowMs = this.now();
    let more = false;
    try {
      this.enqueue(nowMs);
      more = this.load(nowMs);
      more = this.deliver(nowMs) || more;
    } catch (error) {
      more = false;
      if (isTideError(error)) this.logger.warn({ err: error }, 'timer paused: the store refused a write; retrying on the next tick');
      else this.logger.error({ err: error }, 'timer tick failed');
    }
    this.maybePersist(nowMs);
    if (more && !this.immediateQueued) {
      this.immediateQueued = true;
      setImmediate(() => {
        this.immediateQueued = false;
        this.tick();
      });
    }
  }

  /**
   * Recalls the message with `uniqueKey` parked until `deliverMs`: it will not be delivered. Resolves
   * once the recall is durable, or ALREADY_DELIVERED when the timer is past that time.
   */
  async recall(uniqueKey: string, deliverMs: number): Promise<RecallOutcome> {
    if (this.state !== 'running' || this.running === null) throw new TideError('SYSTEM_BUSY', 'the timer is not running');
    if (deliverMs < this.deliveredUpToMs) return 'ALREADY_DELIVERED';
    await this.running.recalls.add(uniqueKey, deliverMs);
    return 'RECALLED';
  }

  stats(): TimerStats {
    const running = this.running;
    return {
      enqueueOffset: this.enqueueOffset,
      deliveredUpToMs: this.deliveredUpToMs,
      durableDeliveredUpToMs: this.durableDeliveredUpToMs,
      loadedEntries: this.heap.size,
      pendingRecalls: running?.recalls.size ?? 0,
      timerLogBytes: running ? running.log.endPosition - running.log.startPosition : 0,
      ...this.counters,
    };
  }

  /** Makes the log, the progress and the intent durable now (also runs every timerFlushIntervalMs). */
  async persistNow(): Promise<void> {
    while (this.persisting) await this.persisting;
    if (this.running === null || this.state !== 'running') return;
    // Registered as the one persist in flight, so the tick does not start another beside it.
    const persisting = this.runPersist(this.now(), true);
    this.persisting = persisting.then(() => undefined, () => undefined).finally(() => {
      this.persisting = null;
    });
    await persisting;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasRunning = this.state === 'running';
    this.state = 'closed';
    this.stopTimer();
    while (this.persisting) await this.persisting.catch(() => undefined);
    const running = this.running;
    if (!running) return;
    if (wasRunning) {
      await this.runPersist(this.now(), true).catch((error: unknown) => this.logger.error({ err: error }, 'persisting the timer at close failed'));
    }
    await running.recalls.close();
    running.log.close();
    this.running = null;
  }

  /** Tests only: stops like a killed process (nothing more is written). */
  async abandon(): Promise<void> {
    this.state = 'closed';
    this.stopTimer();
    while (this.persisting) await this.persisting.catch(() => undefined);
    const running = this.running;
    this.running = null;
    if (running) {
      await running.recalls.close();
      running.log.close();
    }
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private liveSetting(key: 'timerWheelEnable' | 'timerMaxDelaySec'): boolean | number {
    const raw = (this.config as Record<string, unknown> | undefined)?.[key];
    if (key === 'timerWheelEnable') {
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string') return raw.trim().toLowerCase() === 'true';
      return this.settings.timerWheelEnable;
    }
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
    return Number.isSafeInteger(value) && value > 0 ? value : this.settings.timerMaxDelaySec;
  }

  /** Takes parked messages from the timer topic's consume queue into the timer log. */
  private enqueue(nowMs: number): void {
    const { store } = this.options;
    const { log, wheel } = this.running!;
    const maxOffset = store.getMaxOffsetInQueue(TIMER_TOPIC, 0);
    if (this.enqueueOffset >= maxOffset) return;
    const minOffset = store.getMinOffsetInQueue(TIMER_TOPIC, 0);
    if (this.enqueueOffset < minOffset) {
      this.logger.error({ from: this.enqueueOffset, to: minOffset }, 'timer messages removed by retention before the timer took them in');
      this.enqueueOffset = minOffset;
    }
    // Only records that are durable: after a power cut the timer log never points past the commit log.
    const flushedOffset = store.stats().flushedOffset;
    const { timerMaxEnqueuePerTick, timerRollWindowMs, timerSlotMs } = this.settings;
    const wrapLimitMs = wheel.slotStartOf(this.deliveredUpToMs) + wheel.spanMs - 2 * timerSlotMs;
    let taken = 0;
    while (this.enqueueOffset < maxOffset && taken < timerMaxEnqueuePerTick) {
      const entry = store.getConsumeQueueEntry(TIMER_TOPIC, 0, this.enqueueOffset);
      if (entry === null) {
        this.enqueueOffset++;
        continue;
      }
      if (entry.physicalOffset + entry.size > flushedOffset) {
        this.requestFlush(entry.physicalOffset + entry.size);
        break;
      }
      const deliverMs = entry.tagsCode;
      const effectiveMs = Math.min(Math.max(deliverMs, this.deliveredUpToMs), nowMs + timerRollWindowMs);
      if (effectiveMs >= wrapLimitMs) break;
      const position = log.endPosition;
      const prevPosition = wheel.link(effectiveMs, position);
      const record = { effectiveMs, deliverMs, physicalOffset: entry.physicalOffset, size: entry.size, queueOffset: this.enqueueOffset, prevPosition };
      log.append(record);
      if (effectiveMs < this.nextLoadMs) this.heap.push({ ...record, position });
      this.enqueueOffset++;
      taken++;
    }
    log.writeOut();
  }

  /**
   * Asks the store to make the commit log durable up to `endOffset`. Under SYNC_FLUSH nothing else
   * flushes appends nobody waits for (WAIT=false sends, the timer's own writes); under ASYNC_FLUSH
   * this returns at once and the flush interval does it.
   */
  private requestFlush(endOffset: number): Promise<void> {
    if (endOffset <= this.flushRequestedUpTo) return Promise.resolve();
    this.flushRequestedUpTo = endOffset;
    return this.options.store.waitDurable(endOffset).then(
      () => undefined,
      (error: unknown) => this.logger.warn({ err: error }, 'the commit log could not be flushed for the timer'),
    );
  }

  /** Reads the slots due within the lookahead into the heap; true when it had to stop early. */
  private load(nowMs: number): boolean {
    const { log, wheel } = this.running!;
    const { timerLookaheadMs, timerMaxLoadedEntries, timerSlotMs } = this.settings;
    const horizonMs = nowMs + timerLookaheadMs;
    let checks = 0;
    while (this.nextLoadMs <= horizonMs) {
      // A full heap waits for deliveries (no busy loop); a long run of slots continues at once.
      if (this.heap.size >= timerMaxLoadedEntries) return false;
      if (checks >= MAX_SLOT_CHECKS_PER_TICK) return true;
      const slotStartMs = this.nextLoadMs;
      let position = wheel.head(slotStartMs);
      while (position >= 0) {
        const record = log.read(position);
        if (record === null || wheel.slotStartOf(record.effectiveMs) !== slotStartMs || record.prevPosition >= position) {
          this.logger.error({ position, slotStartMs }, 'timer log chain is broken; the rest of this slot is skipped');
          break;
        }
        if (record.effectiveMs >= this.deliveredUpToMs) this.heap.push({ ...record, position });
        position = record.prevPosition;
      }
      this.nextLoadMs = slotStartMs + timerSlotMs;
      checks++;
    }
    return false;
  }

  /** Handles due entries; true when the per-tick budget ran out. */
  private deliver(nowMs: number): boolean {
    const limitMs = Math.min(nowMs, this.intentDurableMs - 1);
    const budget = this.settings.timerMaxDeliveriesPerTick;
    let handled = 0;
    for (let top = this.heap.peek(); top !== undefined && top.effectiveMs <= limitMs; top = this.heap.peek()) {
      if (handled >= budget) break;
      this.handle(top, nowMs);
      this.heap.pop();
      handled++;
    }
    const next = Math.min(this.heap.peek()?.effectiveMs ?? Number.POSITIVE_INFINITY, this.nextLoadMs, limitMs + 1);
    if (next > this.deliveredUpToMs) {
      this.deliveredUpToMs = next;
      if (this.recheckBelowMs > 0 && next >= this.recheckBelowMs) {
        this.recheckBelowMs = 0;
        this.logger.info({ deduplicated: this.counters.deduplicated, delivered: this.counters.delivered }, 'timer caught up with the deliveries it was unsure about after the restart');
      }
      const last = this.progress[this.progress.length - 1];
      if (last !== undefined && (last.endOffset === this.lastWriteEndOffset || this.progress.length >= MAX_PROGRESS_POINTS)) {
        last.deliveredUpToMs = next;
        last.endOffset = this.lastWriteEndOffset;
      } else {
        this.progress.push({ deliveredUpToMs: next, endOffset: this.lastWriteEndOffset });
      }
    }
    return handled >= budget;
  }

  /**
   * Delivers, copies forward or drops one due entry. Retriable store refusals (disk full, closing,
   * busy) propagate and the entry stays; a message the store can never take is logged and skipped.
   */
  private handle(entry: TimerEntry, nowMs: number): void {
    try {
      this.handleOnce(entry, nowMs);
    } catch (error) {
      if (!isTideError(error) || error.retriable) throw error;
      this.logger.error({ err: error, physicalOffset: entry.physicalOffset }, 'timer message cannot be stored; skipped');
      this.counters.skipped++;
    }
  }

  private handleOnce(entry: TimerEntry, nowMs: number): void {
    const { store, writer } = this.options;
    let bytes: Buffer | null;
    try {
      bytes = store.readRecord(entry.physicalOffset);
    } catch (error) {
      if (!isTideError(error, 'STORE_CORRUPT')) throw error;
      this.logger.error({ err: error, physicalOffset: entry.physicalOffset }, 'timer message is corrupt; skipped');
      this.counters.skipped++;
      return;
    }
    const record = bytes === null ? null : decodeRecord(bytes);
    if (record === null || record.topic !== TIMER_TOPIC || record.queueOffset !== entry.queueOffset) {
      this.logger.warn({ physicalOffset: entry.physicalOffset, queueOffset: entry.queueOffset }, 'timer message no longer in the commit log; skipped');
      this.counters.skipped++;
      return;
    }
    const properties = decodeProperties(record.properties);
    if (properties.get(MessageProperty.TIMER_OUT_MS) !== String(entry.deliverMs)) {
      // Sent straight to the timer topic by a client, not parked by the broker: never deliver or copy it.
      this.logger.warn({ physicalOffset: entry.physicalOffset }, 'record in the timer topic was not parked by the broker; skipped');
      this.counters.skipped++;
      return;
    }
    const uniqueKey = properties.get(MessageProperty.UNIQ_KEY);
    if (uniqueKey !== undefined && this.running!.recalls.has(uniqueKey, entry.deliverMs)) {
      this.counters.recalled++;
      return;
    }
    const final = entry.deliverMs <= entry.effectiveMs;
    const unsure = entry.effectiveMs < this.recheckBelowMs || entry.queueOffset < this.recheckBelowQueueOffset;
    if (unsure && uniqueKey !== undefined) {
      const topic = final ? properties.get(MessageProperty.REAL_TOPIC) : TIMER_TOPIC;
      if (topic !== undefined && timerCopyExists(store, topic, uniqueKey, entry.deliverMs, record)) {
        this.counters.deduplicated++;
        return;
      }
    }
    if (!final) {
      const written = writer.writeTimerCopy(rollOf(record, properties), entry.deliverMs);
      this.lastWriteEndOffset = Math.max(this.lastWriteEndOffset, written.result.endOffset);
      this.counters.rolled++;
      return;
    }
    const message = deliveryOf(record, properties, nowMs);
    if (message === null) {
      this.logger.warn({ physicalOffset: entry.physicalOffset }, 'timer message has no REAL_TOPIC/REAL_QID; skipped');
      this.counters.skipped++;
      return;
    }
    const written = writer.write(message);
    this.lastWriteEndOffset = Math.max(this.lastWriteEndOffset, written.result.endOffset);
    this.counters.delivered++;
  }

  /** Entries taken in or handled so far; an idle timer does not rewrite its files. */
  private activity(): number {
    const { delivered, rolled, recalled, deduplicated, skipped } = this.counters;
    return this.enqueueOffset + delivered + rolled + recalled + deduplicated + skipped;
  }

  private maybePersist(nowMs: number): void {
    if (this.persisting || this.state !== 'running') return;
    // The intent must be durable ahead of entries coming due; otherwise persist only after work.
    const nextDueMs = this.heap.peek()?.effectiveMs ?? Number.POSITIVE_INFINITY;
    const intentNeeded = nextDueMs <= nowMs + INTENT_LEAD_MS && this.intentDurableMs - nowMs < INTENT_LEAD_MS / 2;
    const worked = this.activity() !== this.persistedActivity && nowMs - this.lastPersistMs >= this.settings.timerFlushIntervalMs;
    if (!intentNeeded && !worked) return;
    this.persisting = this.runPersist(nowMs, false)
      .catch((error: unknown) => this.logger.error({ err: error }, 'persisting the timer progress failed; retrying'))
      .finally(() => {
        this.persisting = null;
      });
  }

  /**
   * One durable step, in this order: the timer log (fdatasync), then timercheck with the enqueue
   * offset it covers, the progress the commit log is flushed past and a new intent, then (every
   * timerWheelSnapshotIntervalMs) the wheel snapshot; then segments wholly delivered are deleted.
   */
  private async runPersist(nowMs: number, forceSnapshot: boolean): Promise<void> {
    const running = this.running!;
    const { log, wheel, recalls } = running;
    await this.requestFlush(this.lastWriteEndOffset);
    // From here to log.sync() nothing awaits: the snapshot and the enqueue offset describe exactly
    // the records written out now, and the fdatasync below covers all of them.
    log.writeOut();
    const flushedOffset = this.options.store.stats().flushedOffset;
    let durableUpTo = this.durableDeliveredUpToMs;
    let consumed = 0;
    while (consumed < this.progress.length && this.progress[consumed]!.endOffset <= flushedOffset) {
      durableUpTo = this.progress[consumed]!.deliveredUpToMs;
      consumed++;
    }
    const enqueueOffset = this.enqueueOffset;
    const activity = this.activity();
    const intent = Math.max(this.intentDurableMs, nowMs + INTENT_LEAD_MS);
    const logEnd = log.endPosition;
    const snapshotDue = forceSnapshot || (logEnd !== this.snapshotLogEnd && nowMs - this.lastSnapshotMs >= this.settings.timerWheelSnapshotIntervalMs);
    const snapshot = snapshotDue ? wheel.encodeSnapshot(logEnd, log.segmentTable()) : null;
    this.lastPersistMs = nowMs;
    await log.sync();
    await writeTimerCheckpoint(join(this.directory, TimerFiles.checkpoint), {
      deliveredUpToMs: durableUpTo,
      intentUpToMs: intent,
      enqueueOffset,
      recheckBelowQueueOffset: this.recheckBelowQueueOffset,
    });
    this.intentDurableMs = Math.max(this.intentDurableMs, intent);
    this.durableDeliveredUpToMs = durableUpTo;
    // deliver() may have moved the newest point forward meanwhile: drop only points now covered.
    const kept = this.progress.findIndex((point) => point.deliveredUpToMs > durableUpTo);
    this.progress = kept < 0 ? [] : this.progress.slice(kept);
    this.persistedActivity = activity;
    if (snapshot !== null) {
      await replaceFileDurably(join(this.directory, TimerFiles.wheel), snapshot);
      this.lastSnapshotMs = nowMs;
      this.snapshotLogEnd = logEnd;
    }
    recalls.prune(durableUpTo);
    if (this.running === running) log.deleteSegmentsBefore(wheel.slotStartOf(durableUpTo));
  }
}
