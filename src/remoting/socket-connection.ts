/**
 * One remoting connection over a TCP socket, used by both the server and the client: frames in,
 * commands dispatched (answers matched to our requests by opaque, requests run through the handler
 * table), frames out in batches.
 *
 * Lifecycle of an inbound request: decode → unknown code? answer REQUEST_CODE_NOT_SUPPORTED → over
 * the running-handler limit? answer SYSTEM_BUSY without running it → run the handler → its result
 * (now, from its promise, or later through `context.reply`) is encoded with the request's opaque and
 * the response bit. Oneway requests never get an answer.
 *
 * Limits and backpressure:
 * - `maxRunningHandlers`: handlers that have not returned (sync) or settled (promise). A request a
 *   handler keeps for later (it returned null: long polling) no longer counts; its owner limits those.
 * - `handlerTimeoutMs`: a handler promise unsettled this long is answered SYSTEM_ERROR and its slot
 *   freed, so a stuck handler cannot take the connection's slots for ever.
 * - Outbound bytes: when Node holds more than `pauseReadingAboveBytes` for the socket (the kernel
 *   buffer is full), we stop reading from it and stop dispatching frames already received, until it
 *   drains; a peer that sends but does not read stops being served. If bytes queued (ours plus
 *   `socket.writableLength`) would pass `maxQueuedOutboundBytes`, a response closes the connection
 *   (the peer is not reading at all: held answers keep coming) and our own requests are refused with
 *   SYSTEM_BUSY.
 * - `maxPendingInvokes`: requests we sent and wait for; past it, invoke rejects with SYSTEM_BUSY.
 *
 * Writes are collected and flushed once per microtask (or at once past FLUSH_NOW_BYTES) with
 * cork/uncork, so the answers to one socket read leave in one write; small frames are coalesced
 * into staging buffers on the way (outbound-frames.ts).
 *
 * A handler that answers later but should keep its running-handler slot until then (the broker's
 * send path, which acknowledges a whole turn of appends at once) calls `context.defer()` and returns
 * null; it must answer, through `reply` or `replyEncoded`. Deferred requests are not swept for
 * handlerTimeoutMs: their owner guarantees the answer.
 */
