/**
 * The SEND_OK answer of a single message, written straight into a frame. The general path builds an
 * extFields object, a response command and then the JSON header for every message; here everything
 * but opaque, the commit-log offset in msgId, queueId, queueOffset and transactionId is the same from
 * one answer to the next, so those parts are kept as bytes and only the variable fields are written.
 * The result is byte for byte what `encodeCommandAs(createResponse(request, SUCCESS, undefined,
 * extFields), opaque, RESPONSE)` gives for
 * `{msgId, queueId, queueOffset, MSG_REGION, TRACE_ON, transactionId}` (send-answer.test.ts holds it
 * to that), so every client that parses our answers today parses these.
 *
 * Frame written (remoting-frame.ts; integers big-endian):
 *
 *  0   4  totalLen = 4 + headerLen
 *  4   4  serializeType JSON (0) << 24 | headerLen
 *  8   n  {"code":0,"language":"JAVA","version":479,"opaque":<opaque>,"flag":1,"extFields":{
 *         "msgId":"<store host hex><offset: 16 uppercase hex digits>","queueId":"<n>","queueOffset":"<n>",
 *         "MSG_REGION":<region>,"TRACE_ON":<"true"|"false">,"transactionId":"<UNIQ_KEY>"},
 *         "serializeTypeCurrentRPC":"JSON"}
 *
 * A UNIQ_KEY that would need escaping in JSON (or is not ASCII) is left to the general path.
 */
import type { HostAddress } from '../../protocol/host-address.js';
import { putBytes, putDecimal } from '../../protocol/ascii-bytes.js';
import { TIDEMQ_VERSION_ORDINAL } from '../../protocol/remoting-command.js';
import { STRING_BYTE_CLASS, StringByte } from '../../protocol/json-string-bytes.js';

const UPPER_HEX = Buffer.from('0123456789ABCDEF', 'latin1');
/** Everything of a SEND answer but the UNIQ_KEY: two length words, ~250 header bytes, digits. */
const ANSWER_FIXED_BYTES_MAX = 512;

/** The constant parts of the answers of one broker identity (store host, region, trace switch). */
export class SendAnswerTemplate {
  private readonly head: Buffer;
  private readonly msgIdPrefix: Buffer;
  private readonly queueIdPrefix = Buffer.from('","queueId":"', 'latin1');
  private readonly queueOffsetPrefix = Buffer.from('","queueOffset":"', 'latin1');
  private readonly transactionPrefix: Buffer;
  private readonly tail = Buffer.from('"},"serializeTypeCurrentRPC":"JSON"}', 'latin1');

  constructor(
    readonly storeHost: HostAddress,
    readonly regionId: string,
    readonly traceOn: boolean,
  ) {
    this.head = Buffer.from(`{"code":0,"language":"JAVA","version":${TIDEMQ_VERSION_ORDINAL},"opaque":`, 'latin1');
    const host = Buffer.allocUnsafe(storeHost.ip.length + 4);
    storeHost.ip.copy(host, 0);
    host.writeInt32BE(storeHost.port, storeHost.ip.length);
    this.msgIdPrefix = Buffer.from(`,"flag":1,"extFields":{"msgId":"${host.toString('hex').toUpperCase()}`, 'latin1');
    this.transactionPrefix = Buffer.from(`","MSG_REGION":${JSON.stringify(regionId)},"TRACE_ON":${JSON.stringify(String(traceOn))},"transactionId":"`, 'utf8');
  }

  matches(storeHost: HostAddress, regionId: string, traceOn: boolean): boolean {
    return storeHost === this.storeHost && regionId === this.regionId && traceOn === this.traceOn;
  }

  /** Room `write` may need for an answer carrying `uniqueKey`. */
  maxFrameBytes(uniqueKey: string): number {
    return ANSWER_FIXED_BYTES_MAX + this.transactionPrefix.length + uniqueKey.length;
  }

  /**
   * Writes the whole answer frame at `start` of `out` (the caller made `maxFrameBytes` room) and
   * returns where it ends, or -1 when `uniqueKey` needs the general path.
   */
  write(out: Buffer, start: number, opaque: number, physicalOffset: number, queueId: number, queueOffset: number, uniqueKey: string): number {
    let position = putBytes(out, start + 8, this.head);
    position = putDecimal(out, position, opaque);
    position = putBytes(out, position, this.msgIdPrefix);
    position = putHex32(out, position, Math.floor(physicalOffset / 0x1_0000_0000));
    position = putHex32(out, position, physicalOffset >>> 0);
    position = putDecimal(out, putBytes(out, position, this.queueIdPrefix), queueId);
    position = putDecimal(out, putBytes(out, position, this.queueOffsetPrefix), queueOffset);
    position = putBytes(out, position, this.transactionPrefix);
    const length = uniqueKey.length;
    for (let index = 0; index < length; index++) {
      const char = uniqueKey.charCodeAt(index);
      if (char > 0x7f || STRING_BYTE_CLASS[char] !== StringByte.PLAIN) return -1;
      out[position++] = char;
    }
    position = putBytes(out, position, this.tail);
    const headerBytes = position - start - 8;
    out.writeInt32BE(headerBytes + 4, start);
    out.writeInt32BE(headerBytes, start + 4); // serializeType JSON = 0 in the top byte
    return position;
  }
}

/** Eight uppercase hex digits of an unsigned 32-bit value. */
function putHex32(out: Buffer, position: number, value: number): number {
  for (let index = position + 7; index >= position; index--) {
    out[index] = UPPER_HEX[value & 0xf]!;
    value >>>= 4;
  }
  return position + 8;
}
