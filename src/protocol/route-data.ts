/**
 * The name server's bodies: topic routes, cluster info, topic configs as brokers register them, topic
 * lists and KV tables, with their JSON codecs. Decoders never trust the network: every field is
 * checked and a bad shape throws TideError('INVALID_PARAMETER') naming the field.
 *
 * JSON bodies are written by `toFastJson` (fields sorted, standard JSON: `brokerAddrs` keys are the
 * quoted decimal broker ids, `"0"` = master) and read by `parseFastJson` (which also takes the
 * unquoted `{0:"ip:port"}` keys old Java name servers send).
 *
 * Compressed RegisterBrokerBody (Java `RegisterBrokerBody.encode(true)`, sent when the register
 * header says `compressed=true`). The whole body is one zlib stream (RFC 1950: 2-byte header, deflate
 * data, Adler-32; what java.util.zip.DeflaterOutputStream writes); inside it, big-endian:
 *
 *   int32 n          length of the DataVersion JSON
 *   n bytes          DataVersion JSON `{"counter":1,"stateVersion":0,"timestamp":1700000000000}`
 *   int32 count      number of topic configs
 *   count × (int32 n, n bytes)  one TopicConfig in its space-separated text form:
 *                    `topicName readQueueNums writeQueueNums perm topicFilterType [attributesJson]`
 *                    (4.x has 5 fields, 5.x adds the attributes JSON; topicSysFlag and order are
 *                    not carried and decode as 0 / false, exactly as in Java)
 *   int32 n, n bytes filterServerList JSON array
 *   [5.x only] int32 count, count × (int32 n, n bytes TopicQueueMappingInfo JSON); a 4.x body ends
 *                    before this, so it is read only when bytes remain.
 *
 * A truncated or oversized inner record is INVALID_PARAMETER; inflation stops at
 * MAX_INFLATED_REGISTER_BODY_BYTES so a small frame cannot expand without bound.
 */
import { deflateSync, inflateSync, constants as zlibConstants } from 'node:zlib';
import { TideError } from '../common/errors.js';
import { fastJsonEntries, parseFastJson, toFastJsonBuffer, type FastJsonValue } from './fastjson.js';

/** Topic/broker permission bits (Java `PermName`). */
export const Perm = {
  PRIORITY: 8,
  READ: 4,
  WRITE: 2,
  INHERIT: 1,
} as const;

export const isReadable = (perm: number): boolean => (perm & Perm.READ) !== 0;
export const isWriteable = (perm: number): boolean => (perm & Perm.WRITE) !== 0;
export const isInherited = (perm: number): boolean => (perm & Perm.INHERIT) !== 0;

/** `RW-` style, as the Java admin tool prints permissions (R read, W write, X inherit). */
export function permToString(perm: number): string {
  return (isReadable(perm) ? 'R' : '-') + (isWriteable(perm) ? 'W' : '-') + (isInherited(perm) ? 'X' : '-');
}

/** brokerId of a replica set's master; slaves have ids > 0. */
export const MASTER_BROKER_ID = 0;
/** KV namespace holding `topic → "brokerName:queueNums;…"` for ordered topics. */
export const ORDER_TOPIC_CONFIG_NAMESPACE = 'ORDER_TOPIC_CONFIG';
/** Java's default (and only meaningful) topic filter type. */
export const DEFAULT_TOPIC_FILTER_TYPE = 'SINGLE_TAG';
export const MAX_INFLATED_REGISTER_BODY_BYTES = 64 * 1024 * 1024;

export interface DataVersion {
  stateVersion: number;
  timestamp: number;
  counter: number;
}

export interface TopicConfig {
  topicName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  topicFilterType: string;
  topicSysFlag: number;
  order: boolean;
  attributes: Record<string, string>;
}

export interface TopicConfigSerializeWrapper {
  topicConfigTable: Record<string, TopicConfig>;
  dataVersion: DataVersion;
}

export interface RegisterBrokerBody {
  topicConfigSerializeWrapper: TopicConfigSerializeWrapper;
  filterServerList: string[];
}

export interface QueueData {
  brokerName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  topicSysFlag: number;
}

export interface BrokerData {
  cluster: string;
  brokerName: string;
  /** brokerId (decimal string; "0" = master) → `ip:port`. */
  brokerAddrs: Record<string, string>;
  enableActingMaster: boolean;
  zoneName?: string | undefined;
}

