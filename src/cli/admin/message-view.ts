/**
 * How `tidemq admin` shows a message: every field as JSON (body as UTF-8 text), or mqadmin-style
 * `Name: value` lines for people.
 */
import type { ReceivedMessage } from '../../client/message.js';
import { formatKeyValues, formatTimestamp } from './text-table.js';

/** Longest body shown in the text view; --json always has the whole body. */
const MAX_TEXT_BODY_CHARS = 4096;

export function messageJson(message: ReceivedMessage): Record<string, unknown> {
  return {
    ...message.toJSON(),
    brokerName: message.queue.brokerName,
    queueId: message.queue.queueId,
    bornHost: message.bornHost,
    storeHost: message.storeHost,
    sysFlag: message.sysFlag,
    body: message.text(),
  };
}

export function messageText(message: ReceivedMessage): string {
  const body = message.text();
  const properties = Object.entries(message.properties)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
  return formatKeyValues([
    ['OffsetID', message.offsetMsgId],
    ['MsgId', message.msgId],
    ['Topic', message.topic],
    ['Tags', message.tags === undefined ? '' : `[${message.tags}]`],
    ['Keys', message.keys.length === 0 ? '' : `[${message.keys.join(' ')}]`],
    ['Broker Name', message.queue.brokerName],
    ['Queue ID', message.queue.queueId],
    ['Queue Offset', message.queueOffset],
    ['CommitLog Offset', message.commitLogOffset],
    ['Reconsume Times', message.reconsumeTimes],
    ['Born Timestamp', formatTimestamp(message.bornTimestamp)],
    ['Store Timestamp', formatTimestamp(message.storeTimestamp)],
    ['Born Host', message.bornHost],
    ['Store Host', message.storeHost],
    ['System Flag', message.sysFlag],
    ['Properties', `{${properties}}`],
    ['Body Bytes', message.body.length],
  ]) + `\nMessage Body:\n${body.length > MAX_TEXT_BODY_CHARS ? `${body.slice(0, MAX_TEXT_BODY_CHARS)}… (${body.length} chars; --json shows all)` : body}`;
}
