/**
 * The client side of RocketMQ 4.x rebalancing (RebalanceImpl.rebalanceByTopic): for a topic, the
 * queues this client should own. Broadcasting owns every readable queue. Clustering asks one broker
 * of the topic for the group's client ids (GET_CONSUMER_LIST_BY_GROUP 38), sorts queues and ids, and
 * lets the allocation strategy pick. When the route or the member list is unknown the answer is
 * undefined and the caller keeps what it has, as Java does.
 */
import { ResponseCode } from '../common/errors.js';
import { createRequest } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { MASTER_BROKER_ID } from '../protocol/route-data.js';
import type { AllocateStrategy } from './allocate-strategies.js';
import type { ClientInstance } from './client-instance.js';
import { zoneOfClientId } from './client-options.js';
import { compareQueues, type MessageQueue } from './message-queue.js';
import type { MessageModel } from './subscription.js';
import { subscribeQueues } from './topic-publish-info.js';

export class Rebalancer {
  constructor(
    private readonly instance: ClientInstance,
    private readonly group: string,
    private readonly messageModel: MessageModel,
    private readonly strategy: AllocateStrategy,
    private readonly zoneOfBroker: (brokerName: string) => string | undefined,
  ) {}

  /** The queues of `topic` this client should own; undefined when that cannot be known now. */
  async allocate(topic: string): Promise<MessageQueue[] | undefined> {
    const route = this.instance.cachedRoute(topic) ?? (await this.instance.route(topic));
    if (route === undefined) return undefined;
    const queues = subscribeQueues(topic, route).sort(compareQueues);
    if (this.messageModel === 'BROADCASTING') return queues;
    const clientIds = await this.consumerIds(topic);
    if (clientIds === undefined || clientIds.length === 0) return undefined;
    clientIds.sort();
    return this.strategy({
      group: this.group,
      clientId: this.instance.clientId,
      queues,
      clientIds,
      zoneOfBroker: this.zoneOfBroker,
      zoneOfClient: zoneOfClientId,
    });
  }

  /** The group's client ids as one broker of `topic` knows them. */
  async consumerIds(topic: string): Promise<string[] | undefined> {
    const route = this.instance.cachedRoute(topic);
    if (route === undefined || route.brokerDatas.length === 0) return undefined;
    // Any broker of the topic knows the group (every member heartbeats to all of them); start at a
    // random one so one slow broker does not hold up every rebalance, and fall back to the others.
    const brokers = [...route.brokerDatas];
    const start = Math.floor(Math.random() * brokers.length);
    for (let attempt = 0; attempt < brokers.length; attempt++) {
      const brokerData = brokers[(start + attempt) % brokers.length]!;
      const address = brokerData.brokerAddrs[String(MASTER_BROKER_ID)] ?? Object.values(brokerData.brokerAddrs)[0];
      if (address === undefined) continue;
      try {
        const response = await this.instance.invoke(address, createRequest(RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: this.group }), `consumer list of ${this.group}`);
        if (response.code !== ResponseCode.SUCCESS || response.body === undefined) continue;
        const parsed = JSON.parse(response.body.toString('utf8')) as { consumerIdList?: unknown };
        if (Array.isArray(parsed.consumerIdList)) return parsed.consumerIdList.filter((id): id is string => typeof id === 'string');
      } catch (error) {
        this.instance.logger.debug({ err: error, address }, 'consumer list query failed');
      }
    }
    return undefined;
  }
}