export interface TopicRouteData {
  orderTopicConf?: string | undefined;
  queueDatas: QueueData[];
  brokerDatas: BrokerData[];
  /** broker address → filter server addresses (always empty in TideMQ). */
  filterServerTable: Record<string, string[]>;
  /** Static-topic mapping, passed through untouched when present. */
  topicQueueMappingByBroker?: FastJsonValue | undefined;
}

export interface ClusterInfo {
  brokerAddrTable: Record<string, BrokerData>;
  clusterAddrTable: Record<string, string[]>;
}

export interface TopicList {
  topicList: string[];
  brokerAddr?: string | undefined;
}

export function createDataVersion(nowMs: number, counter = 0, stateVersion = 0): DataVersion {
  return { stateVersion, timestamp: nowMs, counter };
}

export function dataVersionEquals(left: DataVersion, right: DataVersion): boolean {
  return left.stateVersion === right.stateVersion && left.timestamp === right.timestamp && left.counter === right.counter;
}

/** A topic config with Java's defaults (16/16 queues, read+write, SINGLE_TAG). */
export function createTopicConfig(topicName: string, overrides: Partial<Omit<TopicConfig, 'topicName'>> = {}): TopicConfig {
  return {
    topicName,
    readQueueNums: 16,
    writeQueueNums: 16,
    perm: Perm.READ | Perm.WRITE,
    topicFilterType: DEFAULT_TOPIC_FILTER_TYPE,
    topicSysFlag: 0,
    order: false,
    attributes: {},
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// Shape checks

type JsonRecord = { [key: string]: FastJsonValue };

function invalid(path: string, expected: string): never {
  throw new TideError('INVALID_PARAMETER', `${path} must be ${expected}`);
}

function asRecord(value: FastJsonValue | undefined, path: string): JsonRecord {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Map) invalid(path, 'an object');
  return value;
}

function asOptionalRecord(value: FastJsonValue | undefined, path: string): JsonRecord {
  return value === undefined || value === null ? {} : asRecord(value, path);
}

function asArray(value: FastJsonValue | undefined, path: string): FastJsonValue[] {
  if (!Array.isArray(value)) invalid(path, 'an array');
  return value;
}

function asString(value: FastJsonValue | undefined, path: string): string {
  if (typeof value !== 'string') invalid(path, 'a string');
  return value;
}

function asOptionalString(value: FastJsonValue | undefined, path: string): string | undefined {
  return value === undefined || value === null ? undefined : asString(value, path);
}

function asNonEmptyString(value: FastJsonValue | undefined, path: string): string {
  const text = asString(value, path);
  if (text.length === 0) invalid(path, 'a non-empty string');
  return text;
}

/** An integer (Java int or long), also accepted as a decimal string as fastjson does. */
function asInteger(value: FastJsonValue | undefined, path: string, fallback?: number): number {
  if ((value === undefined || value === null) && fallback !== undefined) return fallback;
  const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number)) invalid(path, 'an integer');
  return number;
}

function asBoolean(value: FastJsonValue | undefined, path: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return invalid(path, 'a boolean');
}

/** Own-property assignment that is safe for any key, `__proto__` included. */
function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

function parseBody(body: Uint8Array | string | undefined, what: string): FastJsonValue {
  if (body === undefined || body.length === 0) throw new TideError('INVALID_PARAMETER', `${what} body is missing`);
  return parseFastJson(body);
}

// ---------------------------------------------------------------------------------------------
// DataVersion, TopicConfig, wrapper

export function readDataVersion(value: FastJsonValue | undefined, path = 'dataVersion'): DataVersion {
  const record = asOptionalRecord(value, path);
  return {
    stateVersion: asInteger(record.stateVersion, `${path}.stateVersion`, 0),
    timestamp: asInteger(record.timestamp, `${path}.timestamp`, 0),
    counter: asInteger(record.counter, `${path}.counter`, 0),
  };
}

export function encodeDataVersion(version: DataVersion): Buffer {
  return toFastJsonBuffer(version);
}

export function decodeDataVersion(body: Uint8Array | string | undefined): DataVersion {
  return readDataVersion(parseBody(body, 'DataVersion'));
}

