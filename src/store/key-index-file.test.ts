// Proves index files are written in RocketMQ's IndexFile layout (header, slots, 20-byte entries, big-endian) with RocketMQ's key hash, including the Integer.MIN_VALUE case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../common/logger.js';
import { javaStringHashCode } from '../common/java-hash.js';
import { KeyIndex, formatIndexFileName } from './key-index.js';
import { decodeIndexHeader, indexFileSizeBytes, indexKeyHash, INDEX_ENTRY_BYTES, INDEX_HEADER_BYTES } from './key-index-file.js';

/** A key whose "topic#key" has Java hashCode Integer.MIN_VALUE: seven base-31 digits after the prefix. */
function keyHashingToIntMin(topic: string): string {
  const modulus = 2n ** 32n;
  const prefixHash = BigInt(javaStringHashCode(`${topic}#`) >>> 0);
  let target = (((2n ** 31n - prefixHash * 31n ** 7n) % modulus) + modulus) % modulus;
  const digits: number[] = [];
  for (let position = 0; position < 7; position++) {
    digits.unshift(Number(target % 31n));
    target /= 31n;
  }
  return String.fromCharCode(...digits);
}

test('keys hash like RocketMQ: abs(String.hashCode("topic#key")), and Integer.MIN_VALUE becomes 0', () => {
  assert.equal(indexKeyHash('TopicTest', 'key1'), Math.abs(javaStringHashCode('TopicTest#key1')));
  assert.equal(javaStringHashCode('T#Aa'), javaStringHashCode('T#BB'));
  const key = keyHashingToIntMin('T');
  assert.equal(javaStringHashCode(`T#${key}`), -(2 ** 31));
  assert.equal(indexKeyHash('T', key), 0);
});

test('a key hashing to Integer.MIN_VALUE is stored in slot 0 and found', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'tidemq-key-index-file-'));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  const index = KeyIndex.open(directory, { maxHashSlotNum: 7, maxIndexNum: 8, logger: silentLogger });
  const key = keyHashingToIntMin('T');
  index.put('T', key, 77, 1_700_000_000_000);
  assert.deepEqual(index.query('T', key, 10, 0, Number.MAX_SAFE_INTEGER), [77]);
  await index.close();
  const [name] = readdirSync(directory);
  assert.ok(name !== undefined);
  const bytes = readFileSync(join(directory, name));
  assert.equal(bytes.readInt32BE(INDEX_HEADER_BYTES), 1); // slot 0 holds entry 1
});

test('the bytes on disk follow the IndexFile layout', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'tidemq-key-index-file-'));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  const geometry = { maxHashSlotNum: 11, maxIndexNum: 5 };
  const beforeMs = Date.now();
  const index = KeyIndex.open(directory, { ...geometry, logger: silentLogger });
  const beginMs = 1_700_000_000_250;
  const bigOffset = 2 ** 40 + 5;
  index.put('TopicTest', 'a', bigOffset, beginMs);
  index.put('TopicTest', 'b', 4096, beginMs + 2_900); // 2.9 s later: timeDiff 2
  index.put('TopicTest', 'a', 8192, beginMs + 61_000);
  await index.flush();

  const names = readdirSync(directory);
  assert.equal(names.length, 1);
  const name = names[0]!;
  assert.match(name, /^\d{17}$/);
  assert.ok(name >= formatIndexFileName(beforeMs));
  const bytes = readFileSync(join(directory, name));
  assert.equal(bytes.length, indexFileSizeBytes(geometry));
  assert.equal(bytes.length, 40 + 11 * 4 + 5 * 20);

  assert.deepEqual(decodeIndexHeader(bytes), {
    beginTimestampMs: beginMs,
    endTimestampMs: beginMs + 61_000,
    beginPhysicalOffset: bigOffset,
    endPhysicalOffset: bigOffset,
    usedSlotCount: 2,
    indexCount: 4,
  });
  assert.equal(bytes.readBigInt64BE(0), BigInt(beginMs));
  assert.equal(bytes.readInt32BE(36), 4);

  const hashA = indexKeyHash('TopicTest', 'a');
  const hashB = indexKeyHash('TopicTest', 'b');
  assert.notEqual(hashA % 11, hashB % 11);
  assert.equal(bytes.readInt32BE(INDEX_HEADER_BYTES + (hashA % 11) * 4), 3);
  assert.equal(bytes.readInt32BE(INDEX_HEADER_BYTES + (hashB % 11) * 4), 2);

  const entry = (entryNumber: number): [number, bigint, number, number] => {
    const position = INDEX_HEADER_BYTES + 11 * 4 + entryNumber * INDEX_ENTRY_BYTES;
    return [bytes.readInt32BE(position), bytes.readBigInt64BE(position + 4), bytes.readInt32BE(position + 12), bytes.readInt32BE(position + 16)];
  };
  assert.deepEqual(entry(0), [0, 0n, 0, 0]);
  assert.deepEqual(entry(1), [hashA, BigInt(bigOffset), 0, 0]);
  assert.deepEqual(entry(2), [hashB, 4096n, 2, 0]);
  assert.deepEqual(entry(3), [hashA, 8192n, 61, 1]);
  assert.deepEqual(index.query('TopicTest', 'a', 10, 0, Number.MAX_SAFE_INTEGER), [8192, bigOffset]);
  await index.close();
});

test('indexKeyHashAfter continues a topic prefix hash to the hash of "topic#key"', async () => {
  const { indexKeyHashAfter, topicKeyPrefixHash } = await import('./key-index-file.js');
  const { javaStringHashCode } = await import('../common/java-hash.js');
  for (const [topic, key] of [['BenchTopic', '7F00000100002A9F0000000100000002'], ['%RETRY%g', 'ключ😀'], ['t', ''], ['TopicTest', 'polygenelubricants']]) {
    const full = javaStringHashCode(`${topic!}#${key!}`);
    const expected = full === -0x80000000 ? 0 : Math.abs(full);
    assert.equal(indexKeyHashAfter(topicKeyPrefixHash(topic!), key!), expected);
  }
});
