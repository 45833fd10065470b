// Proves the pop log replays every record it was given, truncates a torn tail, that compaction — finished or cut short at any step — replays to the same state, and that the frame encoder writes integers byte for byte as Buffer does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeAck, encodeCheckpoint, encodeDone, encodeFifo, encodeOffset, encodeQueue, frameCrc32, FrameEncoder, type PopLogRecord } from './pop-log-codec.js';
import { crc32 } from 'node:zlib';
import { readInt64, writeInt64 } from '../../protocol/message-record.js';
import { PopLog } from './pop-log.js';

function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'tidemq-pop-log-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

function openLog(directory: string): { log: PopLog; records: PopLogRecord[] } {
  const records: PopLogRecord[] = [];
  const { log } = PopLog.open({ directory }, (record) => records.push(record));
  return { log, records };
}

test('every record type round-trips through the file', async () => {
  const dir = tempDir();
  try {
    const { log } = openLog(dir.path);
    encodeQueue(log.pending, 1, 3, 'group-é', '%RETRY%group-é_topic');
    encodeOffset(log.pending, 1, 2 ** 40 + 7);
    encodeCheckpoint(log.pending, 1, 100, 1_700_000_000_000, 60_000, 104, 0b10, 4, null);
    encodeCheckpoint(log.pending, 1, 104, 1_700_000_000_001, 1_000, -1, 0, 2, Uint32Array.from([0, 9]));
    encodeAck(log.pending, 1, 100, 1_700_000_000_000, 0x80000001);
    encodeDone(log.pending, 1, 104, 1_700_000_000_001);
    encodeFifo(log.pending, 1, 5, 9, 'attempt-1', [{ queueOffset: 5, popTimeMs: 7, visibleAtMs: 8, deliveries: 3, acked: false }]);
    encodeFifo(log.pending, 1, 9, 9, '', []);
    await log.close();
    const { log: reopened, records } = openLog(dir.path);
    await reopened.close();
    assert.deepEqual(records, [
      { type: 1, queueRef: 1, queueId: 3, group: 'group-é', topic: '%RETRY%group-é_topic' },
      { type: 2, queueRef: 1, popOffset: 2 ** 40 + 7 },
      { type: 3, queueRef: 1, startOffset: 100, popTimeMs: 1_700_000_000_000, invisibleTimeMs: 60_000, nextPopOffset: 104, ackedBits: 2, count: 4, diffs: null },
      { type: 3, queueRef: 1, startOffset: 104, popTimeMs: 1_700_000_000_001, invisibleTimeMs: 1_000, nextPopOffset: -1, ackedBits: 0, count: 2, diffs: Uint32Array.from([0, 9]) },
      { type: 4, queueRef: 1, startOffset: 100, popTimeMs: 1_700_000_000_000, bits: 0x80000001 },
      { type: 5, queueRef: 1, startOffset: 104, popTimeMs: 1_700_000_000_001 },
      { type: 6, queueRef: 1, consumeOffset: 5, endOffset: 9, attemptId: 'attempt-1', entries: [{ queueOffset: 5, popTimeMs: 7, visibleAtMs: 8, deliveries: 3, acked: false }] },
      { type: 6, queueRef: 1, consumeOffset: 9, endOffset: 9, attemptId: '', entries: [] },
    ]);
  } finally {
    dir.remove();
  }
});

test('a torn or corrupt tail is cut off and appends continue after the last good record', async () => {
  const dir = tempDir();
  try {
    const { log } = openLog(dir.path);
    encodeOffset(log.pending, 1, 10);
    encodeOffset(log.pending, 1, 11);
    await log.close();
    const [name] = readdirSync(dir.path);
    const path = join(dir.path, name!);
    const goodBytes = statSync(path).size;
    appendFileSync(path, Buffer.from([0, 0, 0, 13, 1, 2, 3]));
    const second = openLog(dir.path);
    assert.equal(second.records.length, 2);
    assert.equal(statSync(path).size, goodBytes, 'the torn tail is truncated');
    encodeOffset(second.log.pending, 1, 12);
    await second.log.close();
    // Flip a byte inside the last record: its CRC no longer matches, so it is dropped.
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(path, bytes);
    const third = openLog(dir.path);
    await third.log.close();
    assert.deepEqual(third.records.map((record) => (record as { popOffset: number }).popOffset), [10, 11]);
  } finally {
    dir.remove();
  }
});

