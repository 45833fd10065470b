/**
 * Consumer group commands of `tidemq admin`, named and flagged like mqadmin's: updateSubGroup,
 * deleteSubGroup, consumerProgress (per-queue lag), consumerConnection and resetOffsetByTime.
 */
import type { Command } from 'commander';
import type { GroupConfig } from '../../client/admin.js';
import { adminAction, withCommonOptions, type CommonFlags } from './admin-action.js';
import { booleanText, nonNegativeInteger, timestampOption } from './option-parsers.js';
import { formatTable, formatTimestamp } from './text-table.js';
import { targetText } from './topic-commands.js';

interface UpdateGroupFlags extends CommonFlags {
  groupName: string;
  retryMaxTimes?: number;
  retryQueueNums?: number;
  consumeEnable?: boolean;
  consumeFromMinEnable?: boolean;
  consumeBroadcastEnable?: boolean;
  consumeMessageOrderly?: boolean;
  brokerId?: number;
  whichBrokerWhenConsumeSlowly?: number;
  notifyConsumerIdsChanged?: boolean;
  clusterName?: string;
  brokerAddr?: string;
}

interface DeleteGroupFlags extends CommonFlags {
  groupName: string;
  removeOffset: boolean;
  clusterName?: string;
  brokerAddr?: string;
}

interface ProgressFlags extends CommonFlags {
  consumerGroup: string;
  topic?: string;
}

interface ResetFlags extends CommonFlags {
  group: string;
  topic: string;
  timestamp: number;
  force: boolean;
}

function groupConfigOf(flags: UpdateGroupFlags): GroupConfig {
  const config: GroupConfig = {};
  if (flags.retryMaxTimes !== undefined) config.retryMaxTimes = flags.retryMaxTimes;
  if (flags.retryQueueNums !== undefined) config.retryQueueNums = flags.retryQueueNums;
  if (flags.consumeEnable !== undefined) config.consumeEnable = flags.consumeEnable;
  if (flags.consumeFromMinEnable !== undefined) config.consumeFromMinEnable = flags.consumeFromMinEnable;
  if (flags.consumeBroadcastEnable !== undefined) config.consumeBroadcastEnable = flags.consumeBroadcastEnable;
  if (flags.consumeMessageOrderly !== undefined) config.consumeMessageOrderly = flags.consumeMessageOrderly;
  if (flags.brokerId !== undefined) config.brokerId = flags.brokerId;
  if (flags.whichBrokerWhenConsumeSlowly !== undefined) config.whichBrokerWhenConsumeSlowly = flags.whichBrokerWhenConsumeSlowly;
  if (flags.notifyConsumerIdsChanged !== undefined) config.notifyConsumerIdsChangedEnable = flags.notifyConsumerIdsChanged;
  return config;
}

/** A SubscriptionData as the broker reports it: the expression, whatever its type. */
function subscriptionText(value: unknown): { expression: string; type: string } {
  const record = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  return { expression: String(record.subString ?? '*'), type: String(record.expressionType ?? 'TAG') };
}

function registerGroupChanges(admin: Command): void {
  withCommonOptions(admin.command('updateSubGroup'))
    .description('create a consumer (subscription) group, or update its settings')
    .requiredOption('-g, --groupName <group>', 'consumer group')
    .option('-r, --retryMaxTimes <n>', 'retries before a message goes to the DLQ (default 16)', nonNegativeInteger)
    .option('-q, --retryQueueNums <n>', 'queues of %RETRY%group (default 1)', nonNegativeInteger)
    .option('-s, --consumeEnable <true|false>', 'whether the group may consume', booleanText)
    .option('-m, --consumeFromMinEnable <true|false>', 'a new group may start from the first offset', booleanText)
    .option('-d, --consumeBroadcastEnable <true|false>', 'broadcasting consumption allowed', booleanText)
    .option('-o, --consumeMessageOrderly <true|false>', 'orderly consumption', booleanText)
    .option('-i, --brokerId <id>', 'broker id to consume from', nonNegativeInteger)
    .option('-w, --whichBrokerWhenConsumeSlowly <id>', 'broker id to consume from when slow', nonNegativeInteger)
    .option('-a, --notifyConsumerIdsChanged <true|false>', 'tell members when the group changes', booleanText)
    .option('-c, --clusterName <cluster>', 'only the masters of this cluster')
    .option('-b, --brokerAddr <host:port>', 'only this broker')
    .action(
      adminAction<UpdateGroupFlags>(async (client, flags) => {
        const config = groupConfigOf(flags);
        await client.updateGroup(flags.groupName, config, { clusterName: flags.clusterName, brokerAddr: flags.brokerAddr });
        const settings = Object.entries(config).map(([key, value]) => `${key}=${String(value)}`).join(', ');
        return {
          json: { groupName: flags.groupName, config, target: { clusterName: flags.clusterName, brokerAddr: flags.brokerAddr } },
          text: `create subscription group to ${targetText(flags)} success.\nSubscriptionGroupConfig [groupName=${flags.groupName}${settings === '' ? '' : `, ${settings}`}]`,
        };
      }),
    );

  withCommonOptions(admin.command('deleteSubGroup'))
    .description('delete a consumer (subscription) group')
    .requiredOption('-g, --groupName <group>', 'consumer group')
    .option('-r, --removeOffset <true|false>', "also remove the group's committed offsets", booleanText, false)
    .option('-c, --clusterName <cluster>', 'only the masters of this cluster')
    .option('-b, --brokerAddr <host:port>', 'only this broker')
    .action(
      adminAction<DeleteGroupFlags>(async (client, flags) => {
        await client.deleteGroup(flags.groupName, { clusterName: flags.clusterName, brokerAddr: flags.brokerAddr, cleanOffset: flags.removeOffset });
        return {
          json: { groupName: flags.groupName, deleted: true, removeOffset: flags.removeOffset },
          text: `delete subscription group [${flags.groupName}] from ${targetText(flags)} success.`,
        };
      }),
    );
}

