/**
 * GET_BROKER_RUNTIME_INFO (28): Java's KVTable `{"table":{key:value}}`, every value a string. The keys
 * are the ones Java's broker reports (AdminBrokerProcessor.prepareRuntimeInfo and the store's
 * runtime info) and that readers parse without a fallback: mqadmin clusterList and brokerStatus, the
 * Dashboard, and rocketmq-exporter (which Long.parseLong's most of them, so none may be missing or
 * non-numeric). Thread-pool queues do not exist in Node; their sizes and waits are reported as 0 and
 * their capacities as Java's defaults, so the columns read as "no backlog".
 */
import { statfsSync } from 'node:fs';
import { ResponseCode } from '../../../common/errors.js';
import { readStoreTimestamp } from '../../../protocol/message-record.js';
import { TIDEMQ_VERSION_ORDINAL, type RequestHandler } from '../../../protocol/remoting-command.js';
import type { BrokerDeps } from '../../broker-deps.js';
import { SystemTopic } from '../../topic-names.js';
import { answer } from '../handler-support.js';
import { fastJsonBody } from './admin-support.js';
import { RateKey, type AdminState } from './admin-state.js';
import { formatDouble, formatTps } from './rate-sampler.js';

/** MQVersion name of TIDEMQ_VERSION_ORDINAL (479), what Java reports as brokerVersionDesc. */
export const BROKER_VERSION_DESC = 'V5_3_3';

/** Java's default thread-pool queue capacities (BrokerConfig), reported for the tools' columns. */
const JAVA_QUEUE_CAPACITIES = {
  sendThreadPoolQueueCapacity: 10_000,
  pullThreadPoolQueueCapacity: 100_000,
  litePullThreadPoolQueueCapacity: 100_000,
  queryThreadPoolQueueCapacity: 20_000,
  ackThreadPoolQueueCapacity: 100_000,
  EndTransactionThreadPoolQueueCapacity: 100_000,
} as const;

/** Java's put-latency buckets (StoreStatsService); TideMQ does not measure them yet, so all are 0. */
const PUT_LATENCY_BUCKETS = ['[<=0ms]', '[0~10ms]', '[10~50ms]', '[50~100ms]', '[100~200ms]', '[200~500ms]', '[500ms~1s]', '[1~2s]', '[2~3s]', '[3~4s]', '[4~5s]', '[5~10s]', '[10s~]'];

/** Java's MixAll.humanReadableByteCount(bytes, si=false): `512 B`, `49.1 GiB`. */
export function humanReadableBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const exponent = Math.min(6, Math.floor(Math.log(bytes) / Math.log(1024)));
  return `${(bytes / 1024 ** exponent).toFixed(1)} ${'KMGTPE'[exponent - 1]}iB`;
}

/** Java's StoreStatsService runtime format: `[ 0 days, 1 hours, 2 minutes, 3 seconds ]`. */
export function formatRuntime(elapsedMs: number): string {
  const seconds = Math.floor(elapsedMs / 1000);
  return `[ ${Math.floor(seconds / 86_400)} days, ${Math.floor((seconds % 86_400) / 3600)} hours, ${Math.floor((seconds % 3600) / 60)} minutes, ${seconds % 60} seconds ]`;
}

function diskSpace(path: string): { totalBytes: number; freeBytes: number; usedRatio: number } | undefined {
  try {
    const stats = statfsSync(path);
    const totalBytes = stats.blocks * stats.bsize;
    const freeBytes = stats.bavail * stats.bsize;
    return { totalBytes, freeBytes, usedRatio: totalBytes > 0 ? (totalBytes - stats.bfree * stats.bsize) / totalBytes : -1 };
  } catch {
    return undefined;
  }
}

/** Store time of the oldest message still in the commit log, or -1 when it is empty. */
function earliestMessageTime(deps: BrokerDeps, commitLogMinOffset: number, commitLogMaxOffset: number): number {
  if (commitLogMaxOffset <= commitLogMinOffset) return -1;
  try {
    const record = deps.store.readRecord(commitLogMinOffset);
    return record === null ? -1 : readStoreTimestamp(record, 0);
  } catch {
    return -1;
  }
}