function readStringMap(value: FastJsonValue | undefined, path: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, item] of Object.entries(asOptionalRecord(value, path))) setOwn(result, key, asString(item, `${path}.${key}`));
  return result;
}

export function readTopicConfig(value: FastJsonValue | undefined, path: string): TopicConfig {
  const record = asRecord(value, path);
  return {
    topicName: asNonEmptyString(record.topicName, `${path}.topicName`),
    readQueueNums: asInteger(record.readQueueNums, `${path}.readQueueNums`, 16),
    writeQueueNums: asInteger(record.writeQueueNums, `${path}.writeQueueNums`, 16),
    perm: asInteger(record.perm, `${path}.perm`, Perm.READ | Perm.WRITE),
    topicFilterType: asOptionalString(record.topicFilterType, `${path}.topicFilterType`) ?? DEFAULT_TOPIC_FILTER_TYPE,
    topicSysFlag: asInteger(record.topicSysFlag, `${path}.topicSysFlag`, 0),
    order: asBoolean(record.order, `${path}.order`, false),
    attributes: readStringMap(record.attributes, `${path}.attributes`),
  };
}

export function readTopicConfigSerializeWrapper(value: FastJsonValue | undefined, path = 'topicConfigSerializeWrapper'): TopicConfigSerializeWrapper {
  const record = asOptionalRecord(value, path);
  const topicConfigTable: Record<string, TopicConfig> = {};
  for (const [name, item] of Object.entries(asOptionalRecord(record.topicConfigTable, `${path}.topicConfigTable`))) {
    const config = readTopicConfig(item, `${path}.topicConfigTable.${name}`);
    setOwn(topicConfigTable, config.topicName, config);
  }
  return { topicConfigTable, dataVersion: readDataVersion(record.dataVersion, `${path}.dataVersion`) };
}

export function encodeTopicConfigSerializeWrapper(wrapper: TopicConfigSerializeWrapper): Buffer {
  return toFastJsonBuffer(wrapper);
}

export function decodeTopicConfigSerializeWrapper(body: Uint8Array | string | undefined): TopicConfigSerializeWrapper {
  return readTopicConfigSerializeWrapper(parseBody(body, 'TopicConfigSerializeWrapper'));
}

// ---------------------------------------------------------------------------------------------
// RegisterBrokerBody

export function encodeRegisterBrokerBody(body: RegisterBrokerBody, compress = false): Buffer {
  if (!compress) return toFastJsonBuffer(body);
  const pieces: Buffer[] = [];
  const pushBlock = (bytes: Buffer): void => {
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(bytes.length, 0);
    pieces.push(length, bytes);
  };
  const pushInt = (value: number): void => {
    const bytes = Buffer.allocUnsafe(4);
    bytes.writeInt32BE(value, 0);
    pieces.push(bytes);
  };
  const wrapper = body.topicConfigSerializeWrapper;
  pushBlock(encodeDataVersion(wrapper.dataVersion));
  const configs = Object.values(wrapper.topicConfigTable);
  pushInt(configs.length);
  for (const config of configs) {
    const text = [config.topicName, config.readQueueNums, config.writeQueueNums, config.perm, config.topicFilterType].join(' ');
    pushBlock(Buffer.from(`${text} ${JSON.stringify(config.attributes)}`, 'utf8'));
  }
  pushBlock(toFastJsonBuffer(body.filterServerList));
  pushInt(0);
  return deflateSync(Buffer.concat(pieces), { level: zlibConstants.Z_BEST_COMPRESSION });
}

export function decodeRegisterBrokerBody(bytes: Uint8Array | undefined, compressed: boolean): RegisterBrokerBody {
  if (!compressed) {
    const record = asRecord(parseBody(bytes, 'RegisterBrokerBody'), 'RegisterBrokerBody');
    return {
      topicConfigSerializeWrapper: readTopicConfigSerializeWrapper(record.topicConfigSerializeWrapper),
      filterServerList: asArray(record.filterServerList ?? [], 'filterServerList').map((item, index) => asString(item, `filterServerList[${index}]`)),
    };
  }
  if (bytes === undefined || bytes.length === 0) throw new TideError('INVALID_PARAMETER', 'RegisterBrokerBody body is missing');
  let inflated: Buffer;
  try {
    inflated = inflateSync(bytes, { maxOutputLength: MAX_INFLATED_REGISTER_BODY_BYTES });
  } catch (cause) {
    throw new TideError('INVALID_PARAMETER', 'compressed RegisterBrokerBody is not a valid zlib stream or inflates too large', { cause });
  }
  return readCompressedRegisterBody(inflated);
}

