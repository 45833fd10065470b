/**
 * Broker membership: REGISTER_BROKER (103), UNREGISTER_BROKER (104) and QUERY_DATA_VERSION (322).
 * Brokers register every 30 s with their whole topic config table; the answer tells a slave where
 * its master is and hands back the ORDER_TOPIC_CONFIG namespace.
 */
import { crc32 } from 'node:zlib';
import { ResponseCode, TideError } from '../../common/errors.js';
import { SYSTEM_TOPIC_NAME_MAX_LENGTH, validateTopicName } from '../../common/names.js';
import { createResponse, type RemotingCommand, type RequestContext, type RequestHandler } from '../../protocol/remoting-command.js';
import {
  createDataVersion,
  decodeDataVersion,
  decodeRegisterBrokerBody,
  encodeDataVersion,
  encodeKvTable,
  ORDER_TOPIC_CONFIG_NAMESPACE,
  type RegisterBrokerBody,
  type TopicConfigSerializeWrapper,
} from '../../protocol/route-data.js';
import type { NamesrvContext } from '../namesrv-context.js';
import type { BrokerIdentity } from '../route-table.js';
import { optionalBoolean, optionalField, optionalInteger, requireAddress, requireField, requireInteger, success } from './request-fields.js';

/** Most queues one topic may declare; far above any real topic, low enough to bound routes. */
export const MAX_QUEUE_NUMS = 65_535;

function readIdentity(request: RemotingCommand): BrokerIdentity {
  const brokerId = requireInteger(request, 'brokerId');
  if (brokerId < 0) throw new TideError('INVALID_PARAMETER', 'the request header field brokerId must not be negative');
  return {
    brokerName: requireField(request, 'brokerName'),
    brokerAddr: requireAddress(request, 'brokerAddr'),
    clusterName: requireField(request, 'clusterName'),
    brokerId,
  };
}

/** RocketMQ's body checksum: CRC32 masked to 31 bits; 0 in the header means "not sent". */
function checkBodyCrc(request: RemotingCommand): boolean {
  const expected = optionalInteger(request, 'bodyCrc32') ?? 0;
  if (expected === 0) return true;
  const body = request.body ?? Buffer.alloc(0);
  return (crc32(body) & 0x7fffffff) === expected;
}

/**
 * Java brokers with compressedRegister=true deflate the body but still send `compressed=false`
 * (BrokerOuterAPI sets the header to false unconditionally), so a body that opens with a zlib header
 * byte (0x78; JSON opens with `{`) is read as compressed whatever the header says.
 */
function looksDeflated(body: Buffer): boolean {
  return body.length >= 2 && body[0] === 0x78 && ((body[0] << 8) | body[1]!) % 31 === 0;
}

function validateTopicTable(wrapper: TopicConfigSerializeWrapper): void {
  for (const config of Object.values(wrapper.topicConfigTable)) {
    validateTopicName(config.topicName, SYSTEM_TOPIC_NAME_MAX_LENGTH);
    for (const [field, value] of [['readQueueNums', config.readQueueNums], ['writeQueueNums', config.writeQueueNums]] as const) {
      if (value < 0 || value > MAX_QUEUE_NUMS) {
        throw new TideError('INVALID_PARAMETER', `topic ${config.topicName}: ${field} must be within 0..${MAX_QUEUE_NUMS}`);
      }
    }
  }
}

export function registerBroker(context: NamesrvContext): RequestHandler {
  return (request: RemotingCommand, requestContext: RequestContext) => {
    const identity = readIdentity(request);
    const haServerAddr = requireField(request, 'haServerAddr', { allowEmpty: true });
    const heartbeatTimeoutMs = optionalInteger(request, 'heartbeatTimeoutMillis');
    if (heartbeatTimeoutMs !== undefined && (heartbeatTimeoutMs < 1_000 || heartbeatTimeoutMs > 86_400_000)) {
      throw new TideError('INVALID_PARAMETER', 'the request header field heartbeatTimeoutMillis must be within 1000..86400000');
    }
    if (!checkBodyCrc(request)) return createResponse(request, ResponseCode.SYSTEM_ERROR, 'crc32 not match');

    const body: RegisterBrokerBody =
      request.body !== undefined && request.body.length > 0
        ? decodeRegisterBrokerBody(request.body, optionalBoolean(request, 'compressed') === true || looksDeflated(request.body))
        : { topicConfigSerializeWrapper: { topicConfigTable: {}, dataVersion: createDataVersion(0) }, filterServerList: [] };
    validateTopicTable(body.topicConfigSerializeWrapper);

    const result = context.routeTable.registerBroker(
      {
        ...identity,
        haServerAddr,
        zoneName: optionalField(request, 'zoneName'),
        heartbeatTimeoutMs,
        enableActingMaster: optionalBoolean(request, 'enableActingMaster'),
        topicConfigWrapper: body.topicConfigSerializeWrapper,
        filterServerList: body.filterServerList,
        connectionId: requestContext.connection.id,
      },
      context.now(),
    );
    if (result === null) {
      return createResponse(request, ResponseCode.SYSTEM_ERROR, `register broker failed: broker id ${identity.brokerId} of ${identity.brokerName} is held by another address with a newer state`);
    }
    const extFields: Record<string, string> = {};
    if (result.haServerAddr !== undefined) extFields.haServerAddr = result.haServerAddr;
    if (result.masterAddr !== undefined) extFields.masterAddr = result.masterAddr;
    let answerBody: Buffer | undefined;
    if (context.settings.values.returnOrderTopicConfigToBroker) {
      const orderTable = context.kvConfig.listNamespace(ORDER_TOPIC_CONFIG_NAMESPACE);
      if (orderTable !== undefined) answerBody = encodeKvTable(orderTable);
    }
    return success(request, extFields, answerBody);
  };
}

export function unregisterBroker(context: NamesrvContext): RequestHandler {
  return (request: RemotingCommand) => {
    const identity = readIdentity(request);
    context.routeTable.unregisterBroker(identity);
    context.logger.info(identity, 'broker unregistered');
    return success(request);
  };
}

/** Lets a broker skip a full registration when the name server already has its DataVersion. */
export function queryDataVersion(context: NamesrvContext): RequestHandler {
  return (request: RemotingCommand) => {
    const { clusterName, brokerAddr } = readIdentity(request);
    const dataVersion = decodeDataVersion(request.body);
    const changed = context.routeTable.isBrokerTopicConfigChanged(clusterName, brokerAddr, dataVersion);
    context.routeTable.touchBroker(clusterName, brokerAddr, context.now());
    const known = context.routeTable.queryBrokerDataVersion(clusterName, brokerAddr);
    return success(request, { changed: String(changed) }, known === undefined ? undefined : encodeDataVersion(known));
  };
}
