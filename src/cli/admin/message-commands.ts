/**
 * Message commands of `tidemq admin`: queryMsgByKey, queryMsgById and queryMsgByOffset (named and
 * flagged like mqadmin's), and resendDlq, which puts dead-lettered messages back on their original
 * topic with TideMQ's RESEND_DLQ_MESSAGE request (10001; no RocketMQ broker has it).
 */
import { Option, type Command } from 'commander';
import { MQClientError } from '../../client/client-errors.js';
import type { ReceivedMessage } from '../../client/message.js';
import { adminAction, withCommonOptions, type CommonFlags } from './admin-action.js';
import { messageJson, messageText } from './message-view.js';
import { nonNegativeInteger, positiveInteger, timestampOption } from './option-parsers.js';
import { formatTable, formatTimestamp } from './text-table.js';

/** The broker's cap on one RESEND_DLQ_MESSAGE (dlq-resend.ts MAX_RESEND_COUNT). */
const MAX_RESEND_COUNT = 1000;

interface ByKeyFlags extends CommonFlags {
  topic: string;
  msgKey: string;
  beginTimestamp?: number;
  endTimestamp?: number;
  maxNum: number;
}

interface ByIdFlags extends CommonFlags {
  msgId: string;
  topic?: string;
}

interface ByOffsetFlags extends CommonFlags {
  topic: string;
  brokerName: string;
  queueId?: number;
  /** mqadmin's spelling of --queueId (`-i`, which has no long name here). */
  i?: number;
  offset: number;
}

interface ResendFlags extends CommonFlags {
  group: string;
  msgId?: string;
  queueOffset?: number;
  count: number;
  brokerAddr?: string;
}

function notFound(what: string): MQClientError {
  return new MQClientError('QUERY_NOT_FOUND', what);
}

function oneMessage(message: ReceivedMessage): { json: unknown; text: string } {
  return { json: messageJson(message), text: messageText(message) };
}

function registerQueries(admin: Command): void {
  withCommonOptions(admin.command('queryMsgByKey'))
    .description('messages of a topic with a key (KEYS), from the index')
    .requiredOption('-t, --topic <topic>', 'topic')
    .requiredOption('-k, --msgKey <key>', 'message key')
    .option('-b, --beginTimestamp <time>', 'stored at or after (ms, yyyy-MM-dd#HH:mm:ss:SSS or now)', timestampOption)
    .option('-e, --endTimestamp <time>', 'stored at or before (ms, yyyy-MM-dd#HH:mm:ss:SSS or now)', timestampOption)
    .option('--maxNum <n>', 'most messages asked of each broker', positiveInteger, 64)
    .action(
      adminAction<ByKeyFlags>(async (client, flags) => {
        const messages = await client.queryMessagesByKey(flags.topic, flags.msgKey, {
          maxNum: flags.maxNum,
          beginTimestampMs: flags.beginTimestamp,
          endTimestampMs: flags.endTimestamp,
        });
        messages.sort((left, right) => left.storeTimestamp - right.storeTimestamp || left.commitLogOffset - right.commitLogOffset);
        return {
          json: { topic: flags.topic, key: flags.msgKey, messages: messages.map(messageJson) },
          text: formatTable(
            ['#Message ID', '#Offset Message ID', '#Broker Name', '#QID', '#Offset', '#Store Time'],
            messages.map((message) => [message.msgId, message.offsetMsgId, message.queue.brokerName, message.queue.queueId, message.queueOffset, formatTimestamp(message.storeTimestamp)]),
          ),
        };
      }),
    );

  withCommonOptions(admin.command('queryMsgById'))
    .description('one message by its offset message id (or, with -t, by its client message id)')
    .requiredOption('-i, --msgId <id>', 'offsetMsgId (the broker-side id); with -t also the client-side id (UNIQ_KEY)')
    .option('-t, --topic <topic>', 'topic, to also look the id up as a client message id')
    .action(
      adminAction<ByIdFlags>(async (client, flags) => {
        const message = flags.topic === undefined ? await client.viewMessage(flags.msgId) : await client.queryMessageById(flags.topic, flags.msgId);
        if (message === undefined) throw notFound(`no message of ${flags.topic} has the id ${flags.msgId}`);
        return oneMessage(message);
      }),
    );

  withCommonOptions(admin.command('queryMsgByOffset'))
    .description('the message at an offset of one queue')
    .requiredOption('-t, --topic <topic>', 'topic')
    .requiredOption('-b, --brokerName <name>', 'broker name (as in topicRoute)')
    .option('-q, --queueId <id>', 'queue id', nonNegativeInteger)
    .addOption(new Option('-i <queueId>', "queue id (mqadmin's flag)").argParser(nonNegativeInteger).hideHelp())
    .requiredOption('-o, --offset <offset>', 'queue offset', nonNegativeInteger)
    .action(
      adminAction<ByOffsetFlags>(async (client, flags) => {
        const queueId = flags.queueId ?? flags.i;
        if (queueId === undefined) throw new MQClientError('ILLEGAL_ARGUMENT', 'name the queue with -q <queueId>');
        const queue = { topic: flags.topic, brokerName: flags.brokerName, queueId };
        const message = await client.messageAtOffset(queue, flags.offset);
        if (message === undefined) throw notFound(`no message at offset ${flags.offset} of ${flags.topic}#${queueId} on ${flags.brokerName}`);
        return oneMessage(message);
      }),
    );
}

function registerResendDlq(admin: Command): void {
  withCommonOptions(admin.command('resendDlq'))
    .description("copy dead-lettered messages of a group from %DLQ%<group> back to their original topic (TideMQ brokers only)")
    .requiredOption('-g, --group <group>', 'consumer group whose DLQ holds the messages')
    .option('-i, --msgId <id>', 'one message: its DLQ offsetMsgId or its client message id')
    .option('-o, --queueOffset <offset>', 'or: the first DLQ queue offset of a run', nonNegativeInteger)
    .option('--count <n>', `with -o: how many consecutive DLQ messages (1-${MAX_RESEND_COUNT})`, positiveInteger, 1)
    .option('-b, --brokerAddr <host:port>', 'the broker holding the DLQ (needed with -o when several may)')
    .action(
      adminAction<ResendFlags>(async (client, flags) => {
        if ((flags.msgId === undefined) === (flags.queueOffset === undefined)) throw new MQClientError('ILLEGAL_ARGUMENT', 'name the DLQ messages with exactly one of -i <msgId> or -o <queueOffset>');
        if (flags.count > MAX_RESEND_COUNT) throw new MQClientError('ILLEGAL_ARGUMENT', `--count ${flags.count} is more than ${MAX_RESEND_COUNT}`);
        const selection = flags.msgId !== undefined ? { msgId: flags.msgId } : { queueOffset: flags.queueOffset!, maxCount: flags.count };
        const resent = await client.resendDlqMessages(flags.group, selection, { brokerAddr: flags.brokerAddr });
        const table = formatTable(
          ['#Broker', '#DLQ Offset', '#DLQ Msg ID', '#Topic', '#QID', '#Queue Offset', '#New Msg ID'],
          resent.map((item) => [item.brokerAddr, item.dlqQueueOffset, item.dlqMsgId, item.topic, item.queueId, item.queueOffset, item.msgId]),
        );
        return {
          json: { group: flags.group, resentCount: resent.length, resent },
          text: `${table}\n\n${resent.length} message${resent.length === 1 ? '' : 's'} re-sent from %DLQ%${flags.group}`,
        };
      }),
    );
}

export function registerMessageCommands(admin: Command): void {
  registerQueries(admin);
  registerResendDlq(admin);
}
