/**
 * Queue allocation for clustering consumers. Every member of a group computes its own share from the
 * same sorted queue list and the same sorted client id list, so all members agree without talking to
 * each other; a strategy must therefore be a pure function of its inputs.
 *
 * - AVERAGE (RocketMQ's AllocateMessageQueueAveragely, the default): contiguous blocks of
 *   queues/clients queues each, the first queues%clients clients one more.
 * - STICKY: capacity-bounded rendezvous hashing. Each queue ranks the clients by a hash of
 *   (queue, client); queues go to their best-ranked client that still has room, with the same counts
 *   as AVERAGE. A client joining or leaving moves roughly the queues it must, not a whole shift of
 *   blocks, so fewer queues change hands (and fewer caches, locks and in-flight messages are dropped).
 * - NEARBY_ZONE (RocketMQ's AllocateMachineRoomNearby over AVERAGE): the queues of a zone go to the
 *   clients in that zone; the queues of a zone without clients are shared by all clients. A broker's
 *   zone comes from its route (`zoneName`); a client's zone is the third part of its client id.
 */
import { createHash } from 'node:crypto';
import type { MessageQueue } from './message-queue.js';

export interface AllocateContext {
  group: string;
  clientId: string;
  /** Every queue of the topic, sorted (compareQueues). */
  queues: readonly MessageQueue[];
  /** Every client id of the group, sorted. */
  clientIds: readonly string[];
  zoneOfBroker(brokerName: string): string | undefined;
  zoneOfClient(clientId: string): string | undefined;
}

export type AllocateStrategy = (context: AllocateContext) => MessageQueue[];

export function allocateAveragely(context: AllocateContext): MessageQueue[] {
  const { queues, clientIds, clientId } = context;
  const index = clientIds.indexOf(clientId);
  if (index < 0 || queues.length === 0) return [];
  const queueCount = queues.length;
  const clientCount = clientIds.length;
  const remainder = queueCount % clientCount;
  const base = Math.floor(queueCount / clientCount);
  let size: number;
  let start: number;
  if (queueCount <= clientCount) {
    size = 1;
    start = index;
  } else if (index < remainder) {
    size = base + 1;
    start = index * size;
  } else {
    size = base;
    start = index * size + remainder;
  }
  const result: MessageQueue[] = [];
  for (let offset = 0; offset < size && start + offset < queueCount; offset++) result.push(queues[start + offset]!);
  return result;
}

function rendezvousScore(queue: MessageQueue, clientId: string): number {
  const digest = createHash('sha1').update(`${queue.topic}\u0000${queue.brokerName}\u0000${queue.queueId}\u0000${clientId}`).digest();
  return digest.readUInt32BE(0) * 0x100000 + (digest.readUInt32BE(4) >>> 12);
}

export function allocateSticky(context: AllocateContext): MessageQueue[] {
  const { queues, clientIds, clientId } = context;
  if (!clientIds.includes(clientId) || queues.length === 0) return [];
  const clientCount = clientIds.length;
  const base = Math.floor(queues.length / clientCount);
  let extras = queues.length % clientCount;
  const counts = new Map<string, number>(clientIds.map((id) => [id, 0]));
  const owner = new Array<string | undefined>(queues.length);
  const rankings = queues.map((queue) =>
    clientIds.map((id) => ({ id, score: rendezvousScore(queue, id) })).sort((left, right) => right.score - left.score || (left.id < right.id ? -1 : 1)),
  );
  // First everyone fills up to the base share, in queue order; then the leftover queues each give one
  // extra to their best-ranked client that has no extra yet.
  for (let index = 0; index < queues.length; index++) {
    for (const { id } of rankings[index]!) {
      if (counts.get(id)! < base) {
        owner[index] = id;
        counts.set(id, counts.get(id)! + 1);
        break;
      }
    }
  }
  for (let index = 0; index < queues.length && extras > 0; index++) {
    if (owner[index] !== undefined) continue;
    for (const { id } of rankings[index]!) {
      if (counts.get(id)! === base) {
        owner[index] = id;
        counts.set(id, base + 1);
        extras--;
        break;
      }
    }
  }
  return queues.filter((_, index) => owner[index] === clientId);
}

/** AllocateMachineRoomNearby over `inner` (AVERAGE by default). */
export function allocateNearbyZone(context: AllocateContext, inner: AllocateStrategy = allocateAveragely): MessageQueue[] {
  const zoneKey = (zone: string | undefined): string => zone ?? '';
  const queuesByZone = new Map<string, MessageQueue[]>();
  for (const queue of context.queues) {
    const zone = zoneKey(context.zoneOfBroker(queue.brokerName));
    const list = queuesByZone.get(zone);
    if (list === undefined) queuesByZone.set(zone, [queue]);
    else list.push(queue);
  }
  const clientsByZone = new Map<string, string[]>();
  for (const id of context.clientIds) {
    const zone = zoneKey(context.zoneOfClient(id));
    const list = clientsByZone.get(zone);
    if (list === undefined) clientsByZone.set(zone, [id]);
    else list.push(id);
  }
  const result: MessageQueue[] = [];
  const myZone = zoneKey(context.zoneOfClient(context.clientId));
  const mine = queuesByZone.get(myZone);
  if (mine !== undefined) result.push(...inner({ ...context, queues: mine, clientIds: clientsByZone.get(myZone) ?? [] }));
  for (const [zone, queues] of queuesByZone) {
    if (zone === myZone || clientsByZone.has(zone)) continue;
    result.push(...inner({ ...context, queues }));
  }
  return result;
}

export const AllocateStrategyName = {
  AVERAGE: 'AVERAGE',
  STICKY: 'STICKY',
  NEARBY_ZONE: 'NEARBY_ZONE',
} as const;
export type AllocateStrategyName = (typeof AllocateStrategyName)[keyof typeof AllocateStrategyName];

export function strategyByName(name: AllocateStrategyName | AllocateStrategy): AllocateStrategy {
  if (typeof name === 'function') return name;
  switch (name) {
    case 'AVERAGE':
      return allocateAveragely;
    case 'STICKY':
      return allocateSticky;
    case 'NEARBY_ZONE':
      return (context) => allocateNearbyZone(context);
  }
}
