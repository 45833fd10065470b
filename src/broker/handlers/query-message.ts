/**
 * QUERY_MESSAGE (12): messages of a topic indexed under a key (KEYS entries and UNIQ_KEY) within a time
 * range, newest first. With extField `_UNIQUE_KEY_QUERY=true` the client looks a message id up and
 * maxNum becomes `defaultQueryMaxNum`, as in Java. The answer carries indexLastUpdateTimestamp and
 * indexLastUpdatePhyoffset, and the records end to end; nothing found → QUERY_NOT_FOUND (22).
 * VIEW_MESSAGE_BY_ID (33): the record at a commit-log offset (clients take it from an offsetMsgId).
 */
import { ResponseCode } from '../../common/errors.js';
import type { RequestHandler } from '../../protocol/remoting-command.js';
import type { BrokerDeps } from '../broker-deps.js';
import { fieldsOf, optionalString, requiredInteger, requiredString, requiredTimestamp } from '../header-fields.js';
import { validateTopic } from '../topic-config-manager.js';
import { answer } from './handler-support.js';

/** Upper bound on maxNum whatever the client asks (RocketMQ's maxMsgsNumBatch for queries). */
const MAX_QUERY_NUM = 64;

export function createQueryMessageHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const fields = fieldsOf(request);
    const topic = validateTopic(requiredString(fields, 'topic'));
    const key = requiredString(fields, 'key');
    let maxNum = requiredInteger(fields, 'maxNum');
    const beginTimestamp = requiredTimestamp(fields, 'beginTimestamp');
    const endTimestamp = requiredTimestamp(fields, 'endTimestamp');
    if (optionalString(fields, '_UNIQUE_KEY_QUERY') === 'true') maxNum = deps.config.defaultQueryMaxNum;
    maxNum = Math.max(1, Math.min(maxNum, MAX_QUERY_NUM));
    const result = deps.store.queryMessageByKey(topic, key, maxNum, beginTimestamp, endTimestamp);
    const extFields = {
      indexLastUpdateTimestamp: String(result.indexLastUpdateTimestamp),
      indexLastUpdatePhyoffset: String(result.indexLastUpdatePhyoffset),
    };
    if (result.records.length === 0) {
      return answer(request, ResponseCode.QUERY_NOT_FOUND, 'can not find message, maybe time range not correct', extFields);
    }
    return answer(request, ResponseCode.SUCCESS, undefined, extFields, Buffer.concat(result.records));
  };
}

export function createViewMessageByIdHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const offset = requiredInteger(fieldsOf(request), 'offset');
    const record = offset >= 0 ? deps.store.readRecord(offset) : null;
    if (record === null) return answer(request, ResponseCode.SYSTEM_ERROR, `can not find message by the offset, ${offset}`);
    return answer(request, ResponseCode.SUCCESS, undefined, undefined, record);
  };
}
