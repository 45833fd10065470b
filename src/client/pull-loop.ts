/**
 * The push consumer's per-queue pull loop: long-polls one owned queue while it is owned, pausing for
 * flow control (too many or too large cached messages, or too wide a span in concurrent mode) and,
 * for orderly clustering consumers, while the queue's broker lock is not held. Found messages are
 * filtered by tag, cached in the queue's process queue and handed to the consume service; an offset
 * the broker calls illegal moves the queue (and its committed offset) to the broker's answer.
 */
import type { ClientInstance } from './client-instance.js';
import { sleep } from './async-tools.js';
import { pullChannel } from './diagnostics.js';
import type { OffsetStore } from './offset-store.js';
import type { QueueEntry } from './process-queue.js';
import type { PushSettings } from './push-consumer-options.js';
import { pullMessages, PullStatus } from './pull-request.js';
import type { QueueState } from './queue-state.js';
import { tagMatches } from './subscription.js';

/** How often a flow-controlled queue checks whether it may pull again. */
const FLOW_CONTROL_WAIT_MS = 50;

/** What a pull loop needs from its consumer. */
export interface PullLoopHost {
  readonly instance: ClientInstance;
  readonly group: string;
  readonly orderly: boolean;
  readonly clustering: boolean;
  readonly settings: PushSettings;
  readonly offsetStore: OffsetStore;
  /** Whether the consumer is shutting down (read at every turn). */
  stopping(): boolean;
  /** Orderly, clustering: whether the queue's broker lock is held and fresh. */
  lockValid(state: QueueState): boolean;
  /** Hands freshly cached entries (never none) to the consume service. */
  deliver(state: QueueState, entries: readonly QueueEntry[]): void;
}

function flowControlled(host: PullLoopHost, state: QueueState): boolean {
  const pq = state.pq;
  if (pq.count > host.settings.pullThresholdForQueue || pq.bytes > host.settings.pullThresholdSizeForQueueBytes) return true;
  return !host.orderly && pq.span > host.settings.consumeConcurrentlyMaxSpan;
}

/** Nothing cached: the committed offset may follow the pull offset past filtered-out messages. */
function correctTagsOffset(host: PullLoopHost, state: QueueState): void {
  if (state.pq.count === 0 && !state.dropped) host.offsetStore.update(state.queue, state.nextOffset, true);
}

/** Pulls `state`'s queue until the queue is dropped or the consumer stops. */
export async function runPullLoop(host: PullLoopHost, state: QueueState): Promise<void> {
  const { instance, settings } = host;
  const queue = state.queue;
  const signal = state.signal;
  while (!state.dropped && !host.stopping()) {
    if (flowControlled(host, state)) {
      await sleep(FLOW_CONTROL_WAIT_MS, signal);
      continue;
    }
    if (host.orderly && host.clustering && !host.lockValid(state)) {
      await sleep(Math.min(1000, settings.lockRenewIntervalMs), signal);
      continue;
    }
    const address = instance.readAddress(queue.brokerName);
    if (address === undefined) {
      await sleep(settings.pullRetryDelayMs, signal);
      continue;
    }
    const startedMs = Date.now();
    const offset = state.nextOffset;
    let result;
    try {
      result = await pullMessages(instance, address, {
        group: host.group,
        queue,
        offset,
        maxMessages: settings.pullBatchSize,
        subscription: state.subscription,
        commitOffset: host.clustering ? host.offsetStore.readFromMemory(queue) : 0,
        suspendMs: settings.pullSuspendMs,
        timeoutMs: settings.pullTimeoutMs,
        signal,
      });
    } catch (error) {
      if (state.dropped || host.stopping()) return;
      if (pullChannel.hasSubscribers) pullChannel.publish({ clientId: instance.clientId, group: host.group, queue, offset, found: 0, durationMs: Date.now() - startedMs, error });
      instance.reportBackgroundError(`pull of ${queue.topic}#${queue.queueId}@${queue.brokerName}`, error);
      await sleep(settings.pullRetryDelayMs, signal);
      continue;
    }
    if (state.dropped) return;
    if (pullChannel.hasSubscribers) {
      pullChannel.publish({ clientId: instance.clientId, group: host.group, queue, offset, found: result.messages.length, nextOffset: result.nextBeginOffset, durationMs: Date.now() - startedMs });
    }
    switch (result.status) {
      case PullStatus.FOUND: {
        state.nextOffset = result.nextBeginOffset;
        const subscription = state.subscription;
        const messages = subscription.tagsSet.length === 0 ? result.messages : result.messages.filter((message) => tagMatches(subscription, message.tags));
        const entries = state.pq.put(messages);
        if (entries.length === 0) correctTagsOffset(host, state);
        else host.deliver(state, entries);
        break;
      }
      case PullStatus.NO_NEW_MSG:
      case PullStatus.NO_MATCHED_MSG:
        state.nextOffset = result.nextBeginOffset;
        correctTagsOffset(host, state);
        break;
      case PullStatus.OFFSET_ILLEGAL:
        instance.logger.warn({ queue, offset, nextBeginOffset: result.nextBeginOffset }, 'pull offset out of range; moving to the broker’s offset');
        state.nextOffset = result.nextBeginOffset;
        state.pq.clear();
        host.offsetStore.update(queue, result.nextBeginOffset, false);
        void host.offsetStore.persist([queue]).catch((error: unknown) => instance.reportBackgroundError('offset commit', error));
        break;
    }
  }
}
