/**
 * The SEND_MESSAGE (10) / SEND_MESSAGE_V2 (310) / SEND_BATCH_MESSAGE (320) request header, read from
 * extFields. V2 and batch headers carry RocketMQ's one-letter names (SendMessageRequestHeaderV2: a =
 * producerGroup … n = brokerName); they are read directly, each falling back to its full name, instead
 * of expanding the fields into a second object per message (which showed as the largest single
 * function of the broker's send profile). Integers take a digit loop when they are plain decimal and
 * the general rules of header-fields.ts otherwise, with the same INVALID_PARAMETER answers.
 */
import { TideError } from '../../common/errors.js';
import type { RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { fieldsOf, type HeaderFields } from '../header-fields.js';

export interface SendMessageRequestHeader {
  producerGroup: string;
  topic: string;
  defaultTopic: string;
  defaultTopicQueueNums: number;
  queueId: number;
  sysFlag: number;
  bornTimestamp: number;
  flag: number;
  properties: string | undefined;
  reconsumeTimes: number | undefined;
  unitMode: boolean;
  batch: boolean;
  maxReconsumeTimes: number | undefined;
}

function missing(name: string): TideError {
  return new TideError('INVALID_PARAMETER', `the custom field <${name}> is null`);
}

/** Digits beyond this many may pass 2^53; they take the general path, which checks the range. */
const MAX_PLAIN_DIGITS = 15;

/**
 * Java's Long.parseLong rules as header-fields.ts applies them (surrounding blanks allowed, a sign,
 * decimal digits, a safe integer), with a loop for the plain `-?digits` form every client sends.
 */
export function parseHeaderInteger(name: string, value: string): number {
  const length = value.length;
  const negative = length > 1 && value.charCodeAt(0) === 0x2d;
  let index = negative ? 1 : 0;
  if (length > 0 && length - index <= MAX_PLAIN_DIGITS) {
    let number = 0;
    for (; index < length; index++) {
      const digit = value.charCodeAt(index) - 0x30;
      if (digit < 0 || digit > 9) break;
      number = number * 10 + digit;
    }
    if (index === length) return negative ? -number : number;
  }
  const text = value.trim();
  if (!/^[-+]?\d+$/.test(text)) throw new TideError('INVALID_PARAMETER', `the custom field <${name}> is not an integer: ${JSON.stringify(value.slice(0, 64))}`);
  const number = Number(text);
  if (!Number.isSafeInteger(number)) throw new TideError('INVALID_PARAMETER', `the custom field <${name}> is out of range: ${text}`);
  return number;
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === null) throw missing(name);
  return value;
}

function optionalInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  // Blank means absent, as header-fields.ts reads it; a value starting with a digit or sign is not blank.
  if (value.length === 0) return undefined;
  const first = value.charCodeAt(0);
  if ((first < 0x30 || first > 0x39) && first !== 0x2d && value.trim() === '') return undefined;
  return parseHeaderInteger(name, value);
}

/** Java's Boolean.parseBoolean: only `true` (any case, blanks around it) is true. */
function isTrue(value: string | undefined): boolean {
  if (value === undefined || value === null) return false;
  if (value === 'true') return true;
  return value.length >= 4 && value.trim().toLowerCase() === 'true';
}

export function parseSendMessageHeader(request: RemotingCommand): SendMessageRequestHeader {
  const fields: HeaderFields = fieldsOf(request);
  if (request.code === RequestCode.SEND_MESSAGE) return parseFullNames(fields, false);
  const batch = request.code === RequestCode.SEND_BATCH_MESSAGE;
  return {
    producerGroup: required(fields.a ?? fields.producerGroup, 'producerGroup'),
    topic: required(fields.b ?? fields.topic, 'topic'),
    defaultTopic: required(fields.c ?? fields.defaultTopic, 'defaultTopic'),
    defaultTopicQueueNums: parseHeaderInteger('defaultTopicQueueNums', required(fields.d ?? fields.defaultTopicQueueNums, 'defaultTopicQueueNums')),
    queueId: parseHeaderInteger('queueId', required(fields.e ?? fields.queueId, 'queueId')),
    sysFlag: parseHeaderInteger('sysFlag', required(fields.f ?? fields.sysFlag, 'sysFlag')),
    bornTimestamp: parseHeaderInteger('bornTimestamp', required(fields.g ?? fields.bornTimestamp, 'bornTimestamp')),
    flag: parseHeaderInteger('flag', required(fields.h ?? fields.flag, 'flag')),
    properties: fields.i ?? fields.properties ?? undefined,
    reconsumeTimes: optionalInteger(fields.j ?? fields.reconsumeTimes, 'reconsumeTimes'),
    unitMode: isTrue(fields.k ?? fields.unitMode),
    batch: batch || isTrue(fields.m ?? fields.batch),
    maxReconsumeTimes: optionalInteger(fields.l ?? fields.maxReconsumeTimes, 'maxReconsumeTimes'),
  };
}

/** SEND_MESSAGE (10): RocketMQ's full field names. */
function parseFullNames(fields: HeaderFields, batch: boolean): SendMessageRequestHeader {
  return {
    producerGroup: required(fields.producerGroup, 'producerGroup'),
    topic: required(fields.topic, 'topic'),
    defaultTopic: required(fields.defaultTopic, 'defaultTopic'),
    defaultTopicQueueNums: parseHeaderInteger('defaultTopicQueueNums', required(fields.defaultTopicQueueNums, 'defaultTopicQueueNums')),
    queueId: parseHeaderInteger('queueId', required(fields.queueId, 'queueId')),
    sysFlag: parseHeaderInteger('sysFlag', required(fields.sysFlag, 'sysFlag')),
    bornTimestamp: parseHeaderInteger('bornTimestamp', required(fields.bornTimestamp, 'bornTimestamp')),
    flag: parseHeaderInteger('flag', required(fields.flag, 'flag')),
    properties: fields.properties ?? undefined,
    reconsumeTimes: optionalInteger(fields.reconsumeTimes, 'reconsumeTimes'),
    unitMode: isTrue(fields.unitMode),
    batch: batch || isTrue(fields.batch),
    maxReconsumeTimes: optionalInteger(fields.maxReconsumeTimes, 'maxReconsumeTimes'),
  };
}
