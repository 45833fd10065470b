/**
 * Acknowledges the plain sends of one turn together. The sends that one socket read delivers are
 * appended one after the other without a promise each: each is added to an open batch (one for sends
 * waiting for the flush mode's promise, one for WAIT=false sends), and a microtask after the read asks
 * the store once per batch for the last record's end offset (`waitBeforeAck`: SYNC_FLUSH after the
 * fdatasync covering it, ASYNC_FLUSH after the write(2) handing it to the kernel; a later offset being
 * safe makes every earlier one safe). When that settles, every send of the batch is answered, each
 * answer written by SendAnswerTemplate into one scratch buffer and copied into its connection's
 * outbound bytes. So no answer ever precedes the store's promise, and a turn costs one promise and one
 * waiter per batch instead of several promises per message.
 *
 * A batch holds only requests whose connections keep their running-handler slots until answered
 * (`DeferrableRequestContext.defer`), so the connections' in-flight limits bound it. A status other
 * than PUT_OK answers FLUSH_DISK_TIMEOUT and a failed wait answers the error (STORE_WRITE_FAILED,
 * STORE_CLOSED, SYSTEM_BUSY …), for every send of the batch.
 */
import { ResponseCode } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { HostAddress } from '../../protocol/host-address.js';
import { createOffsetMessageId } from '../../protocol/message-id.js';
import type { DeferrableRequestContext, RemotingCommand } from '../../protocol/remoting-command.js';
import { JSON_SCRATCH_BYTES } from '../../protocol/json-string-bytes.js';
import { waitBeforeAck } from '../../store/message-store.js';
import type { FlushStatus, MessageStoreApi } from '../../store/types.js';
import { answer, errorAnswer } from './handler-support.js';
import { SendAnswerTemplate } from './send-answer.js';

/** The remark of a FLUSH_DISK_TIMEOUT answer (as the general path words it). */
export const FLUSH_TIMEOUT_REMARK = 'the message is stored but not yet flushed to disk within syncFlushTimeout';

/** The extFields of a single send's answer, in the order the general path writes them. */
export function sendAnswerFields(storeHost: HostAddress, physicalOffset: number, queueId: number, queueOffset: number, regionId: string, traceOn: boolean, transactionId: string | undefined): Record<string, string> {
  const extFields: Record<string, string> = {
    msgId: createOffsetMessageId(storeHost, physicalOffset),
    queueId: String(queueId),
    queueOffset: String(queueOffset),
    MSG_REGION: regionId,
    TRACE_ON: String(traceOn),
  };
  if (transactionId !== undefined) extFields.transactionId = transactionId;
  return extFields;
}

class AckBatch {
  readonly contexts: DeferrableRequestContext[] = [];
  readonly requests: RemotingCommand[] = [];
  readonly physicalOffsets: number[] = [];
  readonly queueIds: number[] = [];
  readonly queueOffsets: number[] = [];
  readonly uniqueKeys: string[] = [];
  endOffset = 0;

  constructor(readonly waitForDisk: boolean) {}
}

/** What the batches need from the broker, read at answer time (the store host is known after listen). */
export interface SendAckSettings {
  readonly store: MessageStoreApi;
  readonly logger: Logger;
  storeHost(): HostAddress;
  regionId(): string;
  traceOn(): boolean;
}

const scratch = Buffer.allocUnsafeSlow(JSON_SCRATCH_BYTES);

export class SendAckBatcher {
  private waiting: AckBatch | undefined;
  private notWaiting: AckBatch | undefined;
  private closeScheduled = false;
  private template: SendAnswerTemplate | undefined;

  constructor(private readonly settings: SendAckSettings) {}

  /** Adds a send appended just now; its context has deferred its answer. */
  add(context: DeferrableRequestContext, request: RemotingCommand, physicalOffset: number, queueId: number, queueOffset: number, endOffset: number, uniqueKey: string, waitForDisk: boolean): void {
    let batch = waitForDisk ? this.waiting : this.notWaiting;
    if (batch === undefined) {
      batch = new AckBatch(waitForDisk);
      if (waitForDisk) this.waiting = batch;
      else this.notWaiting = batch;
      if (!this.closeScheduled) {
        this.closeScheduled = true;
        queueMicrotask(this.closeBatches);
      }
    }
    batch.contexts.push(context);
    batch.requests.push(request);
    batch.physicalOffsets.push(physicalOffset);
    batch.queueIds.push(queueId);
    batch.queueOffsets.push(queueOffset);
    batch.uniqueKeys.push(uniqueKey);
    if (endOffset > batch.endOffset) batch.endOffset = endOffset;
  }

  private readonly closeBatches = (): void => {
    this.closeScheduled = false;
    const waiting = this.waiting;
    const notWaiting = this.notWaiting;
    this.waiting = this.notWaiting = undefined;
    if (waiting !== undefined) this.awaitStore(waiting);
    if (notWaiting !== undefined) this.awaitStore(notWaiting);
  };

  private awaitStore(batch: AckBatch): void {
    let wait: Promise<FlushStatus>;
    try {
      wait = waitBeforeAck(this.settings.store, batch.endOffset, batch.waitForDisk);
    } catch (error) {
      this.answerFailed(batch, error);
      return;
    }
    wait.then(
      (status) => (status === 'PUT_OK' ? this.answerStored(batch) : this.answerTimedOut(batch)),
      (error: unknown) => this.answerFailed(batch, error),
    );
  }

  private currentTemplate(): SendAnswerTemplate {
    const storeHost = this.settings.storeHost();
    const regionId = this.settings.regionId();
    const traceOn = this.settings.traceOn();
    let template = this.template;
    if (template === undefined || !template.matches(storeHost, regionId, traceOn)) template = this.template = new SendAnswerTemplate(storeHost, regionId, traceOn);
    return template;
  }

  private answerStored(batch: AckBatch): void {
    const template = this.currentTemplate();
    const { contexts, requests, physicalOffsets, queueIds, queueOffsets, uniqueKeys } = batch;
    for (let index = 0; index < contexts.length; index++) {
      const context = contexts[index]!;
      const uniqueKey = uniqueKeys[index]!;
      const end = template.maxFrameBytes(uniqueKey) <= scratch.length ? template.write(scratch, 0, requests[index]!.opaque, physicalOffsets[index]!, queueIds[index]!, queueOffsets[index]!, uniqueKey) : -1;
      if (end >= 0) context.replyEncoded(scratch, 0, end);
      else {
        const extFields = sendAnswerFields(template.storeHost, physicalOffsets[index]!, queueIds[index]!, queueOffsets[index]!, template.regionId, template.traceOn, uniqueKey);
        context.reply(answer(requests[index]!, ResponseCode.SUCCESS, undefined, extFields));
      }
    }
  }

  private answerTimedOut(batch: AckBatch): void {
    const template = this.currentTemplate();
    const { contexts, requests, physicalOffsets, queueIds, queueOffsets, uniqueKeys } = batch;
    for (let index = 0; index < contexts.length; index++) {
      const extFields = sendAnswerFields(template.storeHost, physicalOffsets[index]!, queueIds[index]!, queueOffsets[index]!, template.regionId, template.traceOn, uniqueKeys[index]);
      contexts[index]!.reply(answer(requests[index]!, ResponseCode.FLUSH_DISK_TIMEOUT, FLUSH_TIMEOUT_REMARK, extFields));
    }
  }

  private answerFailed(batch: AckBatch, error: unknown): void {
    const { contexts, requests } = batch;
    for (let index = 0; index < contexts.length; index++) contexts[index]!.reply(errorAnswer(requests[index]!, error, this.settings.logger));
  }
}
