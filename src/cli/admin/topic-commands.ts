/**
 * Topic commands of `tidemq admin`, named and flagged like mqadmin's: updateTopic, deleteTopic,
 * topicList, topicRoute, topicStatus. Without -c or -b, a change goes to every master broker.
 */
import type { Command } from 'commander';
import { MQClientError } from '../../client/client-errors.js';
import { permToString, type TopicRouteData } from '../../protocol/route-data.js';
import { adminAction, withCommonOptions, type CommonFlags } from './admin-action.js';
import { booleanText, nonNegativeInteger, permission, topicAttributes } from './option-parsers.js';
import { formatTable, formatTimestamp } from './text-table.js';

/** Where a topic or group change goes, for the success line. */
export function targetText(flags: { clusterName?: string; brokerAddr?: string }): string {
  if (flags.brokerAddr !== undefined) return `broker ${flags.brokerAddr}`;
  if (flags.clusterName !== undefined) return `the masters of cluster ${flags.clusterName}`;
  return 'every master broker';
}

interface UpdateTopicFlags extends CommonFlags {
  topic: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  order: boolean;
  attributes?: Record<string, string>;
  clusterName?: string;
  brokerAddr?: string;
}

interface TopicFlags extends CommonFlags {
  topic: string;
  clusterName?: string;
}

function routeText(topic: string, route: TopicRouteData): string {
  const brokers = route.brokerDatas.flatMap((broker) =>
    Object.entries(broker.brokerAddrs)
      .sort(([left], [right]) => Number(left) - Number(right))
      .map(([brokerId, address]) => [broker.cluster, broker.brokerName, brokerId, address]),
  );
  const queues = route.queueDatas.map((queue) => [queue.brokerName, queue.readQueueNums, queue.writeQueueNums, `${queue.perm} (${permToString(queue.perm)})`, queue.topicSysFlag]);
  return [
    `Route of ${topic}`,
    formatTable(['#Cluster', '#Broker Name', '#BID', '#Addr'], brokers),
    '',
    formatTable(['#Broker Name', '#Read Queues', '#Write Queues', '#Perm', '#SysFlag'], queues),
    ...(route.orderTopicConf ? ['', `Order topic conf: ${route.orderTopicConf}`] : []),
  ].join('\n');
}

export function registerTopicCommands(admin: Command): void {
  withCommonOptions(admin.command('updateTopic'))
    .description('create a topic, or update its queues, permission, order flag and attributes')
    .requiredOption('-t, --topic <topic>', 'topic name')
    .option('-r, --readQueueNums <n>', 'read queues', nonNegativeInteger, 8)
    .option('-w, --writeQueueNums <n>', 'write queues', nonNegativeInteger, 8)
    .option('-p, --perm <bits>', 'permission: 2 write, 4 read, 6 read+write', permission, 6)
    .option('-o, --order <true|false>', 'ordered topic', booleanText, false)
    .option('-a, --attributes <+key=value,...>', 'RocketMQ 5 attributes, e.g. +message.type=FIFO', topicAttributes)
    .option('-c, --clusterName <cluster>', 'only the masters of this cluster')
    .option('-b, --brokerAddr <host:port>', 'only this broker')
    .action(
      adminAction<UpdateTopicFlags>(async (client, flags) => {
        await client.updateTopic(flags.topic, {
          readQueueNums: flags.readQueueNums,
          writeQueueNums: flags.writeQueueNums,
          perm: flags.perm,
          order: flags.order,
          attributes: flags.attributes,
          clusterName: flags.clusterName,
          brokerAddr: flags.brokerAddr,
        });
        const config = {
          topicName: flags.topic,
          readQueueNums: flags.readQueueNums,
          writeQueueNums: flags.writeQueueNums,
          perm: flags.perm,
          order: flags.order,
          attributes: flags.attributes ?? {},
        };
        const attributes = Object.entries(config.attributes).map(([key, value]) => `+${key}=${value}`).join(',');
        return {
          json: { ...config, target: { clusterName: flags.clusterName, brokerAddr: flags.brokerAddr } },
          text:
            `create topic to ${targetText(flags)} success.\n` +
            `TopicConfig [topicName=${config.topicName}, readQueueNums=${config.readQueueNums}, writeQueueNums=${config.writeQueueNums}, ` +
            `perm=${permToString(config.perm)}, order=${config.order}${attributes === '' ? '' : `, attributes=${attributes}`}]`,
        };
      }),
    );

  withCommonOptions(admin.command('deleteTopic'))
    .description('delete a topic from the brokers and the name servers')
    .requiredOption('-t, --topic <topic>', 'topic name')
    .option('-c, --clusterName <cluster>', 'only the masters of this cluster')
    .action(
      adminAction<TopicFlags>(async (client, flags) => {
        await client.deleteTopic(flags.topic, { clusterName: flags.clusterName });
        return {
          json: { topic: flags.topic, deleted: true, clusterName: flags.clusterName },
          text: `delete topic [${flags.topic}] from ${targetText(flags)} success.`,
        };
      }),
    );

  withCommonOptions(admin.command('topicList'))
    .description('list every topic the name servers know')
    .action(
      adminAction<CommonFlags>(async (client) => {
        const topics = await client.listTopics();
        return { json: { topics }, text: topics.join('\n') };
      }),
    );

  withCommonOptions(admin.command('topicRoute'))
    .description("show a topic's route: its brokers and queues")
    .requiredOption('-t, --topic <topic>', 'topic name')
    .action(
      adminAction<TopicFlags>(async (client, flags) => {
        const route = await client.topicRoute(flags.topic);
        if (route === undefined) throw new MQClientError('TOPIC_ROUTE_NOT_FOUND', `no route for topic ${flags.topic}: no name server knows it`);
        return { json: route, text: routeText(flags.topic, route) };
      }),
    );

  withCommonOptions(admin.command('topicStatus'))
    .description('min and max offset of every queue of a topic')
    .requiredOption('-t, --topic <topic>', 'topic name')
    .action(
      adminAction<TopicFlags>(async (client, flags) => {
        const stats = await client.topicStats(flags.topic);
        const queues = stats.map((item) => ({
          brokerName: item.queue.brokerName,
          queueId: item.queue.queueId,
          minOffset: item.minOffset,
          maxOffset: item.maxOffset,
          lastUpdateTimestamp: item.lastUpdateTimestamp,
        }));
        return {
          json: { topic: flags.topic, queues },
          text: formatTable(
            ['#Broker Name', '#QID', '#Min Offset', '#Max Offset', '#Last Updated'],
            queues.map((queue) => [queue.brokerName, queue.queueId, queue.minOffset, queue.maxOffset, formatTimestamp(queue.lastUpdateTimestamp)]),
          ),
        };
      }),
    );
}
