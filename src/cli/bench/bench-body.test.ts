// Proves a benchmark body carries its send time and warm-up mark through stamping and reading, and that foreign bodies read as having no send time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBenchBody, monotonicNowNs, NO_SEND_TIME, readBenchSendTimeNs, stampBenchBody, WARMUP_BODY } from './bench-body.js';

test('a stamped body reads back its send time; warm-up bodies and foreign bodies are told apart', () => {
  const body = createBenchBody(1024);
  assert.equal(body.length, 1024);
  assert.equal(readBenchSendTimeNs(body), NO_SEND_TIME);
  const sentNs = monotonicNowNs();
  stampBenchBody(body, sentNs, 7);
  // Doubles hold the nanosecond clock exactly below 2^53 ns (~104 days of uptime).
  assert.equal(readBenchSendTimeNs(body), sentNs);
  assert.equal(readBenchSendTimeNs(new Uint8Array(body)), sentNs);
  stampBenchBody(body, sentNs, 8, true);
  assert.equal(readBenchSendTimeNs(body), WARMUP_BODY);
  assert.equal(readBenchSendTimeNs(Buffer.from('short')), NO_SEND_TIME);
  const tiny = createBenchBody(8);
  stampBenchBody(tiny, sentNs, 1);
  assert.equal(readBenchSendTimeNs(tiny), NO_SEND_TIME);
});
