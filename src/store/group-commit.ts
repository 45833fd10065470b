/**
 * The flush service: when commit-log bytes are written out and made durable, and who is told.
 *
 * - Every append schedules one write-out on the next turn of the event loop (setImmediate), so all
 *   appends of one turn share one `write` (with SYNC_FLUSH on the libuv thread pool while the event
 *   loop goes on encoding; with ASYNC_FLUSH at once when small, see `write-batches.ts`). It runs in both modes,
 *   whether or not an fdatasync is running, so an append never sits in the process's buffer for
 *   longer than one turn plus a write.
 * - `waitWritten(endOffset)` resolves once the bytes are handed to the kernel (they then survive a
 *   crash of the process, not of the machine). All waiters of one turn share one promise, settled
 *   when the written offset passes the highest offset any of them waits for: no promise or closure
 *   per append.
 * - ASYNC_FLUSH: an fdatasync every `flushIntervalMs`; `waitDurable` is `waitWritten`, which is what
 *   DESIGN.md promises an ASYNC_FLUSH acknowledgement: it survives a process crash.
 * - SYNC_FLUSH (group commit): `waitDurable(endOffset)` queues a waiter. When no fdatasync is running
 *   the pending bytes are written at the end of the current turn of the event loop, and once every
 *   pending write has completed an fdatasync starts (both on the libuv pool), so the appends of one
 *   turn go together; waiters that arrive while it runs share the next one. When an fdatasync
 *   completes, every waiter whose endOffset is at or below the durable offset is resolved in one
 *   loop, and the next fdatasync starts on the next turn, so the appenders just resolved (their
 *   continuations run first) join the group already waiting.
 *   The waiters of one turn of the event loop share one promise (no promise or closure per append),
 *   resolved once the highest offset any of them waits for is durable. One timer, armed for the
 *   oldest turn's deadline, answers FLUSH_DISK_TIMEOUT to those not made durable within
 *   `syncFlushTimeoutMs` of the turn's first waiter; a waiter that arrives out of offset order is
 *   only answered late, never early.
 * - A failed write or fdatasync rejects every waiter with STORE_WRITE_FAILED and the durable offset
 *   never moves again: nothing written after a failure is ever reported durable.
 */
import { TideError } from '../common/errors.js';
import { assert } from '../common/assert.js';
import type { FlushDiskType } from './store-config.js';
import type { FlushStatus } from './types.js';
import type { CommitLog } from './commit-log.js';

export interface GroupCommitOptions {
  flushDiskType: FlushDiskType;
  flushIntervalMs: number;
  syncFlushTimeoutMs: number;
  maxPendingWaiters: number;
  /** Monotonic milliseconds (deadlines only). */
  nowMs(): number;
}

const PUT_OK: Promise<FlushStatus> = Promise.resolve('PUT_OK');

/** One promise shared by every `waitWritten` of a turn, settled once `target` is written. */
interface WriteOutTurn {
  /** The highest end offset any waiter of the turn waits for. */
  target: number;
  promise: Promise<FlushStatus>;
  resolve(status: FlushStatus): void;
  reject(error: Error): void;
}

/**
 * The SYNC_FLUSH waiters of one turn of the event loop: one promise for all of them, resolved once
 * `target` is durable, or with FLUSH_DISK_TIMEOUT at `deadlineMs` (the first waiter's deadline; the
 * others arrived in the same turn, so within a few milliseconds of it).
 */
interface DurableTurn {
  target: number;
  readonly deadlineMs: number;
  waiters: number;
  readonly promise: Promise<FlushStatus>;
  resolve(status: FlushStatus): void;
  reject(error: Error): void;
}

interface FlushRequest {
  offset: number;
  resolve(): void;
  reject(error: Error): void;
}

export class GroupCommit {
  private readonly syncFlush: boolean;
  /** SYNC_FLUSH waiters, one entry per turn of the event loop, in offset order; the last may be open. */
  private durableTurns: DurableTurn[] = [];
  private durableTurnOpen = false;
  private pendingWaiters = 0;
  /** Internal flush requests (close, checkpoint); few, so a plain array. */
  private flushRequests: FlushRequest[] = [];
  /** Turns waiting for writes, in offset order; the last one takes waiters until its turn ends. */
  private writeOutTurns: WriteOutTurn[] = [];
  private writeOutTurnOpen = false;
  private syncInFlight = false;
  private writeScheduled = false;
  private timeoutTimer: NodeJS.Timeout | null = null;
  private intervalTimer: NodeJS.Timeout | null = null;
  private failure: TideError | null = null;
  private halted = false;
  private idleWaiters: (() => void)[] = [];
  /** fdatasync calls completed; for stats and tests. */
  syncCount = 0;