function readCompressedRegisterBody(data: Buffer): RegisterBrokerBody {
  let position = 0;
  const readInt = (what: string): number => {
    if (position + 4 > data.length) throw new TideError('INVALID_PARAMETER', `compressed RegisterBrokerBody truncated at ${what}`);
    const value = data.readInt32BE(position);
    position += 4;
    return value;
  };
  const readBlock = (what: string): string => {
    const length = readInt(what);
    if (length < 0 || position + length > data.length) throw new TideError('INVALID_PARAMETER', `compressed RegisterBrokerBody: bad length of ${what}`);
    const text = data.toString('utf8', position, position + length);
    position += length;
    return text;
  };
  const dataVersion = readDataVersion(parseFastJson(readBlock('dataVersion')));
  const count = readInt('topic count');
  if (count < 0 || count > data.length / 4) throw new TideError('INVALID_PARAMETER', `compressed RegisterBrokerBody: bad topic count ${count}`);
  const topicConfigTable: Record<string, TopicConfig> = {};
  for (let index = 0; index < count; index++) {
    const config = parseTopicConfigText(readBlock(`topic config ${index}`), index);
    setOwn(topicConfigTable, config.topicName, config);
  }
  const filterServerList = asArray(parseFastJson(readBlock('filterServerList')), 'filterServerList').map((item, index) =>
    asString(item, `filterServerList[${index}]`),
  );
  // The 5.x static-topic mapping trailer is parsed for well-formedness and otherwise ignored:
  // TideMQ does not serve static topics.
  if (position < data.length) {
    const mappings = readInt('topic queue mapping count');
    for (let index = 0; index < mappings; index++) parseFastJson(readBlock(`topic queue mapping ${index}`));
  }
  return { topicConfigSerializeWrapper: { topicConfigTable, dataVersion }, filterServerList };
}

/** Java `TopicConfig.encode()`: `name read write perm filterType [attributesJson]`. */
function parseTopicConfigText(text: string, index: number): TopicConfig {
  const fields = text.split(' ');
  const path = `compressed topic config ${index}`;
  if (fields.length < 5) throw new TideError('INVALID_PARAMETER', `${path} must have at least 5 space-separated fields`);
  const attributesText = fields.slice(5).join(' ');
  let attributes: Record<string, string> = {};
  if (attributesText.length > 0) {
    try {
      attributes = readStringMap(parseFastJson(attributesText), `${path}.attributes`);
    } catch {
      // Java ignores unparsable attributes here too (a space inside a value breaks its split).
      attributes = {};
    }
  }
  return {
    topicName: asNonEmptyString(fields[0], `${path}.topicName`),
    readQueueNums: asInteger(fields[1], `${path}.readQueueNums`),
    writeQueueNums: asInteger(fields[2], `${path}.writeQueueNums`),
    perm: asInteger(fields[3], `${path}.perm`),
    topicFilterType: asNonEmptyString(fields[4], `${path}.topicFilterType`),
    topicSysFlag: 0,
    order: false,
    attributes,
  };
}

// ---------------------------------------------------------------------------------------------
// Routes and cluster info

function readQueueData(value: FastJsonValue | undefined, path: string): QueueData {
  const record = asRecord(value, path);
  return {
    brokerName: asNonEmptyString(record.brokerName, `${path}.brokerName`),
    readQueueNums: asInteger(record.readQueueNums, `${path}.readQueueNums`),
    writeQueueNums: asInteger(record.writeQueueNums, `${path}.writeQueueNums`),
    perm: asInteger(record.perm, `${path}.perm`),
    // RocketMQ before 4.9 spelled it topicSynFlag.
    topicSysFlag: asInteger(record.topicSysFlag ?? record.topicSynFlag, `${path}.topicSysFlag`, 0),
  };
}

