/**
 * Micro-benchmark of the broker's send path, each new piece against the code it replaced, in one run:
 *
 *  - header: reading a SEND_MESSAGE_V2 header's one-letter fields directly (send-header.ts) against
 *    expanding them into a second object and reading the full names (the previous expandV2Fields);
 *  - properties: the plain-properties scan plus concatenation (send-properties.ts) against decode →
 *    Map edits → encode → indexKeysOf (the previous path through the MessageWriter);
 *  - answer: the SEND answer template written into a scratch buffer (send-answer.ts) against the
 *    extFields object, response command and byte writer of the general path;
 *  - topic checks: validateTopic + isNotAllowedSendTopic on every send against once per topic name.
 *
 * Times are CPU time of this process per call (process.cpuUsage), rounds interleaved, median (min).
 *
 * Run: npx tsc -p . && node dist/bench/send-path-bench.js [rounds] [callsPerRound]
 */
import os from 'node:os';
import { decodeProperties, encodeProperties, indexKeysOf, MessageProperty } from '../src/protocol/message-properties.js';
import { encodeCommandAs } from '../src/protocol/remoting-codec.js';
import { createRequest, createResponse, RemotingFlag } from '../src/protocol/remoting-command.js';
import { RequestCode } from '../src/protocol/request-code.js';
import { sendAnswerFields } from '../src/broker/handlers/send-acks.js';
import { SendAnswerTemplate } from '../src/broker/handlers/send-answer.js';
import { parseSendMessageHeader } from '../src/broker/handlers/send-header.js';
import { plainIndexKeys, scanPlainProperties } from '../src/broker/handlers/send-properties.js';
import { fieldsOf, optionalBoolean, optionalInteger, optionalString, requiredInteger, requiredString, type HeaderFields } from '../src/broker/header-fields.js';
import { tagsCodeOf } from '../src/broker/message-writer.js';
import { isNotAllowedSendTopic } from '../src/broker/topic-names.js';
import { validateTopic } from '../src/broker/topic-config-manager.js';
import { describeMachine, formatMachine } from './machine.js';
import { nsPerCall, median } from './cpu-timing.js';

const rounds = Number(process.argv[2] ?? 25);
const callsPerRound = Number(process.argv[3] ?? 20_000);

const properties = 'KEYS\u0001order-42\u0002UNIQ_KEY\u00017F0000011A2B18B4AAC2595A1B2C0000\u0002WAIT\u0001true\u0002TAGS\u0001TagA\u0002';
const request = createRequest(RequestCode.SEND_MESSAGE_V2, {
  a: 'please_rename_unique_group_name', b: 'BenchmarkTopic', c: 'TBW102', d: '4', e: '3', f: '0', g: '1700000000123', h: '0', i: properties, j: '0', k: 'false', l: '16', m: 'false',
});

// ---- the previous header reader, kept here for the comparison
const V2_FIELD_NAMES: Readonly<Record<string, string>> = {
  a: 'producerGroup', b: 'topic', c: 'defaultTopic', d: 'defaultTopicQueueNums', e: 'queueId', f: 'sysFlag',
  g: 'bornTimestamp', h: 'flag', i: 'properties', j: 'reconsumeTimes', k: 'unitMode', l: 'maxReconsumeTimes',
  m: 'batch', n: 'brokerName',
};
function expandV2Fields(fields: HeaderFields): Record<string, string> {
  const expanded: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) expanded[V2_FIELD_NAMES[key] ?? key] = value;
  return expanded;
}
function previousParseHeader(command: typeof request) {
  const fields = expandV2Fields(fieldsOf(command));
  return {
    producerGroup: requiredString(fields, 'producerGroup'),
    topic: requiredString(fields, 'topic'),
    defaultTopic: requiredString(fields, 'defaultTopic'),
    defaultTopicQueueNums: requiredInteger(fields, 'defaultTopicQueueNums'),
    queueId: requiredInteger(fields, 'queueId'),
    sysFlag: requiredInteger(fields, 'sysFlag'),
    bornTimestamp: requiredInteger(fields, 'bornTimestamp'),
    flag: requiredInteger(fields, 'flag'),
    properties: optionalString(fields, 'properties'),
    reconsumeTimes: optionalInteger(fields, 'reconsumeTimes'),
    unitMode: optionalBoolean(fields, 'unitMode') ?? false,
    batch: command.code === RequestCode.SEND_BATCH_MESSAGE || (optionalBoolean(fields, 'batch') ?? false),
    maxReconsumeTimes: optionalInteger(fields, 'maxReconsumeTimes'),
  };
}
if (JSON.stringify(previousParseHeader(request)) !== JSON.stringify(parseSendMessageHeader(request))) throw new Error('the header readers disagree');

