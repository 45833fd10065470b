/**
 * Auto-renewal of receipt handles for push consumers (ReceiveMessage with auto_renew, the proxy's
 * enableProxyAutoRenew): the gateway hides such messages for `invisibleTimeMs` (60 s) and, while the
 * client still holds them, pushes their invisible time out again shortly before it runs out, up to
 * `maxRenewMs` (3 h). Every renewal yields a new POP handle; the client keeps the one it got, so acks,
 * nacks and DLQ forwards look the tracked entry up by the client's handle and use the newest POP
 * handle. When a client terminates or goes away, its messages are made visible again after
 * `releaseInvisibleMs` (1 s) instead of waiting out the invisible time.
 *
 * One shared timer checks every entry each `checkIntervalMs`; the table is bounded (`maxEntries`):
 * past it, messages are simply not renewed (they come back after their invisible time).
 */
import type { Logger } from '../../common/logger.js';
import type { PopService } from '../../broker/pop/pop-service.js';

export type PopPort = Pick<PopService, 'pop' | 'ack' | 'changeInvisibleTime'>;

export interface RenewerOptions {
  invisibleTimeMs: number;
  renewAheadMs: number;
  maxRenewMs: number;
  releaseInvisibleMs: number;
  checkIntervalMs: number;
  maxEntries: number;
}

export const DEFAULT_RENEWER_OPTIONS: RenewerOptions = {
  invisibleTimeMs: 60_000,
  renewAheadMs: 10_000,
  maxRenewMs: 3 * 60 * 60 * 1000,
  releaseInvisibleMs: 1_000,
  checkIntervalMs: 5_000,
  maxEntries: 100_000,
};

interface Entry {
  clientId: string;
  group: string;
  topic: string;
  popHandle: string;
  renewAtMs: number;
  firstPopMs: number;
}

export class ReceiptRenewer {
  private readonly entries = new Map<string, Entry>();
  private readonly byClient = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | null = null;
  private fullWarned = false;

  constructor(private readonly pop: PopPort, private readonly options: RenewerOptions, private readonly logger: Logger) {}

  get size(): number {
    return this.entries.size;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.renewDue(Date.now()), this.options.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  track(clientId: string, group: string, topic: string, clientHandle: string, popHandle: string, nowMs: number): void {
    if (this.entries.size >= this.options.maxEntries) {
      if (!this.fullWarned) this.logger.warn({ maxEntries: this.options.maxEntries }, 'receipt auto-renewal table is full; further messages are not renewed');
      this.fullWarned = true;
      return;
    }
    const key = `${group}\u0000${clientHandle}`;
    this.entries.set(key, { clientId, group, topic, popHandle, renewAtMs: nowMs + this.options.invisibleTimeMs - this.options.renewAheadMs, firstPopMs: nowMs });
    let keys = this.byClient.get(clientId);
    if (!keys) {
      keys = new Set();
      this.byClient.set(clientId, keys);
    }
    keys.add(key);
  }

  /** Stops renewing and returns the newest POP handle for the client's handle (undefined if untracked). */
  untrack(group: string, clientHandle: string): string | undefined {
    const key = `${group}\u0000${clientHandle}`;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.remove(key, entry);
    return entry.popHandle;
  }

  /** A client went away: its held messages come back soon instead of after their invisible time. */
  releaseClient(clientId: string): void {
    const keys = this.byClient.get(clientId);
    if (!keys) return;
    for (const key of [...keys]) {
      const entry = this.entries.get(key);
      if (!entry) continue;
      this.remove(key, entry);
      this.changeQuietly(entry, this.options.releaseInvisibleMs);
    }
  }

  releaseAll(): void {
    for (const clientId of [...this.byClient.keys()]) this.releaseClient(clientId);
  }

  /** Renews every entry due by `nowMs` (exposed for tests). */
  renewDue(nowMs: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.renewAtMs > nowMs) continue;
      if (nowMs - entry.firstPopMs >= this.options.maxRenewMs) {
        this.remove(key, entry);
        continue;
      }
      const result = this.changeQuietly(entry, this.options.invisibleTimeMs);
      if (result === undefined) {
        this.remove(key, entry);
      } else {
        entry.popHandle = result;
        entry.renewAtMs = nowMs + this.options.invisibleTimeMs - this.options.renewAheadMs;
      }
    }
  }

  private changeQuietly(entry: Entry, invisibleTimeMs: number): string | undefined {
    try {
      const result = this.pop.changeInvisibleTime(entry.group, entry.topic, entry.popHandle, invisibleTimeMs);
      return result.status === 'OK' ? result.receiptHandle : undefined;
    } catch (error) {
      this.logger.warn({ err: error, group: entry.group, topic: entry.topic }, 'renewing a receipt handle failed');
      return undefined;
    }
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key);
    const keys = this.byClient.get(entry.clientId);
    keys?.delete(key);
    if (keys && keys.size === 0) this.byClient.delete(entry.clientId);
  }
}
