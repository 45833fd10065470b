/**
 * The queues a producer may write to, built from a topic route as the Java client does
 * (topicRouteData2TopicPublishInfo): with an `orderTopicConf` (`brokerA:4;brokerB:4`) exactly those
 * queues in that order; otherwise every writable queue of every broker that has a master address,
 * brokers sorted by name. Queue selection is round robin, skipping brokers the fault tolerance has
 * paused and, on a retry, the broker that just failed.
 */
import type { TopicRouteData } from '../protocol/route-data.js';
import { isReadable, isWriteable, MASTER_BROKER_ID } from '../protocol/route-data.js';
import type { LatencyFaultTolerance } from './latency-fault-tolerance.js';
import type { MessageQueue } from './message-queue.js';

export class TopicPublishInfo {
  readonly topic: string;
  readonly queues: readonly MessageQueue[];
  readonly orderTopic: boolean;
  private index: number;

  constructor(topic: string, queues: readonly MessageQueue[], orderTopic: boolean) {
    this.topic = topic;
    this.queues = queues;
    this.orderTopic = orderTopic;
    this.index = Math.floor(Math.random() * 0x10000);
  }

  /** Next queue round robin, not on `avoidBroker` when another broker has queues. */
  selectQueue(avoidBroker?: string): MessageQueue | undefined {
    const queues = this.queues;
    const count = queues.length;
    if (count === 0) return undefined;
    if (avoidBroker !== undefined) {
      for (let attempt = 0; attempt < count; attempt++) {
        const queue = queues[this.nextIndex() % count]!;
        if (queue.brokerName !== avoidBroker) return queue;
      }
    }
    return queues[this.nextIndex() % count];
  }

  /**
   * Java's MQFaultStrategy selection: the next queue on an available broker other than `avoidBroker`;
   * failing that any available broker; failing that the broker whose pause ends first.
   */
  selectQueueAvoidingFaults(faults: LatencyFaultTolerance, avoidBroker?: string): MessageQueue | undefined {
    const queues = this.queues;
    const count = queues.length;
    if (count === 0) return undefined;
    const start = this.nextIndex();
    let availableOnAvoided: MessageQueue | undefined;
    for (let attempt = 0; attempt < count; attempt++) {
      const queue = queues[(start + attempt) % count]!;
      if (!faults.isAvailable(queue.brokerName)) continue;
      if (queue.brokerName !== avoidBroker) return queue;
      availableOnAvoided ??= queue;
    }
    if (availableOnAvoided !== undefined) return availableOnAvoided;
    const leastBad = faults.pickOneAtLeast();
    if (leastBad !== undefined) {
      const onLeastBad = queues.filter((queue) => queue.brokerName === leastBad);
      if (onLeastBad.length > 0) return onLeastBad[this.nextIndex() % onLeastBad.length];
    }
    return this.selectQueue(avoidBroker);
  }

  private nextIndex(): number {
    this.index = (this.index + 1) & 0x3fffffff;
    return this.index;
  }
}

/** Builds the publish info of `topic` from `route`, capping queue counts at `maxQueueNums` (TBW102 fallback). */
export function buildPublishInfo(topic: string, route: TopicRouteData, maxQueueNums = Number.POSITIVE_INFINITY): TopicPublishInfo {
  const queues: MessageQueue[] = [];
  const orderTopicConf = route.orderTopicConf;
  if (orderTopicConf !== undefined && orderTopicConf.trim() !== '') {
    for (const part of orderTopicConf.split(';')) {
      const [brokerName, count] = part.split(':');
      const queueNums = Number(count);
      if (!brokerName || !Number.isInteger(queueNums)) continue;
      for (let queueId = 0; queueId < queueNums; queueId++) queues.push({ topic, brokerName, queueId });
    }
    return new TopicPublishInfo(topic, queues, true);
  }
  const queueDatas = [...route.queueDatas].sort((left, right) => (left.brokerName < right.brokerName ? -1 : left.brokerName > right.brokerName ? 1 : 0));
  for (const queueData of queueDatas) {
    if (!isWriteable(queueData.perm)) continue;
    const brokerData = route.brokerDatas.find((data) => data.brokerName === queueData.brokerName);
    if (brokerData === undefined || brokerData.brokerAddrs[String(MASTER_BROKER_ID)] === undefined) continue;
    const queueNums = Math.min(queueData.writeQueueNums, maxQueueNums);
    for (let queueId = 0; queueId < queueNums; queueId++) queues.push({ topic, brokerName: queueData.brokerName, queueId });
  }
  return new TopicPublishInfo(topic, queues, false);
}

/** The readable queues of a route (what consumers are allocated), sorted. */
export function subscribeQueues(topic: string, route: TopicRouteData): MessageQueue[] {
  const queues: MessageQueue[] = [];
  const queueDatas = [...route.queueDatas].sort((left, right) => (left.brokerName < right.brokerName ? -1 : left.brokerName > right.brokerName ? 1 : 0));
  for (const queueData of queueDatas) {
    if (!isReadable(queueData.perm)) continue;
    for (let queueId = 0; queueId < queueData.readQueueNums; queueId++) queues.push({ topic, brokerName: queueData.brokerName, queueId });
  }
  return queues;
}