// ---- properties: previous Map round trip against the scan
let generated = 0;
function previousProperties(raw: string): number {
  const map = decodeProperties(raw);
  map.delete(MessageProperty.POP_CK);
  map.set(MessageProperty.MSG_REGION, 'DefaultRegion');
  map.set(MessageProperty.TRACE_ON, 'true');
  const uniqueKey = map.get(MessageProperty.UNIQ_KEY);
  if (uniqueKey === undefined || uniqueKey.length === 0) map.set(MessageProperty.UNIQ_KEY, `GEN${generated++}`);
  map.set(MessageProperty.CLUSTER, 'DefaultCluster');
  const waitForDisk = map.get(MessageProperty.WAIT)?.toLowerCase() !== 'false';
  const encoded = encodeProperties(map);
  return encoded.length + indexKeysOf(encoded).length + tagsCodeOf(map.get(MessageProperty.TAGS)) + (waitForDisk ? 1 : 0);
}
const SUFFIX_HEAD = 'MSG_REGION\u0001DefaultRegion\u0002TRACE_ON\u0001true\u0002';
const SUFFIX_TAIL = 'CLUSTER\u0001DefaultCluster\u0002';
function newProperties(raw: string): number {
  const scan = scanPlainProperties(raw)!;
  const generatedKey = scan.uniqueKey === undefined;
  const uniqueKey = generatedKey ? `GEN${generated++}` : (scan.uniqueKey as string);
  const encoded = raw + (generatedKey ? SUFFIX_HEAD + `UNIQ_KEY\u0001${uniqueKey}\u0002` + SUFFIX_TAIL : SUFFIX_HEAD + SUFFIX_TAIL);
  return encoded.length + plainIndexKeys(scan.keys, uniqueKey).length + tagsCodeOf(scan.tags) + (scan.waitFalse ? 0 : 1);
}
if (previousProperties(properties) !== newProperties(properties)) throw new Error('the properties paths disagree');

// ---- answers
const storeHost = { ip: Buffer.from([10, 0, 0, 1]), port: 10911 };
const template = new SendAnswerTemplate(storeHost, 'DefaultRegion', true);
const scratch = Buffer.allocUnsafe(64 * 1024);
const uniqueKey = '7F0000011A2B18B4AAC2595A1B2C0000';
let physicalOffset = 123_456_789;
function previousAnswer(): number {
  physicalOffset += 1200;
  const fields = sendAnswerFields(storeHost, physicalOffset, 3, physicalOffset >> 10, 'DefaultRegion', true, uniqueKey);
  return encodeCommandAs(createResponse(request, 0, undefined, fields), request.opaque, RemotingFlag.RESPONSE).length;
}
function newAnswer(): number {
  physicalOffset += 1200;
  return template.write(scratch, 0, request.opaque, physicalOffset, 3, physicalOffset >> 10, uniqueKey);
}
{
  const expected = encodeCommandAs(createResponse(request, 0, undefined, sendAnswerFields(storeHost, 5000, 3, 4, 'DefaultRegion', true, uniqueKey)), request.opaque, RemotingFlag.RESPONSE);
  const end = template.write(scratch, 0, request.opaque, 5000, 3, 4, uniqueKey);
  if (!scratch.subarray(0, end).equals(expected)) throw new Error('the answer writers disagree');
}

