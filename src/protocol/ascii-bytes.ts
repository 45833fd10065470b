/**
 * Writers of ASCII text straight into a buffer, for the frames the hot paths build by hand (the JSON
 * header writer, the SEND answer template). Each returns the position after what it wrote; the caller
 * made room.
 */

export function putBytes(out: Buffer, position: number, bytes: Buffer): number {
  out.set(bytes, position);
  return position + bytes.length;
}

/** Decimal digits of an integer in the safe range (negative ones too: opaque is an int32). */
export function putDecimal(out: Buffer, position: number, value: number): number {
  if (value < 0) {
    out[position++] = 0x2d; // -
    value = -value;
  }
  // Below 2^31 (every opaque and queue id, and queue offsets for a long while) integer division is
  // exact and several times cheaper than Math.floor on doubles.
  if (value <= 0x7fffffff) {
    let rest = value | 0;
    const width = rest < 10 ? 1 : rest < 100 ? 2 : rest < 1000 ? 3 : rest < 10_000 ? 4 : rest < 100_000 ? 5 : rest < 1_000_000 ? 6 : rest < 10_000_000 ? 7 : rest < 100_000_000 ? 8 : rest < 1_000_000_000 ? 9 : 10;
    for (let index = position + width - 1; index >= position; index--) {
      const quotient = (rest / 10) | 0;
      out[index] = 0x30 + (rest - quotient * 10);
      rest = quotient;
    }
    return position + width;
  }
  let width = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) width++;
  for (let index = position + width - 1; index >= position; index--) {
    const quotient = Math.floor(value / 10);
    out[index] = 0x30 + (value - quotient * 10);
    value = quotient;
  }
  return position + width;
}