/** The runtime table; exported for the HTTP gateway and CLI, which show the same figures. */
export function buildBrokerRuntimeInfo(deps: BrokerDeps, state: AdminState, nowMs: number = Date.now()): Record<string, string> {
  const stats = deps.store.stats();
  const totals = state.observeTotals(nowMs);
  const disk = diskSpace(deps.config.storePathRootDir);
  const putBytes = Math.max(0, stats.commitLogMaxOffset - state.initialCommitLogMaxOffset);
  const table: Record<string, string> = {
    brokerVersionDesc: BROKER_VERSION_DESC,
    brokerVersion: String(TIDEMQ_VERSION_ORDINAL),
    brokerActive: 'true',
    bootTimestamp: String(deps.runtime.bootTimestampMs),
    runtime: formatRuntime(nowMs - deps.runtime.bootTimestampMs),
    msgPutTotalYesterdayMorning: String(totals.put.yesterdayMorning),
    msgPutTotalTodayMorning: String(totals.put.todayMorning),
    msgPutTotalTodayNow: String(totals.putTotal),
    msgGetTotalYesterdayMorning: String(totals.get.yesterdayMorning),
    msgGetTotalTodayMorning: String(totals.get.todayMorning),
    msgGetTotalTodayNow: String(totals.getTotal),
    putTps: formatTps(state.rates, RateKey.PUT),
    getTransferredTps: formatTps(state.rates, RateKey.GET),
    // Java 4.x spelled it this way; old Dashboards still read it.
    getTransferedTps: formatTps(state.rates, RateKey.GET),
    getFoundTps: formatTps(state.rates, RateKey.GET),
    getMissTps: '0.0 0.0 0.0',
    getTotalTps: formatTps(state.rates, RateKey.GET),
    putMessageTimesTotal: String(Math.max(1, totals.putTotal)),
    putMessageFailedTimes: '0',
    putMessageSizeTotal: String(putBytes),
    putMessageAverageSize: formatDouble(putBytes / Math.max(1, totals.putTotal)),
    putMessageEntireTimeMax: '0',
    getMessageEntireTimeMax: '0',
    putMessageDistributeTime: PUT_LATENCY_BUCKETS.map((bucket) => `${bucket}:0`).join(' ') + ' ',
    putLatency99: '0.00',
    putLatency999: '0.00',
    dispatchMaxBuffer: '0',
    commitLogMinOffset: String(stats.commitLogMinOffset),
    commitLogMaxOffset: String(stats.commitLogMaxOffset),
    commitLogDiskRatio: formatDouble(disk?.usedRatio ?? stats.diskUsedPercent / 100),
    consumeQueueDiskRatio: formatDouble(disk?.usedRatio ?? stats.diskUsedPercent / 100),
    dispatchBehindBytes: String(stats.dispatchBehindBytes),
    pageCacheLockTimeMills: '0',
    earliestMessageTimeStamp: String(earliestMessageTime(deps, stats.commitLogMinOffset, stats.commitLogMaxOffset)),
    startAcceptSendRequestTimeStamp: '0',
    remainTransientStoreBufferNumbs: '0',
    remainHowManyDataToFlush: humanReadableBytes(Math.max(0, stats.commitLogMaxOffset - stats.flushedOffset)),
    timerReadBehind: '0',
    timerOffsetBehind: '0',
    timerCongestNum: '0',
    timerEnqueueTps: '0.0',
    timerDequeueTps: '0.0',
    sendThreadPoolQueueSize: '0',
    pullThreadPoolQueueSize: '0',
    litePullThreadPoolQueueSize: '0',
    queryThreadPoolQueueSize: '0',
    ackThreadPoolQueueSize: '0',
    EndTransactionQueueSize: '0',
    sendThreadPoolQueueHeadWaitTimeMills: '0',
    pullThreadPoolQueueHeadWaitTimeMills: '0',
    queryThreadPoolQueueHeadWaitTimeMills: '0',
    litePullThreadPoolQueueHeadWaitTimeMills: '0',
    ackThreadPoolQueueHeadWaitTimeMills: '0',
    totalMemKBytes: String(Math.round(process.memoryUsage().rss / 1024)),
  };
  for (const [key, capacity] of Object.entries(JAVA_QUEUE_CAPACITIES)) table[key] = String(capacity);
  if (disk !== undefined) {
    table.commitLogDirCapacity = `Total : ${humanReadableBytes(disk.totalBytes)}, Free : ${humanReadableBytes(disk.freeBytes)}.`;
  }
  // Delay-level progress, `scheduleMessageOffset_<level>` = `delivered,max` as Java reports it.
  for (const [level, offset] of deps.scheduleService.offsetTable()) {
    const maxOffset = deps.store.getMaxOffsetInQueue(SystemTopic.SCHEDULE, level - 1);
    table[`scheduleMessageOffset_${level}`] = `${offset},${maxOffset}`;
  }
  return table;
}

export function createGetBrokerRuntimeInfoHandler(deps: BrokerDeps, state: AdminState): RequestHandler {
  return (request) => answer(request, ResponseCode.SUCCESS, undefined, undefined, fastJsonBody({ table: buildBrokerRuntimeInfo(deps, state) }));
}