// ---- topic name checks: every time (previous) against once per change of topic name
let lastCheckedTopic: string | undefined;
const topicNames = [Buffer.from('BenchmarkTopic').toString('latin1'), Buffer.from('BenchmarkTopic').toString('latin1')];
let topicIndex = 0;
function previousTopicCheck(): number {
  const topic = topicNames[topicIndex++ & 1]!;
  validateTopic(topic);
  return isNotAllowedSendTopic(topic) ? 0 : 1;
}
function newTopicCheck(): number {
  // Distinct string objects with equal text, as the header scanner makes them for each request.
  const topic = topicNames[topicIndex++ & 1]!;
  if (topic !== lastCheckedTopic) {
    validateTopic(topic);
    if (isNotAllowedSendTopic(topic)) return 0;
    lastCheckedTopic = topic;
  }
  return 1;
}

let sink = 0;
interface Case {
  group: string;
  name: string;
  operation: () => void;
}
const cases: Case[] = [
  { group: 'SEND_MESSAGE_V2 header → SendMessageRequestHeader', name: 'expandV2Fields (previous)', operation: () => (sink += previousParseHeader(request).queueId) },
  { group: 'SEND_MESSAGE_V2 header → SendMessageRequestHeader', name: 'direct one-letter reads', operation: () => (sink += parseSendMessageHeader(request).queueId) },
  { group: 'properties + broker properties + index keys + tags', name: 'Map round trip (previous)', operation: () => (sink += previousProperties(properties)) },
  { group: 'properties + broker properties + index keys + tags', name: 'scan + concatenation', operation: () => (sink += newProperties(properties)) },
  { group: 'properties without UNIQ_KEY (broker makes one)', name: 'Map round trip (previous)', operation: () => (sink += previousProperties('TAGS\u0001TagA\u0002WAIT\u0001true\u0002')) },
  { group: 'properties without UNIQ_KEY (broker makes one)', name: 'scan + concatenation', operation: () => (sink += newProperties('TAGS\u0001TagA\u0002WAIT\u0001true\u0002')) },
  { group: 'topic name checks', name: 'every send (previous)', operation: () => (sink += previousTopicCheck()) },
  { group: 'topic name checks', name: 'when the name changes', operation: () => (sink += newTopicCheck()) },
  { group: 'SEND answer frame', name: 'extFields + encodeCommandAs', operation: () => (sink += previousAnswer()) },
  { group: 'SEND answer frame', name: 'template into scratch', operation: () => (sink += newAnswer()) },
];

const loadAtStart = os.loadavg();
for (const { operation } of cases) nsPerCall(operation, 50_000);
const samples = new Map<Case, number[]>(cases.map((entry) => [entry, []]));
for (let round = 0; round < rounds; round++) for (const entry of cases) samples.get(entry)!.push(nsPerCall(entry.operation, callsPerRound));
const loadAtEnd = os.loadavg();

console.log(formatMachine(describeMachine(process.cwd())));
console.log(`load average: ${loadAtStart.map((value) => value.toFixed(2)).join(' ')} at the start, ${loadAtEnd.map((value) => value.toFixed(2)).join(' ')} at the end`);
console.log(`${rounds} rounds × ${callsPerRound} calls per case; CPU ns per call, median (min)`);
let currentGroup = '';
let firstMedian = 0;
for (const entry of cases) {
  const values = samples.get(entry)!;
  const middle = median(values);
  if (entry.group !== currentGroup) {
    currentGroup = entry.group;
    firstMedian = middle;
    console.log(`\n${entry.group}`);
  }
  const ratio = middle === firstMedian ? '' : `   ${(firstMedian / middle).toFixed(2)}× faster than the line above`;
  console.log(`  ${entry.name.padEnd(28)} ${middle.toFixed(0).padStart(6)} ns (${Math.min(...values).toFixed(0)})${ratio}`);
}
if (sink === 42) console.log('');
