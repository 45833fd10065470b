/**
 * LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42, often oneway): queue locks for orderly consumers.
 * Body `{consumerGroup, clientId, onlyThisBroker, mqSet:[{topic, brokerName, queueId}]}`; the lock answer
 * is `{"lockOKMQSet":[...]}` with the queues the client now holds (see queue-lock-manager.ts). Only the
 * owner's unlock releases a queue; an unlock naming queues another client holds is ignored. Owner
 * changes are written to `config/queueLocks.json` before the lock answer, so they survive a restart.
 */
import { join } from 'node:path';
import { TideError } from '../../common/errors.js';
import { isOneway, type RequestHandler } from '../../protocol/remoting-command.js';
import type { BrokerDeps } from '../broker-deps.js';
import type { MessageQueueRef } from '../queue-lock-manager.js';
import { answer, jsonBody, parseJsonBody } from './handler-support.js';

/** Most queues one lock request may name; a bound on the work one request can cause. */
const MAX_QUEUES_PER_REQUEST = 10_000;

interface LockBatchBody {
  consumerGroup: string;
  clientId: string;
  mqSet: MessageQueueRef[];
}

export function parseLockBatchBody(body: Buffer | undefined): LockBatchBody {
  const parsed = parseJsonBody(body);
  if (!parsed) throw new TideError('INVALID_PARAMETER', 'lock body must be a JSON object');
  const { consumerGroup, clientId, mqSet } = parsed;
  if (typeof consumerGroup !== 'string' || consumerGroup.length === 0) throw new TideError('INVALID_PARAMETER', 'lock body: consumerGroup is missing');
  if (typeof clientId !== 'string' || clientId.length === 0) throw new TideError('INVALID_PARAMETER', 'lock body: clientId is missing');
  if (mqSet !== undefined && !Array.isArray(mqSet)) throw new TideError('INVALID_PARAMETER', 'lock body: mqSet must be an array');
  const queues = (mqSet ?? []) as unknown[];
  if (queues.length > MAX_QUEUES_PER_REQUEST) throw new TideError('INVALID_PARAMETER', `lock body: more than ${MAX_QUEUES_PER_REQUEST} queues`);
  return {
    consumerGroup,
    clientId,
    mqSet: queues.map((entry) => {
      const queue = entry as Record<string, unknown>;
      const queueId = Number(queue?.queueId);
      if (typeof queue?.topic !== 'string' || typeof queue.brokerName !== 'string' || !Number.isInteger(queueId)) {
        throw new TideError('INVALID_PARAMETER', 'lock body: every mqSet entry needs topic, brokerName and queueId');
      }
      return { topic: queue.topic, brokerName: queue.brokerName, queueId };
    }),
  };
}

/** Where the lock owners are kept across restarts (see queue-lock-manager.ts). */
export function queueLockFilePath(storePathRootDir: string): string {
  return join(storePathRootDir, 'config', 'queueLocks.json');
}

export function createLockBatchHandler(deps: BrokerDeps): RequestHandler {
  // The handler table is built once per broker start, before it listens: the moment to restore owners.
  // (broker.ts constructs the manager without the store path; this keeps the wiring in this file.)
  deps.queueLockManager.attachPersistence(queueLockFilePath(deps.config.storePathRootDir), deps.logger);
  return async (request) => {
    const body = parseLockBatchBody(request.body);
    const locked = deps.queueLockManager.tryLockBatch(body.consumerGroup, body.mqSet, body.clientId);
    // A new owner is on disk before it hears it owns the queue, so a restart cannot hand the queue to
    // someone else while this client consumes it. Renewals change nothing and answer at once.
    await deps.queueLockManager.persist();
    return answer(request, 0, undefined, undefined, jsonBody({ lockOKMQSet: locked }));
  };
}

export function createUnlockBatchHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const body = parseLockBatchBody(request.body);
    deps.queueLockManager.unlockBatch(body.consumerGroup, body.mqSet, body.clientId);
    deps.queueLockManager.persist().catch((error: unknown) => deps.logger.error({ err: error }, 'writing the queue lock file failed'));
    return isOneway(request) ? null : answer(request);
  };
}
