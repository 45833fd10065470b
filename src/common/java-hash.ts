/**
 * Java's `String.hashCode`, used by RocketMQ for tag codes in the consume queue and for key index
 * hashes. It runs over UTF-16 code units, which is what JavaScript strings are made of.
 */
export function javaStringHashCode(value: string): number {
  let hash = 0;
  for (let index = 0; index < value.length; index++) {
    hash = (Math.imul(hash, 31) + value.charCodeAt(index)) | 0;
  }
  return hash;
}
