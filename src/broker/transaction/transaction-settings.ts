/**
 * Settings of transactional messages, read from the broker config under RocketMQ's property names with
 * RocketMQ 5's defaults. They are read again before every check pass, so UPDATE_BROKER_CONFIG takes
 * effect without a restart.
 *
 * | key | default | meaning |
 * |---|---|---|
 * | transactionTimeOut | 6000 | ms a half message stays unchecked after it is stored (CHECK_IMMUNITY_TIME_IN_SECONDS overrides it per message) |
 * | transactionCheckInterval | 30000 | ms between two check passes |
 * | transactionCheckMax | 15 | checks sent for one half message before it is given up |
 * | transactionDiscardAfterCheckMax | true | true: after transactionCheckMax checks the half is discarded (logged and copied to TRANS_CHECK_MAX_TIME_TOPIC, as RocketMQ does); false: it stays open and is checked every pass until the producer answers or it is older than fileReservedTime |
 *
 * The keys are not (yet) fields of BrokerConfig, so they are read through an index signature; a value
 * that is missing or not a positive integer (or boolean) falls back to the default.
 */
import type { BrokerConfig } from '../broker-config.js';

export interface TransactionSettings {
  transactionTimeOutMs: number;
  checkIntervalMs: number;
  checkMax: number;
  discardAfterCheckMax: boolean;
  /** Half messages older than this are given up whatever the mode (RocketMQ's fileReservedTime rule). */
  maxHalfAgeMs: number;
}

export const DEFAULT_TRANSACTION_SETTINGS = {
  transactionTimeOut: 6000,
  transactionCheckInterval: 30_000,
  transactionCheckMax: 15,
  transactionDiscardAfterCheckMax: true,
} as const;

function positiveInteger(value: unknown, fallback: number): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) && number > 0 ? number : fallback;
}

function booleanValue(value: unknown, fallback: boolean): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  return fallback;
}

export function transactionSettingsOf(config: BrokerConfig): TransactionSettings {
  const raw = config as unknown as Record<string, unknown>;
  const fileReservedTimeHours = positiveInteger(config.fileReservedTime, 72);
  return {
    transactionTimeOutMs: positiveInteger(raw.transactionTimeOut, DEFAULT_TRANSACTION_SETTINGS.transactionTimeOut),
    checkIntervalMs: positiveInteger(raw.transactionCheckInterval, DEFAULT_TRANSACTION_SETTINGS.transactionCheckInterval),
    checkMax: positiveInteger(raw.transactionCheckMax, DEFAULT_TRANSACTION_SETTINGS.transactionCheckMax),
    discardAfterCheckMax: booleanValue(raw.transactionDiscardAfterCheckMax, DEFAULT_TRANSACTION_SETTINGS.transactionDiscardAfterCheckMax),
    maxHalfAgeMs: fileReservedTimeHours * 3_600_000,
  };
}