test('compaction keeps the state, and a compaction cut short replays the same', async () => {
  const dir = tempDir();
  try {
    const { log } = openLog(dir.path);
    encodeQueue(log.pending, 1, 0, 'G', 'T');
    for (let offset = 0; offset < 100; offset++) encodeOffset(log.pending, 1, offset);
    log.flush();
    const crashCopy = join(dir.path, 'crash-copy');
    const before = readdirSync(dir.path).filter((name) => name.startsWith('log-'));
    assert.deepEqual(before, ['log-00000000000000000001']);
    copyFileSync(join(dir.path, before[0]!), crashCopy);
    const work = log.compact((encoder) => {
      encodeQueue(encoder, 1, 0, 'G', 'T');
      encodeOffset(encoder, 1, 99);
    });
    assert.ok(work);
    encodeOffset(log.pending, 1, 100);
    await work;
    await log.close();
    assert.deepEqual(readdirSync(dir.path).filter((name) => name !== 'crash-copy').sort(), ['log-00000000000000000002', 'snapshot-00000000000000000002']);
    const compacted = openLog(dir.path);
    await compacted.log.close();
    assert.deepEqual(compacted.records.map((record) => record.type), [1, 2, 2]);
    assert.equal((compacted.records.at(-1) as { popOffset: number }).popOffset, 100);

    // A crash before the snapshot was renamed: old log + new log, no new snapshot.
    rmSync(join(dir.path, 'snapshot-00000000000000000002'));
    copyFileSync(crashCopy, join(dir.path, 'log-00000000000000000001'));
    rmSync(crashCopy);
    writeFileSync(join(dir.path, 'snapshot-00000000000000000002.tmp'), Buffer.from('half a snapshot'));
    const crashed = openLog(dir.path);
    await crashed.log.close();
    assert.equal(crashed.records.length, 102);
    assert.equal((crashed.records.at(-1) as { popOffset: number }).popOffset, 100);
    assert.ok(!readdirSync(dir.path).some((name) => name.endsWith('.tmp')));
  } finally {
    dir.remove();
  }
});

test('the frame encoder writes integers as Buffer.write*BE and writeInt64 do', () => {
  // Room reserved up front, as begin() reserves it for a frame.
  const encoder = new FrameEncoder(4096);
  const expected = Buffer.alloc(4096);
  let position = 0;
  const values = [0, 1, -1, 255, 65_535, 2 ** 31 - 1, -(2 ** 31), 2 ** 32 - 1, 2 ** 40 + 7, -(2 ** 40) - 3, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1_763_700_000_123];
  for (const value of values) {
    encoder.i64(value);
    writeInt64(expected, value, position);
    position += 8;
    encoder.u32(value);
    expected.writeUInt32BE(value >>> 0, position);
    position += 4;
    encoder.i32(value);
    expected.writeInt32BE(value | 0, position);
    position += 4;
    if (value >= 0 && value <= 0xffff) {
      encoder.u16(value);
      expected.writeUInt16BE(value, position);
      position += 2;
    }
  }
  assert.equal(encoder.length, position);
  assert.deepEqual(encoder.bytes(), expected.subarray(0, position));
  const reader = encoder.bytes();
  for (let index = 0, offset = 0; index < values.length; index++) {
    assert.equal(readInt64(reader, offset), values[index]);
    offset += 16 + (values[index]! >= 0 && values[index]! <= 0xffff ? 2 : 0);
  }
});

test('every record fits the room its frame reserved, even at the very end of the buffer', () => {
  // For each record kind, fill the encoder to just below its end so the frame needs exactly the room
  // begin() reserves; a record longer than that would trip end()'s check or grow the buffer mid-frame.
  const writers: Array<(encoder: FrameEncoder) => void> = [
    (encoder) => encodeQueue(encoder, 1, 2, 'group', 'topic'),
    (encoder) => encodeOffset(encoder, 1, 2 ** 40),
    (encoder) => encodeCheckpoint(encoder, 1, 5, 6, 7, 8, 0, 32, Uint32Array.from({ length: 32 }, (_, index) => index * 2)),
    (encoder) => encodeAck(encoder, 1, 5, 6, 7),
    (encoder) => encodeDone(encoder, 1, 5, 6),
    (encoder) => encodeFifo(encoder, 1, 5, 9, 'attempt', [{ queueOffset: 5, popTimeMs: 6, visibleAtMs: 7, deliveries: 1, acked: false }]),
  ];
  for (const write of writers) {
    const probe = new FrameEncoder(1024);
    write(probe);
    const frameBytes = probe.length;
    // From frames that fit with room to spare to frames that need the buffer to grow first.
    for (let slack = -8; slack <= 8; slack++) {
      const encoder = new FrameEncoder(256);
      const start = 256 - frameBytes - slack;
      encoder.length = start;
      write(encoder);
      assert.equal(encoder.length, start + frameBytes);
      assert.deepEqual(encoder.bytes().subarray(start), probe.bytes());
    }
  }
});

test('frame CRCs match zlib.crc32 for short and long frames', () => {
  const bytes = Buffer.alloc(600);
  let state = 7;
  for (let index = 0; index < bytes.length; index++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[index] = state >>> 24;
  }
  for (const [from, to] of [[0, 0], [0, 1], [3, 28], [10, 137], [0, 127], [0, 128], [5, 600]] as const) {
    assert.equal(frameCrc32(bytes, from, to), crc32(bytes.subarray(from, to)) >>> 0, `${from}-${to}`);
  }
});