function registerGroupViews(admin: Command): void {
  withCommonOptions(admin.command('consumerProgress'))
    .description("a group's progress per queue: broker offset, consumer offset and the difference (lag)")
    .requiredOption('-g, --consumerGroup <group>', 'consumer group')
    .option('-t, --topic <topic>', 'only this topic')
    .action(
      adminAction<ProgressFlags>(async (client, flags) => {
        const stats = await client.consumeStats(flags.consumerGroup, flags.topic);
        const queues = stats.queues.map((item) => ({
          topic: item.queue.topic,
          brokerName: item.queue.brokerName,
          queueId: item.queue.queueId,
          brokerOffset: item.brokerOffset,
          consumerOffset: item.consumerOffset,
          diff: item.lag,
          lastTimestamp: item.lastTimestamp,
        }));
        const table = formatTable(
          ['#Topic', '#Broker Name', '#QID', '#Broker Offset', '#Consumer Offset', '#Diff', '#LastTime'],
          queues.map((queue) => [queue.topic, queue.brokerName, queue.queueId, queue.brokerOffset, queue.consumerOffset, queue.diff, formatTimestamp(queue.lastTimestamp)]),
        );
        // mqadmin fails here; an empty table with this note says the same and keeps scripts simple.
        const note = queues.length === 0 ? `\n(no committed offsets of ${flags.consumerGroup}${flags.topic === undefined ? '' : ` on ${flags.topic}`})` : '';
        return {
          json: { consumerGroup: flags.consumerGroup, topic: flags.topic, consumeTps: stats.consumeTps, diffTotal: stats.totalLag, queues },
          text: `${table}${note}\n\nConsume TPS: ${stats.consumeTps.toFixed(2)}\nConsume Diff Total: ${stats.totalLag}`,
        };
      }),
    );

  withCommonOptions(admin.command('consumerConnection'))
    .description("the clients connected in a consumer group, and the group's subscriptions")
    .requiredOption('-g, --consumerGroup <group>', 'consumer group')
    .action(
      adminAction<ProgressFlags>(async (client, flags) => {
        const connection = await client.consumerConnections(flags.consumerGroup);
        const subscriptions = Object.entries(connection.subscriptions).map(([topic, value]) => ({ topic, ...subscriptionText(value) }));
        const text = [
          formatTable(['#ClientId', '#ClientAddr', '#Language', '#Version'], connection.connections.map((item) => [item.clientId, item.clientAddr, item.language, item.version])),
          '',
          'Below is subscription:',
          formatTable(['#Topic', '#SubExpression', '#Type'], subscriptions.map((item) => [item.topic, item.expression, item.type])),
          '',
          `ConsumeType: ${connection.consumeType ?? '-'}`,
          `MessageModel: ${connection.messageModel ?? '-'}`,
          `ConsumeFromWhere: ${connection.consumeFromWhere ?? '-'}`,
        ].join('\n');
        return { json: { consumerGroup: flags.consumerGroup, ...connection }, text };
      }),
    );

  withCommonOptions(admin.command('resetOffsetByTime'))
    .description("move a group's offsets on a topic to the first message stored at or after a time (online consumers follow)")
    .requiredOption('-g, --group <group>', 'consumer group')
    .requiredOption('-t, --topic <topic>', 'topic')
    .requiredOption('-s, --timestamp <time>', 'ms since the epoch, yyyy-MM-dd#HH:mm:ss:SSS (local time) or now', timestampOption)
    .option('-f, --force <true|false>', 'also move offsets forward (false: only back)', booleanText, true)
    .action(
      adminAction<ResetFlags>(async (client, flags) => {
        const reset = await client.resetOffsetByTimestamp(flags.group, flags.topic, flags.timestamp, { force: flags.force });
        const offsets = [...reset]
          .map(([queue, offset]) => ({ brokerName: queue.brokerName, queueId: queue.queueId, offset }))
          .sort((left, right) => (left.brokerName === right.brokerName ? left.queueId - right.queueId : left.brokerName < right.brokerName ? -1 : 1));
        return {
          json: { group: flags.group, topic: flags.topic, timestamp: flags.timestamp, offsets },
          text:
            `reset offsets of ${flags.group} on ${flags.topic} to ${formatTimestamp(flags.timestamp)} (${flags.timestamp})\n` +
            formatTable(['#brokerName', '#queueId', '#offset'], offsets.map((item) => [item.brokerName, item.queueId, item.offset])),
        };
      }),
    );
}

export function registerGroupCommands(admin: Command): void {
  registerGroupChanges(admin);
  registerGroupViews(admin);
}
