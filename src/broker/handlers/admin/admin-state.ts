/**
 * What the admin handlers remember between requests, one instance per broker (made in
 * registerAdminHandlers): the data version of the broker settings (GET_BROKER_CONFIG's `version`
 * header, bumped by UPDATE_BROKER_CONFIG), the rate sampler, and the put/get totals at the start of
 * today and yesterday that mqadmin clusterList prints.
 */
import type { BrokerDeps } from '../../broker-deps.js';
import { newDataVersion, nextDataVersion, type DataVersion } from '../../data-version.js';
import { RateSampler } from './rate-sampler.js';

export const RateKey = {
  PUT: 'put',
  GET: 'get',
  topicPut: (topic: string): string => `put@${topic}`,
  groupConsume: (group: string): string => `consume@${group}`,
} as const;

/** Totals at local midnight; the day rolls over when a request first sees a new date. */
interface DailyTotals {
  day: string;
  todayMorning: number;
  yesterdayMorning: number;
}

function localDay(nowMs: number): string {
  const date = new Date(nowMs);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

export class AdminState {
  configVersion: DataVersion;
  readonly rates = new RateSampler();
  /** maxMessageSize at start: the store sized its buffers for it, so it may only go down. */
  readonly initialMaxMessageSize: number;
  /** Commit-log end at start, to report the bytes put since (putMessageSizeTotal). */
  readonly initialCommitLogMaxOffset: number;
  private readonly put: DailyTotals;
  private readonly get: DailyTotals;
  private lastSeenPut = 0;
  private lastSeenGet = 0;

  constructor(private readonly deps: BrokerDeps, nowMs: number = Date.now()) {
    this.configVersion = newDataVersion(nowMs);
    const stats = deps.store.stats();
    this.initialMaxMessageSize = deps.config.maxMessageSize;
    this.initialCommitLogMaxOffset = stats.commitLogMaxOffset;
    const day = localDay(nowMs);
    this.put = { day, todayMorning: stats.putMessageCount, yesterdayMorning: stats.putMessageCount };
    this.get = { day, todayMorning: stats.getMessageCount, yesterdayMorning: stats.getMessageCount };
    this.lastSeenPut = stats.putMessageCount;
    this.lastSeenGet = stats.getMessageCount;
    this.rates.record(RateKey.PUT, stats.putMessageCount, deps.runtime.bootTimestampMs);
    this.rates.record(RateKey.GET, stats.getMessageCount, deps.runtime.bootTimestampMs);
  }

  bumpConfigVersion(nowMs: number = Date.now()): void {
    this.configVersion = nextDataVersion(this.configVersion, nowMs);
  }

  /** Samples the store's put/get totals; returns them with the morning totals. */
  observeTotals(nowMs: number = Date.now()): {
    putTotal: number; getTotal: number; put: Readonly<DailyTotals>; get: Readonly<DailyTotals>;
  } {
    const stats = this.deps.store.stats();
    const day = localDay(nowMs);
    // The last totals seen before the date changed are the closest we have to "this morning".
    roll(this.put, day, this.lastSeenPut);
    roll(this.get, day, this.lastSeenGet);
    this.lastSeenPut = stats.putMessageCount;
    this.lastSeenGet = stats.getMessageCount;
    this.rates.record(RateKey.PUT, stats.putMessageCount, nowMs);
    this.rates.record(RateKey.GET, stats.getMessageCount, nowMs);
    return { putTotal: stats.putMessageCount, getTotal: stats.getMessageCount, put: this.put, get: this.get };
  }
}

function roll(totals: DailyTotals, day: string, lastSeen: number): void {
  if (totals.day === day) return;
  totals.yesterdayMorning = totals.todayMorning;
  totals.todayMorning = lastSeen;
  totals.day = day;
}
