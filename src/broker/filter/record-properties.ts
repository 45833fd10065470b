/**
 * Reads the PROPERTIES field of a raw commit-log record without decoding the rest (the SQL92 filter
 * needs only that field, for every message it examines). The layout is the one documented in
 * src/protocol/message-record.ts: fixed fields up to BORNHOST at byte 48, host fields of 8 or 20
 * bytes by SYSFLAG bits 0x10/0x20, then STORETIMESTAMP 8, RECONSUMETIMES 4,
 * PREPARED_TRANSACTION_OFFSET 8, BODY (int32 length + bytes), TOPIC (int8 length for MAGIC V1, int16
 * for V2, + bytes), PROPERTIES (int16 length + UTF-8 bytes) ending the record.
 */
import { MAGIC_V2, RecordField, SysFlag } from '../../protocol/message-record.js';

/** The properties text of the record at the start of `record`, or null when a length overruns it. */
export function readRecordProperties(record: Buffer): string | null {
  if (record.length < RecordField.BORN_HOST) return null;
  const totalSize = Math.min(record.readInt32BE(RecordField.TOTAL_SIZE), record.length);
  const sysFlag = record.readInt32BE(RecordField.SYS_FLAG);
  const bornHostBytes = (sysFlag & SysFlag.BORNHOST_V6 ? 16 : 4) + 4;
  const storeHostBytes = (sysFlag & SysFlag.STOREHOST_V6 ? 16 : 4) + 4;
  let at = RecordField.BORN_HOST + bornHostBytes + 8 + storeHostBytes + 4 + 8;
  if (at + 4 > totalSize) return null;
  const bodyLength = record.readInt32BE(at);
  at += 4 + bodyLength;
  const wideTopic = record.readInt32BE(RecordField.MAGIC) === MAGIC_V2;
  if (bodyLength < 0 || at + (wideTopic ? 2 : 1) > totalSize) return null;
  const topicLength = wideTopic ? record.readUInt16BE(at) : record.readUInt8(at);
  at += (wideTopic ? 2 : 1) + topicLength;
  if (at + 2 > totalSize) return null;
  const propertiesLength = record.readInt16BE(at);
  at += 2;
  if (propertiesLength < 0 || at + propertiesLength > totalSize) return null;
  return propertiesLength === 0 ? '' : record.toString('utf8', at, at + propertiesLength);
}
