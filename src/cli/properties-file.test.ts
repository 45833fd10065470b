// Proves broker.conf files in Java properties syntax are read as RocketMQ reads them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProperties } from './properties-file.js';

test('parses key=value, key: value, comments and continuations', () => {
  const parsed = parseProperties([
    '# a comment',
    '! another',
    'brokerClusterName = DefaultCluster',
    'brokerName:broker-a',
    'namesrvAddr=127.0.0.1:9876;127.0.0.1:9877',
    'messageDelayLevel=1s 5s \\',
    '   10s',
    '',
    'flushDiskType=SYNC_FLUSH  ',
  ].join('\n'));
  assert.deepEqual(parsed, {
    brokerClusterName: 'DefaultCluster',
    brokerName: 'broker-a',
    namesrvAddr: '127.0.0.1:9876;127.0.0.1:9877',
    messageDelayLevel: '1s 5s 10s',
    flushDiskType: 'SYNC_FLUSH',
  });
});
