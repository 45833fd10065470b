/**
 * Where a consumer starts reading a queue (RebalancePushImpl.computePullFromWhere, reference §5): the
 * stored offset when the group has one; otherwise, for a new group, consumeFromWhere decides —
 * LAST: the queue's max offset (retry topics: 0), FIRST: 0, TIMESTAMP: the first message stored at or
 * after the timestamp (retry topics: the max offset).
 */
import { queryMaxOffset, searchOffset } from './broker-calls.js';
import { ClientStateError } from './client-errors.js';
import type { ClientInstance } from './client-instance.js';
import type { MessageQueue } from './message-queue.js';
import type { OffsetStore } from './offset-store.js';
import { isRetryTopic, type ConsumeFromWhere } from './subscription.js';

export async function computeStartOffset(
  instance: ClientInstance,
  offsetStore: OffsetStore,
  queue: MessageQueue,
  consumeFromWhere: ConsumeFromWhere,
  consumeTimestampMs: number,
  signal?: AbortSignal,
): Promise<number> {
  const stored = await offsetStore.readFromStore(queue, signal);
  if (stored >= 0) return stored;
  const address = instance.readAddress(queue.brokerName);
  if (address === undefined) throw new ClientStateError('BROKER_NOT_FOUND', `no address for broker ${queue.brokerName}`);
  const retry = isRetryTopic(queue.topic);
  let offset: number;
  switch (consumeFromWhere) {
    case 'CONSUME_FROM_FIRST_OFFSET':
      offset = 0;
      break;
    case 'CONSUME_FROM_TIMESTAMP':
      offset = retry ? await queryMaxOffset(instance, address, queue, signal) : await searchOffset(instance, address, queue, consumeTimestampMs, signal);
      break;
    default:
      offset = retry ? 0 : await queryMaxOffset(instance, address, queue, signal);
  }
  offsetStore.update(queue, offset, false);
  return offset;
}
