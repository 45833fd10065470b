/**
 * Helpers for the transaction integration tests: a transactional send (TRAN_MSG, PGROUP, PREPARED
 * sysFlag), END_TRANSACTION requests, a producer-only heartbeat, and a "producer" RemotingClient that
 * answers CHECK_TRANSACTION_STATE (39) the way the Java client does: END_TRANSACTION (oneway) on the
 * same connection with the offsets from the check header and fromTransactionCheck=true.
 */
import { decodeOffsetMessageId } from '../../src/protocol/message-id.js';
import { decodeRecord } from '../../src/protocol/message-record.js';
import { getProperty } from '../../src/protocol/message-properties.js';
import { createRequest, type RemotingCommand, type RequestHandler } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import type { RemotingClient } from '../../src/remoting/remoting-client.js';
import { newClient, pullRequest, recordsOf, sendV2Request } from './broker-test-support.js';

export const COMMIT = 8;
export const ROLLBACK = 12;
export const UNKNOWN = 0;

export interface HalfSent {
  /** The half's offsetMsgId (send answer msgId). */
  offsetMsgId: string;
  /** The half-queue offset (send answer queueOffset = tranStateTableOffset). */
  queueOffset: number;
  commitLogOffset: number;
  transactionId: string;
  queueId: number;
}

/** Sends one transactional message as the Java TransactionMQProducer does and returns its half's identity. */
export async function sendHalf(client: RemotingClient, address: string, topic: string, body: string, producerGroup = 'PG-tx', queueId = 0): Promise<HalfSent> {
  const request = sendV2Request(topic, body, { producerGroup, queueId, properties: { TRAN_MSG: 'true', PGROUP: producerGroup } });
  request.extFields!.f = '4';
  const response = await client.invoke(address, request);
  if (response.code !== 0) throw new Error(`transactional send failed: ${response.code} ${response.remark}`);
  const fields = response.extFields!;
  return {
    offsetMsgId: fields.msgId!,
    queueOffset: Number(fields.queueOffset),
    commitLogOffset: decodeOffsetMessageId(fields.msgId!)!.physicalOffset,
    transactionId: fields.transactionId!,
    queueId: Number(fields.queueId),
  };
}

export function endTransactionRequest(half: HalfSent, commitOrRollback: number, producerGroup = 'PG-tx', fromTransactionCheck = false): RemotingCommand {
  return createRequest(RequestCode.END_TRANSACTION, {
    producerGroup,
    tranStateTableOffset: String(half.queueOffset),
    commitLogOffset: String(half.commitLogOffset),
    commitOrRollback: String(commitOrRollback),
    fromTransactionCheck: String(fromTransactionCheck),
    msgId: half.transactionId,
    transactionId: half.transactionId,
  });
}

export function producerHeartbeat(clientId: string, producerGroup: string): RemotingCommand {
  const body = { clientID: clientId, producerDataSet: [{ groupName: producerGroup }], consumerDataSet: [] };
  return createRequest(RequestCode.HEART_BEAT, undefined, Buffer.from(JSON.stringify(body)));
}

export interface CheckSeen {
  transactionId: string;
  tranStateTableOffset: number;
  commitLogOffset: number;
  /** Topic of the record in the check body (the real topic). */
  bodyTopic: string;
  checkTimes: number;
}

/**
 * A producer connection that records every check and answers with `decide(check)` (undefined = no
 * answer at all). It registers with a heartbeat, so the broker knows it as a live producer of the group.
 */
export async function checkingProducer(
  address: string,
  producerGroup: string,
  decide: (check: CheckSeen) => number | undefined,
): Promise<{ client: RemotingClient; checks: CheckSeen[] }> {
  const checks: CheckSeen[] = [];
  const onCheck: RequestHandler = (request, context) => {
    const fields = request.extFields ?? {};
    const record = request.body ? decodeRecord(request.body) : null;
    const check: CheckSeen = {
      transactionId: fields.transactionId ?? '',
      tranStateTableOffset: Number(fields.tranStateTableOffset),
      commitLogOffset: Number(fields.commitLogOffset),
      bodyTopic: record?.topic ?? '',
      checkTimes: Number(record ? getProperty(record.properties, 'TRANSACTION_CHECK_TIMES') : 0),
    };
    checks.push(check);
    const state = decide(check);
    if (state !== undefined) {
      const end = createRequest(RequestCode.END_TRANSACTION, {
        producerGroup,
        tranStateTableOffset: String(check.tranStateTableOffset),
        commitLogOffset: String(check.commitLogOffset),
        commitOrRollback: String(state),
        fromTransactionCheck: 'true',
        msgId: check.transactionId,
        transactionId: check.transactionId,
      });
      context.connection.invokeOneway(end);
    }
    return null;
  };
  const client = newClient(new Map([[RequestCode.CHECK_TRANSACTION_STATE, onCheck]]));
  const response = await client.invoke(address, producerHeartbeat(`127.0.0.1@${producerGroup}-${Math.random().toString(36).slice(2)}`, producerGroup));
  if (response.code !== 0) throw new Error(`heartbeat failed: ${response.code} ${response.remark}`);
  return { client, checks };
}

/** Bodies of every message in one queue, from offset 0 (none while the topic does not exist yet). */
export async function bodiesIn(client: RemotingClient, address: string, topic: string, queueId = 0): Promise<string[]> {
  const response = await client.invoke(address, pullRequest('CG-tx-reader', topic, 0, { queueId, subscription: '*', maxMsgNums: 64 }));
  if (response.code === 17 || response.code === 19 || response.code === 20) return [];
  if (response.code !== 0) throw new Error(`pull failed: ${response.code} ${response.remark}`);
  return recordsOf(response).map((record) => record.body.toString());
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