  constructor(private readonly commitLog: CommitLog, private readonly options: GroupCommitOptions) {
    this.syncFlush = options.flushDiskType === 'SYNC_FLUSH';
    commitLog.writtenListener = this.onWritten;
  }

  start(): void {
    if (this.syncFlush) return;
    this.intervalTimer = setInterval(() => {
      if (this.commitLog.maxOffset > this.commitLog.flushedOffset) this.startSync();
    }, this.options.flushIntervalMs);
    this.intervalTimer.unref();
  }

  /** Stops the ASYNC_FLUSH interval; explicit flushes still work (close uses them). */
  stopInterval(): void {
    if (this.intervalTimer !== null) clearInterval(this.intervalTimer);
    this.intervalTimer = null;
  }

  /**
   * Stops everything: no write-out or fdatasync starts after this, and whoever still waits is told
   * STORE_CLOSED (never PUT_OK: their bytes may not be durable).
   */
  halt(): void {
    this.stopInterval();
    if (this.halted) return;
    this.halted = true;
    this.commitLog.stopWriting();
    const closed = new TideError('STORE_CLOSED', 'the store closed before this append was durable');
    this.rejectDurableTurns(closed);
    for (const request of this.flushRequests) request.reject(closed);
    this.flushRequests = [];
    this.rejectWriteOutTurns(closed);
  }

  get pendingWaiterCount(): number {
    return this.pendingWaiters;
  }

  /** Called after every append: the batch is written out on the next turn of the event loop. */
  afterAppend(): void {
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    setImmediate(this.onImmediate);
  }

  private readonly onImmediate = (): void => {
    this.writeScheduled = false;
    // The turn's waiters are complete: later ones wait for later bytes, in a turn of their own.
    this.writeOutTurnOpen = false;
    this.durableTurnOpen = false;
    if (this.failure !== null || this.halted) return;
    if (!this.startWriteOut()) return;
    // SYNC_FLUSH syncs every append soon, waited for or not (RocketMQ's WAIT=false still flushes).
    if (this.syncFlush || this.flushRequests.length > 0) this.startSync();
  };

  /** Starts writing the buffered bytes. False when the log has failed: fail() has rejected everyone. */
  private startWriteOut(): boolean {
    try {
      this.commitLog.startWriteOut();
    } catch {
      return false;
    }
    // A synchronous drain may have written everything already.
    this.settleWriteOutTurns();
    return true;
  }

  /** The commit log completed a write (or failed one): answer writers, start the fdatasync due. */
  private readonly onWritten = (): void => {
    if (this.failure === null && !this.halted) {
      this.settleWriteOutTurns();
      if (this.syncFlush || this.flushRequests.length > 0) this.startSync();
    }
    this.notifyIdle();
  };

  /** Resolves the turns whose every waiter's bytes are written. */
  private settleWriteOutTurns(): void {
    const turns = this.writeOutTurns;
    if (turns.length === 0) return;
    const written = this.commitLog.writtenOffset;
    let settled = 0;
    while (settled < turns.length && turns[settled]!.target <= written) turns[settled++]!.resolve('PUT_OK');
    if (settled === 0) return;
    if (settled === turns.length) {
      turns.length = 0;
      this.writeOutTurnOpen = false;
    } else {
      turns.splice(0, settled); // a handful of turns at most: one per turn of the event loop in flight
    }
  }

  private rejectWriteOutTurns(error: Error): void {
    const turns = this.writeOutTurns;
    this.writeOutTurns = [];
    this.writeOutTurnOpen = false;
    for (const turn of turns) turn.reject(error);
  }

