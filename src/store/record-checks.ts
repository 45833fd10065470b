/**
 * Integrity checks of a commit-log record read back from disk (reads and recovery): magic,
 * TOTALSIZE, PHYSICALOFFSET, body CRC, and a tail of zeros that a torn write leaves behind.
 */
import { MAGIC_V1, MAGIC_V2, RecordField, SysFlag, bodyCrc, readInt64 } from '../protocol/message-record.js';

/**
 * Whether a record that passed its structural and body-CRC checks still looks torn: its last bytes
 * are zeros where a whole record never has a zero. The body CRC does not cover the topic and the
 * properties, and a write cut short leaves zeros at its end (segments are zero-filled before use),
 * so the record's last byte must be the final property byte (properties end with \u0002 as every
 * client encodes them) or, without properties, the two-byte zero length after a topic whose last
 * character is not zero. A property string ending in a NUL character would be taken as torn; no
 * client encodes one.
 */
export function looksTorn(source: Buffer, position: number, size: number): boolean {
  const end = position + size;
  if (source[end - 1] !== 0) return false;
  const propertiesEmpty = source[end - 2] === 0;
  return !(propertiesEmpty && source[end - 3] !== 0);
}

/**
 * Cheap integrity check of a record read back from disk: magic, TOTALSIZE, PHYSICALOFFSET, body
 * CRC and a torn tail. Returns null when good, else the reason.
 */
export function verifyRecord(record: Buffer, physicalOffset: number): string | null {
  const size = record.length;
  if (record.readInt32BE(0) !== size) return `TOTALSIZE ${record.readInt32BE(0)} differs from ${size}`;
  const magic = record.readInt32BE(4);
  if (magic !== MAGIC_V1 && magic !== MAGIC_V2) return `bad magic 0x${(magic >>> 0).toString(16)}`;
  if (readInt64(record, RecordField.PHYSICAL_OFFSET) !== physicalOffset) return 'PHYSICALOFFSET field does not match its position';
  const sysFlag = record.readInt32BE(RecordField.SYS_FLAG);
  const bornHostBytes = (sysFlag & SysFlag.BORNHOST_V6 ? 16 : 4) + 4;
  const storeHostBytes = (sysFlag & SysFlag.STOREHOST_V6 ? 16 : 4) + 4;
  const bodyLengthPosition = RecordField.BORN_HOST + bornHostBytes + 8 + storeHostBytes + 4 + 8;
  if (bodyLengthPosition + 4 > size) return 'record shorter than its header';
  const bodyLength = record.readInt32BE(bodyLengthPosition);
  const bodyStart = bodyLengthPosition + 4;
  if (bodyLength < 0 || bodyStart + bodyLength > size) return `body length ${bodyLength} overruns the record`;
  if (bodyCrc(record.subarray(bodyStart, bodyStart + bodyLength)) !== record.readInt32BE(RecordField.BODY_CRC)) return 'body CRC mismatch';
  if (looksTorn(record, 0, size)) return 'record ends in zero bytes (torn write)';
  return null;
}