import type { Socket } from 'node:net';
import { assert } from '../common/assert.js';
import { ResponseCode, TideError, isTideError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { FrameDecoder, decodeCommandAt, encodeCommandAs, prepareCommand } from '../protocol/remoting-codec.js';
import {
  RemotingFlag,
  createResponse,
  isOneway,
  type HandlerTable,
  type RemotingCommand,
  type DeferrableRequestContext,
  type RemotingConnection,
} from '../protocol/remoting-command.js';
import { OutboundFrames } from './outbound-frames.js';
import { monotonicNowMs, registerSweepable, unregisterSweepable, type Sweepable } from './timeout-sweeper.js';

export interface ConnectionSettings {
  readonly handlers: HandlerTable;
  readonly logger: Logger;
  readonly maxRunningHandlers: number;
  readonly maxPendingInvokes: number;
  readonly maxQueuedOutboundBytes: number;
  readonly pauseReadingAboveBytes: number;
  /** 0 = handlers may run for ever. */
  readonly handlerTimeoutMs: number;
  /** 0 = no idle timeout. */
  readonly idleTimeoutMs: number;
}

/** Batched writes leave at once when this many bytes are waiting, without waiting for the microtask. */
const FLUSH_NOW_BYTES = 64 * 1024;
/** How long a gracefully closed socket may take to flush before it is destroyed. */
const CLOSE_FLUSH_GRACE_MS = 1000;
/** Remarks sent for unexpected handler errors are cut to this length; the full error is logged. */
const MAX_ERROR_REMARK_CHARS = 200;
const RESPONSE_AND_ONEWAY = RemotingFlag.RESPONSE | RemotingFlag.ONEWAY;

/** A request we sent and wait for; settled by its answer, a timeout, an abort or the close. */
class PendingInvoke {
  resolve!: (response: RemotingCommand) => void;
  reject!: (error: Error) => void;
  signal: AbortSignal | undefined = undefined;
  abortListener: (() => void) | undefined = undefined;

  constructor(
    readonly opaque: number,
    readonly code: number,
    readonly timeoutMs: number,
    readonly deadlineMs: number,
  ) {}
}

/** The entry whose promise is being made: lets one module-level executor serve every invoke, no closure each. */
let invokeBeingMade: PendingInvoke | undefined;
function attachSettlers(resolve: (response: RemotingCommand) => void, reject: (error: Error) => void): void {
  const entry = invokeBeingMade as PendingInvoke;
  entry.resolve = resolve;
  entry.reject = reject;
}

/** The context handed to a handler: one object per request, no closures. */
class InboundRequest implements DeferrableRequestContext {
  /** The handler has not returned or settled yet (or deferred its answer): it holds a running-handler slot. */
  running = true;
  /** The handler called defer(): its slot is freed by the answer, not by its return. */
  deferred = false;
  answered: boolean;
  startedMs = 0;

  constructor(
    readonly connection: SocketConnection,
    readonly request: RemotingCommand,
  ) {
    this.answered = isOneway(request);
  }

  reply(response: RemotingCommand): void {
    this.connection.replyTo(this, response);
  }

  defer(): void {
    this.deferred = true;
  }

  replyEncoded(bytes: Buffer, start: number, end: number): void {
    this.connection.replyEncodedTo(this, bytes, start, end);
  }
}

let nextConnectionId = 1;

export class SocketConnection implements RemotingConnection, Sweepable {
  readonly id: number;
  readonly remoteAddress: string;
  readonly localAddress: string;
  private isClosed = false;
  private readonly socket: Socket;
  private readonly settings: ConnectionSettings;
  private readonly logger: Logger;
  private readonly decoder = new FrameDecoder();
  private readonly pending = new Map<number, PendingInvoke>();
  /** Handlers that returned a promise which has not settled; swept for handlerTimeoutMs. */
  private readonly asyncHandlers = new Set<InboundRequest>();
  private runningHandlers = 0;
  /** Requests (not oneway) received and not answered yet, held ones included. */
  private unanswered = 0;
  private readonly outbound = new OutboundFrames();
  private flushScheduled = false;
  private readingPaused = false;
  private closeListeners: (() => void)[] = [];
  private destroyTimer: NodeJS.Timeout | undefined;

  constructor(socket: Socket, settings: ConnectionSettings) {
    this.id = nextConnectionId++;
    this.socket = socket;
    this.settings = settings;
    this.logger = settings.logger;
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.localAddress = `${socket.localAddress ?? '?'}:${socket.localPort ?? 0}`;
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
    socket.on('close', this.onSocketClose);
    if (settings.idleTimeoutMs > 0) {
      socket.setTimeout(settings.idleTimeoutMs);
      socket.on('timeout', this.onIdle);
    }
    registerSweepable(this);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Requests received and not answered yet (held long-polling requests included). */
  get unansweredRequests(): number {
    return this.unanswered;
  }

  /** Handlers that are still running (sync not returned, or promise not settled). */
  get runningHandlerCount(): number {
    return this.runningHandlers;
  }

  onClose(listener: () => void): void {
    if (this.isClosed) queueMicrotask(listener);
    else this.closeListeners.push(listener);
  }

  invoke(request: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    return this.invokeWithSignal(request, timeoutMs, undefined);
  }

  /** invoke, also rejected with ABORTED when `signal` fires first. */
  invokeWithSignal(request: RemotingCommand, timeoutMs: number, signal: AbortSignal | undefined): Promise<RemotingCommand> {
    if (this.isClosed) return Promise.reject(this.closedError(request.code, 'it is closed'));
    if (signal?.aborted) return Promise.reject(abortedError(request.code));
    if (this.pending.size >= this.settings.maxPendingInvokes) {
      return Promise.reject(new TideError('SYSTEM_BUSY', `${this.pending.size} requests already wait for answers on ${this.remoteAddress}`));
    }
    // The message is built only on failure: a template literal per request showed in client profiles.
    if (this.pending.has(request.opaque)) assert(false, `opaque ${request.opaque} is already in flight on ${this.remoteAddress}`);
    let queued: boolean;
    try {
      queued = this.enqueueCommand(request, request.opaque, request.flag & ~RESPONSE_AND_ONEWAY, false);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!queued) return Promise.reject(this.isClosed ? this.closedError(request.code, 'it is closed') : outboundFullError(this.remoteAddress));
    const entry = new PendingInvoke(request.opaque, request.code, timeoutMs, monotonicNowMs() + timeoutMs);
    invokeBeingMade = entry;
    const promise = new Promise<RemotingCommand>(attachSettlers);
    invokeBeingMade = undefined;
    this.pending.set(request.opaque, entry);
    if (signal !== undefined) {
      entry.signal = signal;
      entry.abortListener = () => {
        if (this.pending.get(entry.opaque) !== entry) return;
        this.pending.delete(entry.opaque);
        entry.reject(abortedError(entry.code));
      };
      signal.addEventListener('abort', entry.abortListener, { once: true });
    }
    return promise;
  }

  invokeOneway(request: RemotingCommand): boolean {
    if (this.isClosed) return false;
    return this.enqueueCommand(request, request.opaque, (request.flag & ~RemotingFlag.RESPONSE) | RemotingFlag.ONEWAY, false);
  }

  /** Graceful close: what is queued is still sent, then the socket ends. */
  close(): void {
    this.closeAfterFlush('closed locally', undefined);
  }

  private closeAfterFlush(reason: string, cause: unknown): void {
    if (this.isClosed) return;
    this.finish(reason, cause);
    this.flush();
    this.socket.end();
    this.destroyTimer = setTimeout(destroySocket, CLOSE_FLUSH_GRACE_MS, this.socket);
    this.destroyTimer.unref();
  }

  /** Closes at once without flushing: the stream is broken or the peer misbehaves. */
  abort(reason: string, cause?: unknown): void {
    if (!this.isClosed) this.finish(reason, cause);
    this.outbound.clear();
    this.socket.destroy();
  }

  sweep(nowMs: number): void {
    if (this.pending.size > 0) {
      for (const entry of this.pending.values()) {
        if (entry.deadlineMs > nowMs) continue;
        this.pending.delete(entry.opaque);
        removeAbortListener(entry);
        entry.reject(new TideError('REQUEST_TIMEOUT', `no answer to request code ${entry.code} from ${this.remoteAddress} within ${entry.timeoutMs} ms`));
      }
    }
    const handlerTimeoutMs = this.settings.handlerTimeoutMs;
    if (this.asyncHandlers.size > 0 && handlerTimeoutMs > 0) {
      for (const inbound of this.asyncHandlers) {
        if (nowMs - inbound.startedMs < handlerTimeoutMs) continue;
        this.handlerFinished(inbound);
        this.logger.warn({ remoteAddress: this.remoteAddress, code: inbound.request.code }, `request handler did not finish within ${handlerTimeoutMs} ms`);
        this.replyTo(inbound, createResponse(inbound.request, ResponseCode.SYSTEM_ERROR, `request handler timed out after ${handlerTimeoutMs} ms`));
      }
    }
  }

  /** Sends the answer to `inbound` once; later answers, answers to oneway requests and answers on closed connections are dropped. */
  replyTo(inbound: InboundRequest, response: RemotingCommand): void {
    // A deferred handler's slot is freed by its answer, even one that is dropped (a oneway request's).
    if (inbound.deferred) this.handlerFinished(inbound);
    if (inbound.answered) {
      if (!isOneway(inbound.request)) this.logger.debug({ code: inbound.request.code, opaque: inbound.request.opaque }, 'second answer to one request dropped');
      return;
    }
    inbound.answered = true;
    this.unanswered--;
    if (this.isClosed) return;
    const request = inbound.request;
    try {
      this.enqueueCommand(response, request.opaque, response.flag | RemotingFlag.RESPONSE, true);
    } catch (error) {
      // Only an oversized answer can fail here; the client still deserves an answer.
      this.logger.error({ err: error, code: request.code }, 'response could not be encoded');
      const message = isTideError(error) ? error.message : 'response could not be encoded';
      this.enqueue(encodeCommandAs(createResponse(request, ResponseCode.SYSTEM_ERROR, message), request.opaque, RemotingFlag.RESPONSE), true);
    }
  }

  /**
   * Sends bytes[start, end), a whole response frame the handler encoded for `inbound` (its opaque and
   * the response flag), once; the bytes are copied, so they may sit in the caller's scratch buffer.
   */
  replyEncodedTo(inbound: InboundRequest, bytes: Buffer, start: number, end: number): void {
    if (inbound.deferred) this.handlerFinished(inbound);
    if (inbound.answered) {
      if (!isOneway(inbound.request)) this.logger.debug({ code: inbound.request.code, opaque: inbound.request.opaque }, 'second answer to one request dropped');
      return;
    }
    inbound.answered = true;
    this.unanswered--;
    if (this.isClosed) return;
    this.enqueueCopy(bytes, start, end, true);
  }

  // -------------------------------------------------------------------------------------------
  // Inbound

  private readonly onData = (chunk: Buffer): void => {
    if (this.isClosed) return;
    this.decoder.push(chunk);
    this.processFrames();
  };

  /**
   * Dispatches buffered frames until none is complete or reading pauses: frames already received stay
   * in the decoder while the peer does not read its answers, which is what makes the pause effective.
   */
  private processFrames(): void {
    const decoder = this.decoder;
    try {
      while (!this.readingPaused && decoder.nextFrame()) {
        const command = decodeCommandAt(decoder.frameSource, decoder.frameStart, decoder.frameEnd);
        if ((command.flag & RemotingFlag.RESPONSE) !== 0) this.completeInvoke(command);
        else this.dispatchRequest(command);
        if (this.isClosed) return;
      }
    } catch (error) {
      if (!isTideError(error, 'FRAME_MALFORMED') && !isTideError(error, 'FRAME_TOO_LARGE')) throw error;
      this.logger.warn({ remoteAddress: this.remoteAddress, code: error.code }, `closing connection: ${error.message}`);
      // Answers to the good frames before the broken one still go out; nothing more is read.
      this.closeAfterFlush(`broken framing: ${error.message}`, error);
    }
  }

  private completeInvoke(response: RemotingCommand): void {
    const entry = this.pending.get(response.opaque);
    if (entry === undefined) {
      // Late (after a timeout) or never asked; either way nobody waits for it.
      this.logger.debug({ remoteAddress: this.remoteAddress, opaque: response.opaque, code: response.code }, 'answer to no pending request dropped');
      return;
    }
    this.pending.delete(response.opaque);
    removeAbortListener(entry);
    entry.resolve(response);
  }

  private dispatchRequest(request: RemotingCommand): void {
    const oneway = isOneway(request);
    const handler = this.settings.handlers.get(request.code);
    if (handler === undefined) {
      if (!oneway) this.sendDirect(request, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, ` request type ${request.code} not supported`);
      return;
    }
    if (this.runningHandlers >= this.settings.maxRunningHandlers) {
      if (oneway) this.logger.debug({ remoteAddress: this.remoteAddress, code: request.code }, 'oneway request dropped: connection at its in-flight limit');
      else this.sendDirect(request, ResponseCode.SYSTEM_BUSY, `[OVERLOAD] ${this.runningHandlers} requests in flight on this connection, the limit`);
      return;
    }
    const inbound = new InboundRequest(this, request);
    this.runningHandlers++;
    if (!oneway) this.unanswered++;
    let result: RemotingCommand | null | Promise<RemotingCommand | null>;
    try {
      result = handler(request, inbound);
    } catch (error) {
      this.handlerFailed(inbound, error);
      return;
    }
    if (result !== null && result !== undefined && typeof (result as Promise<unknown>).then === 'function') {
      inbound.startedMs = monotonicNowMs();
      this.asyncHandlers.add(inbound);
      (result as Promise<RemotingCommand | null>).then(
        (response) => this.handlerSettled(inbound, response),
        (error: unknown) => this.handlerFailed(inbound, error),
      );
      return;
    }
    // A deferred handler keeps its slot until it answers (it may have answered already).
    if (!inbound.deferred) this.handlerFinished(inbound);
    if (result !== null && result !== undefined) this.replyTo(inbound, result as RemotingCommand);
  }

  private handlerFinished(inbound: InboundRequest): void {
    if (!inbound.running) return;
    inbound.running = false;
    this.runningHandlers--;
    this.asyncHandlers.delete(inbound);
  }

  private handlerSettled(inbound: InboundRequest, response: RemotingCommand | null | undefined): void {
    this.handlerFinished(inbound);
    if (response !== null && response !== undefined) this.replyTo(inbound, response);
  }

  private handlerFailed(inbound: InboundRequest, error: unknown): void {
    this.handlerFinished(inbound);
    const request = inbound.request;
    if (isTideError(error)) {
      this.logger.debug({ remoteAddress: this.remoteAddress, code: request.code, errorCode: error.code }, error.message);
      this.replyTo(inbound, createResponse(request, error.responseCode, error.message));
      return;
    }
    this.logger.error({ err: error, remoteAddress: this.remoteAddress, code: request.code }, 'request handler failed');
    // The client gets one line: no stack trace, no internals beyond the message.
    const message = error instanceof Error ? error.message : String(error);
    const firstLine = message.split('\n', 1)[0] as string;
    const remark = `system error: ${firstLine.length > MAX_ERROR_REMARK_CHARS ? firstLine.slice(0, MAX_ERROR_REMARK_CHARS) + '…' : firstLine}`;
    this.replyTo(inbound, createResponse(request, ResponseCode.SYSTEM_ERROR, remark));
  }

  /** An answer that never involved a handler (unknown code, busy). */
  private sendDirect(request: RemotingCommand, code: number, remark: string): void {
    this.enqueue(encodeCommandAs(createResponse(request, code, remark), request.opaque, RemotingFlag.RESPONSE), true);
  }

  // -------------------------------------------------------------------------------------------
  // Outbound

  /** Queues a frame; false when closed or over the outbound limit (a response then closes the connection). */
  private enqueue(frame: Buffer, isResponseFrame: boolean): boolean {
    if (!this.admit(frame.length, isResponseFrame)) return false;
    this.outbound.push(frame);
    this.scheduleFlush();
    return true;
  }

  /** Queues a copy of bytes[start, end); false as for enqueue. */
  private enqueueCopy(bytes: Buffer, start: number, end: number, isResponseFrame: boolean): boolean {
    if (!this.admit(end - start, isResponseFrame)) return false;
    this.outbound.copy(bytes, start, end);
    this.scheduleFlush();
    return true;
  }

  /**
   * Encodes `command` (sent with `opaque` and `flag`) into the outbound bytes without a frame of its
   * own when the direct writer takes it. False as for enqueue; throws what encodeCommandAs throws.
   */
  private enqueueCommand(command: RemotingCommand, opaque: number, flag: number, isResponseFrame: boolean): boolean {
    const frameBytes = prepareCommand(command, opaque, flag);
    if (frameBytes < 0) return this.enqueue(encodeCommandAs(command, opaque, flag), isResponseFrame);
    if (!this.admit(frameBytes, isResponseFrame)) return false;
    this.outbound.commitPrepared(command, frameBytes);
    this.scheduleFlush();
    return true;
  }

  /** Whether `length` more bytes may be queued; past the limit a response aborts the connection. */
  private admit(length: number, isResponseFrame: boolean): boolean {
    if (this.isClosed) return false;
    const queuedBytes = this.socket.writableLength + this.outbound.bytes + length;
    if (queuedBytes > this.settings.maxQueuedOutboundBytes) {
      if (isResponseFrame) {
        this.logger.warn({ remoteAddress: this.remoteAddress, queuedBytes }, 'closing connection: the peer does not read its answers');
        this.abort(`more than ${this.settings.maxQueuedOutboundBytes} bytes queued for a peer that does not read`);
      }
      return false;
    }
    return true;
  }

  private scheduleFlush(): void {
    if (this.outbound.bytes >= FLUSH_NOW_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushFromMicrotask);
    }
  }

  private readonly flushFromMicrotask = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  private flush(): void {
    if (this.outbound.bytes === 0) return;
    const chunks = this.outbound.take();
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    const count = chunks.length;
    if (count === 1) socket.write(chunks[0] as Buffer);
    else {
      socket.cork();
      for (let index = 0; index < count; index++) socket.write(chunks[index] as Buffer);
      socket.uncork();
    }
    // Checked after writing: a write the kernel takes at once leaves writableLength at 0 and emits no
    // 'drain', so only bytes Node really holds may pause reading (and those guarantee a 'drain').
    const heldBytes = socket.writableLength;
    // Nothing held: the kernel has every staged byte, so the staging buffer may be written again.
    if (heldBytes === 0) this.outbound.rewind();
    if (!this.readingPaused && heldBytes > this.settings.pauseReadingAboveBytes) {
      this.readingPaused = true;
      socket.pause();
    }
  }

  private readonly onDrain = (): void => {
    if (this.readingPaused && !this.isClosed) {
      this.readingPaused = false;
      this.socket.resume();
      this.processFrames();
    }
  };

  // -------------------------------------------------------------------------------------------
  // Close

  private readonly onIdle = (): void => {
    // Held requests and our own pending ones are activity even when no byte moves.
    if (this.pending.size > 0 || this.unanswered > 0 || this.runningHandlers > 0) return;
    this.logger.info({ remoteAddress: this.remoteAddress }, `closing connection idle for ${this.settings.idleTimeoutMs} ms`);
    this.close();
  };

  private readonly onError = (error: Error): void => {
    // 'close' follows; ECONNRESET and friends are the peer's business, not ours.
    this.logger.debug({ err: error, remoteAddress: this.remoteAddress }, 'socket error');
  };

  private readonly onSocketClose = (): void => {
    if (this.destroyTimer !== undefined) clearTimeout(this.destroyTimer);
    if (!this.isClosed) this.finish('closed by the peer or the network', undefined);
  };

  /** Marks closed, fails what waits for an answer, tells the listeners. Runs once. */
  private finish(reason: string, cause: unknown): void {
    this.isClosed = true;
    unregisterSweepable(this);
    this.asyncHandlers.clear();
    if (this.pending.size > 0) {
      const entries = [...this.pending.values()];
      this.pending.clear();
      for (const entry of entries) {
        removeAbortListener(entry);
        entry.reject(this.closedError(entry.code, reason, cause));
      }
    }
    const listeners = this.closeListeners;
    this.closeListeners = [];
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        this.logger.error({ err: error }, 'connection close listener failed');
      }
    }
  }

  private closedError(code: number, reason: string, cause?: unknown): TideError {
    return new TideError('CONNECTION_CLOSED', `connection to ${this.remoteAddress} closed before the answer to request code ${code}: ${reason}`, { cause });
  }
}

function removeAbortListener(entry: PendingInvoke): void {
  if (entry.signal !== undefined && entry.abortListener !== undefined) entry.signal.removeEventListener('abort', entry.abortListener);
}

function abortedError(code: number): TideError {
  return new TideError('ABORTED', `request code ${code} aborted`);
}

function outboundFullError(remoteAddress: string): TideError {
  return new TideError('SYSTEM_BUSY', `too many bytes queued for ${remoteAddress}`);
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}
