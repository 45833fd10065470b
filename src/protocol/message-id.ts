/**
 * Message ids. The offsetMsgId (what a send answer calls msgId) is the uppercase hex of the store host
 * (4 or 16 address bytes + int32 port) and the int64 commit-log offset: 32 hex characters for IPv4.
 * The UNIQ_KEY is what clients call the message id; the broker creates one when a message has none.
 */
import { randomBytes } from 'node:crypto';
import type { HostAddress } from './host-address.js';
import { readInt64, writeInt64 } from './message-record.js';

export function createOffsetMessageId(storeHost: HostAddress, physicalOffset: number): string {
  const bytes = Buffer.allocUnsafe(storeHost.ip.length + 12);
  storeHost.ip.copy(bytes, 0);
  bytes.writeInt32BE(storeHost.port, storeHost.ip.length);
  writeInt64(bytes, physicalOffset, storeHost.ip.length + 4);
  return bytes.toString('hex').toUpperCase();
}

export interface DecodedOffsetMessageId {
  host: HostAddress;
  physicalOffset: number;
}

/** Returns null when the id is not 32 (IPv4) or 56 (IPv6) hex characters. */
export function decodeOffsetMessageId(messageId: string): DecodedOffsetMessageId | null {
  if ((messageId.length !== 32 && messageId.length !== 56) || !/^[0-9A-Fa-f]+$/.test(messageId)) return null;
  const bytes = Buffer.from(messageId, 'hex');
  const ipLength = bytes.length - 12;
  return {
    host: { ip: Buffer.from(bytes.subarray(0, ipLength)), port: bytes.readInt32BE(ipLength) },
    physicalOffset: readInt64(bytes, ipLength + 4),
  };
}

/**
 * Creates UNIQ_KEYs the way the Java client lays them out: IP (4 bytes) + pid (int16) + a per-process
 * random int32 (Java's class-loader hash) as a fixed prefix, then milliseconds since the start of the
 * month (int32) and a counter (int16).
 */
export class UniqueKeyGenerator {
  private readonly prefix: string;
  private readonly buffer = Buffer.allocUnsafe(6);
  private counter = 0;
  private monthStartMs = 0;
  private nextMonthStartMs = 0;

  constructor(ip: Buffer = Buffer.from([127, 0, 0, 1])) {
    const head = Buffer.allocUnsafe(ip.length === 4 ? 10 : 22);
    ip.copy(head, 0);
    head.writeUInt16BE(process.pid & 0xffff, ip.length);
    randomBytes(4).copy(head, ip.length + 2);
    this.prefix = head.toString('hex').toUpperCase();
  }

  next(nowMs: number = Date.now()): string {
    if (nowMs >= this.nextMonthStartMs) this.resetMonth(nowMs);
    this.buffer.writeInt32BE((nowMs - this.monthStartMs) | 0, 0);
    this.buffer.writeUInt16BE(this.counter, 4);
    this.counter = (this.counter + 1) & 0xffff;
    return this.prefix + this.buffer.toString('hex').toUpperCase();
  }

  private resetMonth(nowMs: number): void {
    const now = new Date(nowMs);
    this.monthStartMs = new Date(now.getFullYear(), now.getMonth(), 1).getTime();
    this.nextMonthStartMs = new Date(now.getFullYear(), now.getMonth() + 1, 1).getTime();
  }
}