  /**
   * Resolves 'PUT_OK' once every byte before `endOffset` has been handed to the kernel with write(2),
   * at the latest at the end of the current turn of the event loop. Rejects with STORE_WRITE_FAILED
   * when that write fails and with STORE_CLOSED when the store stops first.
   */
  waitWritten(endOffset: number): Promise<FlushStatus> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (endOffset <= this.commitLog.writtenOffset) return PUT_OK;
    if (this.halted) return Promise.reject(new TideError('STORE_CLOSED', 'the store is closed'));
    // The message is built only on failure: a template literal here would format two numbers per append.
    if (endOffset > this.commitLog.maxOffset) assert(false, `waitWritten(${endOffset}) is past the end of the log ${this.commitLog.maxOffset}`);
    const turns = this.writeOutTurns;
    let turn = this.writeOutTurnOpen ? turns[turns.length - 1]! : null;
    if (turn === null) {
      let resolve!: (status: FlushStatus) => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<FlushStatus>((resolvePromise, rejectPromise) => {
        resolve = resolvePromise;
        reject = rejectPromise;
      });
      turn = { target: endOffset, promise, resolve, reject };
      turns.push(turn);
      this.writeOutTurnOpen = true;
    } else if (endOffset > turn.target) {
      turn.target = endOffset;
    }
    this.afterAppend();
    return turn.promise;
  }

  /**
   * SYNC_FLUSH: resolves 'PUT_OK' once everything before `endOffset` is on disk (fdatasync), or
   * 'FLUSH_DISK_TIMEOUT' after syncFlushTimeoutMs. ASYNC_FLUSH: `waitWritten`.
   */
  waitDurable(endOffset: number): Promise<FlushStatus> {
    if (!this.syncFlush) return this.waitWritten(endOffset);
    if (this.failure !== null) return Promise.reject(this.failure);
    if (endOffset <= this.commitLog.flushedOffset) return PUT_OK;
    if (this.halted) return Promise.reject(new TideError('STORE_CLOSED', 'the store is closed'));
    // The message is built only on failure: a template literal here would format two numbers per append.
    if (endOffset > this.commitLog.maxOffset) assert(false, `waitDurable(${endOffset}) is past the end of the log ${this.commitLog.maxOffset}`);
    if (this.pendingWaiterCount >= this.options.maxPendingWaiters) {
      return Promise.reject(new TideError('SYSTEM_BUSY', `${this.pendingWaiterCount} appends are already waiting for fdatasync`));
    }
    const turns = this.durableTurns;
    let turn = this.durableTurnOpen ? turns[turns.length - 1]! : null;
    if (turn === null) {
      let resolve!: (status: FlushStatus) => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<FlushStatus>((resolvePromise, rejectPromise) => {
        resolve = resolvePromise;
        reject = rejectPromise;
      });
      turn = { target: endOffset, deadlineMs: this.options.nowMs() + this.options.syncFlushTimeoutMs, waiters: 0, promise, resolve, reject };
      turns.push(turn);
      this.durableTurnOpen = true;
      if (turns.length === 1) {
        if (this.timeoutTimer !== null) this.timeoutTimer.ref();
        else this.armTimeout();
      }
    } else if (endOffset > turn.target) {
      turn.target = endOffset;
    }
    turn.waiters++;
    this.pendingWaiters++;
    // With the disk idle, sync at once, unless a write-out is already scheduled for this turn of
    // the event loop: then the appends of this turn go together in that one.
    if (!this.syncInFlight && !this.writeScheduled) this.startSync();
    return turn.promise;
  }

  /** Resolves once everything appended so far is durable (close, checkpoint). */
  flushAll(): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.halted) return Promise.reject(new TideError('STORE_CLOSED', 'the store is closed'));
    const offset = this.commitLog.maxOffset;
    if (offset <= this.commitLog.flushedOffset) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.flushRequests.push({ offset, resolve, reject });
      this.startSync();
    });
  }

  /** Resolves when no fdatasync of this service is running. */
  /** Resolves when no fdatasync of this service and no commit-log write is running. */
  whenIdle(): Promise<void> {
    if (!this.syncInFlight && !this.commitLog.writeInFlight) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    if (this.syncInFlight || this.commitLog.writeInFlight || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Writes out what is buffered and, once no write is pending (`onWritten` calls back here when the
   * last completes), starts one fdatasync over everything written.
   */
  private startSync(): void {
    if (this.syncInFlight || this.failure !== null || this.halted) return;
    if (!this.startWriteOut()) return; // fail() has rejected everyone
    // SYNC_FLUSH waits for the writes in flight (onWritten comes back here), so one fdatasync covers
    // the whole group. The ASYNC_FLUSH interval syncs what is written now: under steady load a
    // write is nearly always in flight, and waiting for a gap could put its fdatasync off for good.
    if (this.syncFlush && this.commitLog.writesPending) return;
    if (this.commitLog.writtenOffset <= this.commitLog.flushedOffset) {
      this.settle();
      return;
    }
    this.syncInFlight = true;
    this.commitLog.syncWritten(this.onSyncDone);
  }

  private readonly onSyncDone = (error: Error | null, syncedOffset: number, syncedStoreTimestamp: number): void => {
    this.syncInFlight = false;
    this.syncCount++;
    if (error !== null) {
      this.commitLog.fail(error); // calls back into fail()
    } else if (this.failure === null && syncedOffset > this.commitLog.flushedOffset) {
      this.commitLog.flushedOffset = syncedOffset;
      this.commitLog.flushedStoreTimestamp = syncedStoreTimestamp;
      this.settle();
    }
    if (this.failure === null && !this.halted && this.hasUnsatisfiedWork()) {
      // On the next turn, so the appenders just resolved (whose continuations run right after this
      // callback) join the waiters that arrived meanwhile in one group.
      this.afterAppend();
    }
    this.notifyIdle();
  };

  /**
   * Whether another fdatasync is due at once: a flush request is open, or (SYNC_FLUSH) bytes were
   * appended past the durable offset, whether or not anyone still waits for them (a waiter that
   * timed out must not leave its bytes unsynced until the next append).
   */
  private hasUnsatisfiedWork(): boolean {
    if (this.flushRequests.length > 0) return true;
    return this.syncFlush && this.commitLog.maxOffset > this.commitLog.flushedOffset;
  }

  /** Resolves every waiter and flush request at or below the durable offset. */
  private settle(): void {
    const flushed = this.commitLog.flushedOffset;
    const turns = this.durableTurns;
    let settled = 0;
    while (settled < turns.length && turns[settled]!.target <= flushed) this.resolveTurn(turns[settled++]!, 'PUT_OK');
    this.dropSettledTurns(settled);
    if (this.flushRequests.length > 0) {
      const remaining: FlushRequest[] = [];
      for (const request of this.flushRequests) {
        if (request.offset <= flushed) request.resolve();
        else remaining.push(request);
      }
      this.flushRequests = remaining;
    }
  }

  private resolveTurn(turn: DurableTurn, status: FlushStatus): void {
    this.pendingWaiters -= turn.waiters;
    turn.resolve(status);
  }

  /** Removes the first `count` turns (settled), and disarms the timer when none is left. */
  private dropSettledTurns(count: number): void {
    if (count === 0) return;
    const turns = this.durableTurns;
    // The timeout timer stays armed: re-arming it for every group cost more than letting it fire
    // once for nothing (it re-arms itself only while turns wait). Without waiters it must not keep
    // the process alive; the next waiter refs it again.
    if (count === turns.length) {
      turns.length = 0;
      this.durableTurnOpen = false;
      this.timeoutTimer?.unref();
    } else {
      turns.splice(0, count); // one turn per turn of the event loop waiting: a short array
    }
  }

  private rejectDurableTurns(error: Error): void {
    const turns = this.durableTurns;
    this.durableTurns = [];
    this.durableTurnOpen = false;
    this.pendingWaiters = 0;
    if (this.timeoutTimer !== null) clearTimeout(this.timeoutTimer);
    this.timeoutTimer = null;
    for (const turn of turns) turn.reject(error);
  }

  private armTimeout(): void {
    if (this.timeoutTimer !== null || this.durableTurns.length === 0) return;
    const delayMs = Math.max(0, this.durableTurns[0]!.deadlineMs - this.options.nowMs());
    this.timeoutTimer = setTimeout(this.onTimeout, delayMs + 1);
  }

  private readonly onTimeout = (): void => {
    this.timeoutTimer = null;
    const now = this.options.nowMs();
    const turns = this.durableTurns;
    let settled = 0;
    while (settled < turns.length && turns[settled]!.deadlineMs <= now) this.resolveTurn(turns[settled++]!, 'FLUSH_DISK_TIMEOUT');
    this.dropSettledTurns(settled);
    this.armTimeout();
  };

  /** Rejects everyone with the failure and stops reporting anything durable. */
  fail(error: TideError): void {
    if (this.failure !== null) return;
    this.failure = error;
    this.rejectDurableTurns(error);
    for (const request of this.flushRequests) request.reject(error);
    this.flushRequests = [];
    this.rejectWriteOutTurns(error);
    this.notifyIdle();
  }
}
