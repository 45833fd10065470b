/**
 * Byte tables shared by the JSON header scanner and writer, which both handle only ASCII themselves
 * and leave other text to the general paths (JSON.parse, JSON.stringify).
 */

export const latin1Bytes = (text: string): Buffer => Buffer.from(text, 'latin1');
export const HEX_DIGITS = latin1Bytes('0123456789abcdef');

/** How a byte reads inside a JSON string literal. */
export const StringByte = {
  PLAIN: 0,
  QUOTE: 1,
  BACKSLASH: 2,
  CONTROL: 3,
  NON_ASCII: 4,
} as const;
export const STRING_BYTE_CLASS = new Uint8Array(256);
for (let byte = 0; byte < 256; byte++) {
  STRING_BYTE_CLASS[byte] =
    byte === 0x22 ? StringByte.QUOTE : byte === 0x5c ? StringByte.BACKSLASH : byte < 0x20 ? StringByte.CONTROL : byte >= 0x80 ? StringByte.NON_ASCII : StringByte.PLAIN;
}

/**
 * Size of each side's scratch buffer (the writer's header bytes, the scanner's unescaped strings).
 * Both users are synchronous and writing into warm memory is several times cheaper than into fresh.
 * Each keeps its own buffer: the writer reuses the start of the last header it wrote.
 */
export const JSON_SCRATCH_BYTES = 64 * 1024;
