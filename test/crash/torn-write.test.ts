// Proves that a record torn by a write cut short (its last bytes still zeros, as a SIGKILL inside a
// multi-page write or a power cut leaves it) is not recovered as a message, wherever the cut falls:
// in the body (the CRC sees it), in the topic or in the properties (the CRC covers only the body).
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTideError } from '../../src/common/errors.js';
import { decodeRecord } from '../../src/protocol/message-record.js';
import { MessageStore } from '../../src/store/message-store.js';
import type { AppendResult } from '../../src/store/types.js';
import { capturingLogger } from './crash-harness.js';
import { buildAppendInput } from './crash-workload.js';
import { listCommitLogSegments } from './power-cut.js';
import { checkWorkloadRecord } from './store-verifier.js';

const SEGMENT_BYTES = 256 * 1024;
const MESSAGES = 40;

interface Cut {
  name: string;
  /** Bytes zeroed at the end of the last record, from its decoded layout. */
  zeroedBytes(record: { size: number; propertiesBytes: number; topicBytes: number }): number;
}

const cuts: Cut[] = [
  { name: 'the last property byte', zeroedBytes: () => 1 },
  { name: 'the middle of the properties', zeroedBytes: (record) => Math.floor(record.propertiesBytes / 2) },
  { name: 'the properties length', zeroedBytes: (record) => record.propertiesBytes + 1 },
  { name: 'the topic', zeroedBytes: (record) => record.propertiesBytes + 2 + Math.floor(record.topicBytes / 2) },
  { name: 'the body', zeroedBytes: (record) => record.propertiesBytes + 2 + record.topicBytes + 1 + 4 },
];

for (const cut of cuts) {
  test(`a record torn in ${cut.name} is not recovered`, async () => {
    const storeDir = mkdtempSync(join(tmpdir(), 'tidemq-torn-'));
    try {
      const store = await MessageStore.open({ storePathRootDir: storeDir, mappedFileSizeCommitLog: SEGMENT_BYTES });
      const results: AppendResult[] = [];
      for (let seq = 0; seq < MESSAGES; seq++) results.push(store.append(buildAppendInput(7, seq)));
      await store.close();

      const last = results[results.length - 1]!;
      const segment = listCommitLogSegments(storeDir).find((candidate) => candidate.baseOffset <= last.physicalOffset && last.physicalOffset < candidate.baseOffset + SEGMENT_BYTES)!;
      const position = last.physicalOffset - segment.baseOffset;
      const decoded = decodeRecord(readFileSync(segment.path).subarray(position, position + last.size))!;
      const zeroed = cut.zeroedBytes({ size: last.size, propertiesBytes: Buffer.byteLength(decoded.properties), topicBytes: Buffer.byteLength(decoded.topic) });
      assert.ok(zeroed > 0 && zeroed < last.size - 100, `cut of ${zeroed} bytes in a ${last.size}-byte record`);
      const fd = openSync(segment.path, 'r+');
      try {
        writeSync(fd, Buffer.alloc(zeroed), 0, zeroed, last.endOffset - zeroed - segment.baseOffset);
      } finally {
        closeSync(fd);
      }
      // What a crash leaves: the abort marker, and no checkpoint past the torn record.
      writeFileSync(join(storeDir, 'abort'), '');
      rmSync(join(storeDir, 'checkpoint'));

      const errors: string[] = [];
      const warnings: string[] = [];
      const reopened = await MessageStore.open({ storePathRootDir: storeDir, mappedFileSizeCommitLog: SEGMENT_BYTES }, { logger: capturingLogger(errors, warnings) });
      try {
        let served: Buffer | null = null;
        try {
          served = reopened.readRecord(last.physicalOffset);
        } catch (error) {
          assert.ok(isTideError(error, 'STORE_CORRUPT'), String(error));
        }
        assert.ok(served === null, `the torn record was recovered and is served (${cut.name} zeroed)`);
        const input = buildAppendInput(7, MESSAGES - 1);
        assert.equal(reopened.getConsumeQueueEntry(input.topic, input.queueId, last.queueOffset), null, 'the torn record is in its consume queue');
        for (const result of results.slice(0, -1)) {
          const record = reopened.readRecord(result.physicalOffset);
          assert.ok(record !== null);
          assert.ok(checkWorkloadRecord(record, assert.fail, `record at ${result.physicalOffset}`) !== null);
        }
        // The next append takes the torn record's place.
        const next = reopened.append(buildAppendInput(8, 0));
        assert.equal(next.physicalOffset, last.physicalOffset);
      } finally {
        await reopened.close();
      }
    } finally {
      rmSync(storeDir, { recursive: true, force: true });
    }
  });
}