function readBrokerData(value: FastJsonValue | undefined, path: string): BrokerData {
  const record = asRecord(value, path);
  const brokerAddrs: Record<string, string> = {};
  for (const [key, address] of fastJsonEntries(asOptionalRecord(record.brokerAddrs, `${path}.brokerAddrs`))) {
    const brokerId = asInteger(key, `${path}.brokerAddrs key`);
    setOwn(brokerAddrs, String(brokerId), asString(address, `${path}.brokerAddrs.${brokerId}`));
  }
  const brokerData: BrokerData = {
    cluster: asString(record.cluster, `${path}.cluster`),
    brokerName: asNonEmptyString(record.brokerName, `${path}.brokerName`),
    brokerAddrs,
    enableActingMaster: asBoolean(record.enableActingMaster, `${path}.enableActingMaster`, false),
  };
  const zoneName = asOptionalString(record.zoneName, `${path}.zoneName`);
  if (zoneName !== undefined) brokerData.zoneName = zoneName;
  return brokerData;
}

export function encodeTopicRouteData(route: TopicRouteData): Buffer {
  return toFastJsonBuffer(route);
}

export function decodeTopicRouteData(body: Uint8Array | string | undefined): TopicRouteData {
  const record = asRecord(parseBody(body, 'TopicRouteData'), 'TopicRouteData');
  const filterServerTable: Record<string, string[]> = {};
  for (const [address, list] of Object.entries(asOptionalRecord(record.filterServerTable, 'filterServerTable'))) {
    setOwn(filterServerTable, address, asArray(list ?? [], `filterServerTable.${address}`).map((item) => asString(item, `filterServerTable.${address}[]`)));
  }
  const route: TopicRouteData = {
    queueDatas: asArray(record.queueDatas ?? [], 'queueDatas').map((item, index) => readQueueData(item, `queueDatas[${index}]`)),
    brokerDatas: asArray(record.brokerDatas ?? [], 'brokerDatas').map((item, index) => readBrokerData(item, `brokerDatas[${index}]`)),
    filterServerTable,
  };
  const orderTopicConf = asOptionalString(record.orderTopicConf, 'orderTopicConf');
  if (orderTopicConf !== undefined) route.orderTopicConf = orderTopicConf;
  if (record.topicQueueMappingByBroker !== undefined && record.topicQueueMappingByBroker !== null) {
    route.topicQueueMappingByBroker = record.topicQueueMappingByBroker;
  }
  return route;
}

export function encodeClusterInfo(info: ClusterInfo): Buffer {
  return toFastJsonBuffer(info);
}

export function decodeClusterInfo(body: Uint8Array | string | undefined): ClusterInfo {
  const record = asRecord(parseBody(body, 'ClusterInfo'), 'ClusterInfo');
  const brokerAddrTable: Record<string, BrokerData> = {};
  for (const [name, item] of Object.entries(asOptionalRecord(record.brokerAddrTable, 'brokerAddrTable'))) {
    setOwn(brokerAddrTable, name, readBrokerData(item, `brokerAddrTable.${name}`));
  }
  const clusterAddrTable: Record<string, string[]> = {};
  for (const [cluster, names] of Object.entries(asOptionalRecord(record.clusterAddrTable, 'clusterAddrTable'))) {
    setOwn(clusterAddrTable, cluster, asArray(names, `clusterAddrTable.${cluster}`).map((item) => asString(item, `clusterAddrTable.${cluster}[]`)));
  }
  return { brokerAddrTable, clusterAddrTable };
}

// ---------------------------------------------------------------------------------------------
// Topic lists and KV tables

export function encodeTopicList(list: TopicList): Buffer {
  return toFastJsonBuffer(list);
}

export function decodeTopicList(body: Uint8Array | string | undefined): TopicList {
  const record = asRecord(parseBody(body, 'TopicList'), 'TopicList');
  const list: TopicList = { topicList: asArray(record.topicList ?? [], 'topicList').map((item, index) => asString(item, `topicList[${index}]`)) };
  const brokerAddr = asOptionalString(record.brokerAddr, 'brokerAddr');
  if (brokerAddr !== undefined) list.brokerAddr = brokerAddr;
  return list;
}

/** Java `KVTable`: `{"table":{key:value}}`. */
export function encodeKvTable(table: Record<string, string>): Buffer {
  return toFastJsonBuffer({ table });
}

export function decodeKvTable(body: Uint8Array | string | undefined): Record<string, string> {
  return readStringMap(asRecord(parseBody(body, 'KVTable'), 'KVTable').table, 'table');
}
