/**
 * The producer's UNIQ_KEY generator: the same layout and text as protocol/message-id.ts's
 * UniqueKeyGenerator (Java's MessageClientIDSetter), built for a send path that makes one per message.
 *
 * Layout, as uppercase hex of big-endian bytes:
 *
 *   IPv4 (4 bytes, 16 with IPv6) | pid & 0xFFFF (2) | random (4) | ms since month start, int32 (4) | counter, uint16 (2)
 *
 * The first three are fixed per generator; the time field changes at most once a millisecond, so its
 * text is kept with the prefix and only the counter's four digits are added per key, from a table,
 * instead of writing six bytes into a buffer and hex-encoding and upper-casing them every time.
 */
import { randomBytes } from 'node:crypto';

/** Uppercase two-digit hex of every byte value. */
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, value) => value.toString(16).toUpperCase().padStart(2, '0'));

function hexInt32(value: number): string {
  return HEX_BYTE[(value >>> 24) & 0xff]! + HEX_BYTE[(value >>> 16) & 0xff]! + HEX_BYTE[(value >>> 8) & 0xff]! + HEX_BYTE[value & 0xff]!;
}

export class UniqueKeyGenerator {
  private readonly prefix: string;
  private counter = 0;
  private monthStartMs = 0;
  private nextMonthStartMs = 0;
  /** The millisecond `timePrefix` was made for (-1: none yet). */
  private prefixMs = -1;
  /** prefix + the time field of `prefixMs`. */
  private timePrefix = '';

  /** `random` is for tests that compare keys with another generator's; by default 4 random bytes. */
  constructor(ip: Buffer = Buffer.from([127, 0, 0, 1]), random: Buffer = randomBytes(4)) {
    const head = Buffer.allocUnsafe(ip.length === 4 ? 10 : 22);
    ip.copy(head, 0);
    head.writeUInt16BE(process.pid & 0xffff, ip.length);
    random.copy(head, ip.length + 2, 0, 4);
    this.prefix = head.toString('hex').toUpperCase();
  }

  next(nowMs: number = Date.now()): string {
    if (nowMs !== this.prefixMs) {
      if (nowMs >= this.nextMonthStartMs) this.resetMonth(nowMs);
      this.timePrefix = this.prefix + hexInt32((nowMs - this.monthStartMs) | 0);
      this.prefixMs = nowMs;
    }
    const counter = this.counter;
    this.counter = (counter + 1) & 0xffff;
    return this.timePrefix + HEX_BYTE[counter >>> 8]! + HEX_BYTE[counter & 0xff]!;
  }

  private resetMonth(nowMs: number): void {
    const now = new Date(nowMs);
    this.monthStartMs = new Date(now.getFullYear(), now.getMonth(), 1).getTime();
    this.nextMonthStartMs = new Date(now.getFullYear(), now.getMonth() + 1, 1).getTime();
  }
}
