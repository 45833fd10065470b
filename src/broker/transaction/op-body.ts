/**
 * The body of an op record in RMQ_SYS_TRANS_OP_HALF_TOPIC (tag `d`): the half-queue offsets of the half
 * messages that are finished (committed, rolled back or discarded), as decimal ASCII joined by `,`.
 * RocketMQ 4.x writes one offset (`"17"`), 5.x batches them with a trailing separator (`"17,18,"`);
 * both forms are read. Entries that are not decimal integers are skipped, because an op record
 * written by a buggy or foreign broker must not stop the rebuild.
 */

export const OP_REMOVE_TAG = 'd';

export function encodeOpBody(halfOffsets: readonly number[]): Buffer {
  return Buffer.from(halfOffsets.join(','), 'ascii');
}

/** The offsets of an op body; `invalid` counts the entries that were skipped. */
export function decodeOpBody(body: Buffer): { offsets: number[]; invalid: number } {
  const offsets: number[] = [];
  let invalid = 0;
  for (const part of body.toString('latin1').split(',')) {
    const text = part.trim();
    if (text === '') continue;
    if (!/^\d{1,16}$/.test(text)) {
      invalid++;
      continue;
    }
    offsets.push(Number(text));
  }
  return { offsets, invalid };
}
