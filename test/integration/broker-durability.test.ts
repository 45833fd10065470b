// Proves that every broker request that appends and answers (a plain send, a batch, a transactional half, a send-back to the retry topic and to the DLQ, an END_TRANSACTION commit, a DLQ re-send) keeps the flush mode's promise: under SYNC_FLUSH it answers SUCCESS only once fdatasync confirmed it and FLUSH_DISK_TIMEOUT (10) while fdatasync hangs (WAIT=false skips only that wait); under ASYNC_FLUSH it never answers SUCCESS for a record whose write(2) failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fdatasync } from 'node:fs';
import { Broker } from '../../src/broker/broker.js';
import { createBrokerConfig } from '../../src/broker/broker-config.js';
import { RESEND_DLQ_MESSAGE } from '../../src/broker/handlers/admin/index.js';
import { silentLogger } from '../../src/common/logger.js';
import { decodeOffsetMessageId } from '../../src/protocol/message-id.js';
import { createRequest, type RemotingCommand } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import { nodeFileIo, type FileIo } from '../../src/store/file-io.js';
import { TestFileIo } from '../../src/store/store-test-support.js';
import { COMMIT, endTransactionRequest, sendHalf, type HalfSent } from './broker-transaction-support.js';
import { newClient, sendV2Request, tempRoot } from './broker-test-support.js';

const TOPIC = 'DurableEverywhere';
const GROUP = 'CG-durable';

/** One SEND_BATCH_MESSAGE entry: totalSize, magic, bodyCRC, flag, bodyLength, body, propertiesLength, properties. */
function batchEntry(body: string): Buffer {
  const bodyBytes = Buffer.from(body);
  const entry = Buffer.alloc(22 + bodyBytes.length);
  entry.writeInt32BE(entry.length, 0);
  entry.writeInt32BE(bodyBytes.length, 16);
  bodyBytes.copy(entry, 20);
  entry.writeInt16BE(0, 20 + bodyBytes.length);
  return entry;
}

function batchRequest(bodies: string[]): RemotingCommand {
  const request = sendV2Request(TOPIC, Buffer.concat(bodies.map(batchEntry)));
  return createRequest(RequestCode.SEND_BATCH_MESSAGE, { ...request.extFields, m: 'true' }, request.body);
}

/** A transactional half (TRAN_MSG, PREPARED sysFlag), as the Java TransactionMQProducer sends it. */
function halfRequest(body: string): RemotingCommand {
  const request = sendV2Request(TOPIC, body, { producerGroup: 'PG-tx', properties: { TRAN_MSG: 'true', PGROUP: 'PG-tx' } });
  request.extFields!.f = '4';
  return request;
}

function sendBackRequest(physicalOffset: number, delayLevel: number): RemotingCommand {
  return createRequest(RequestCode.CONSUMER_SEND_MSG_BACK, {
    offset: String(physicalOffset), group: GROUP, delayLevel: String(delayLevel), originTopic: TOPIC, unitMode: 'false', maxReconsumeTimes: '16',
  });
}

test('SYNC_FLUSH: no request that appends answers SUCCESS before fdatasync', async (t) => {
  const temp = tempRoot();
  let hang = false;
  const held: Array<() => void> = [];
  const fileIo: FileIo = {
    write: nodeFileIo.write,
    fdatasync(fd, callback) {
      const run = (): void => fdatasync(fd, callback);
      if (hang) held.push(run);
      else run();
    },
  };
  const config = createBrokerConfig({
    storePathRootDir: temp.root, listenPort: 0, listenHost: '127.0.0.1', brokerIP1: '127.0.0.1',
    mappedFileSizeCommitLog: 1024 * 1024, maxHashSlotNum: 1000, maxIndexNum: 4000, flushDiskType: 'SYNC_FLUSH', syncFlushTimeout: 300,
  });
  const broker = new Broker(config, { logger: silentLogger, storeOptions: { fileIo } });
  const { brokerAddr } = await broker.start();
  const client = newClient();
  t.after(async () => {
    hang = false;
    for (const run of held.splice(0)) run();
    await client.close();
    await broker.close();
    temp.remove();
  });

  /** Every appending request once; `expected` is the answer code each must give. */
  const everyAppendingRequest = async (expected: number, phase: string): Promise<void> => {
    const sent = await client.invoke(brokerAddr, sendV2Request(TOPIC, `plain ${phase}`));
    assert.equal(sent.code, expected, `plain send (${phase}): ${sent.remark}`);
    const physicalOffset = decodeOffsetMessageId(sent.extFields!.msgId!)!.physicalOffset;

    const batch = await client.invoke(brokerAddr, batchRequest([`batch-1 ${phase}`, `batch-2 ${phase}`]));
    assert.equal(batch.code, expected, `batch (${phase}): ${batch.remark}`);

    const retry = await client.invoke(brokerAddr, sendBackRequest(physicalOffset, 0));
    assert.equal(retry.code, expected, `send-back to %RETRY% (${phase}): ${retry.remark}`);
    const deadLetter = await client.invoke(brokerAddr, sendBackRequest(physicalOffset, -1));
    assert.equal(deadLetter.code, expected, `send-back to %DLQ% (${phase}): ${deadLetter.remark}`);

    const half = await client.invoke(brokerAddr, halfRequest(`half ${phase}`));
    assert.equal(half.code, expected, `transactional half (${phase}): ${half.remark}`);

    const resent = await client.invoke(brokerAddr, createRequest(RESEND_DLQ_MESSAGE, { consumerGroup: GROUP, queueOffset: '0' }));
    assert.equal(resent.code, expected, `DLQ re-send (${phase}): ${resent.remark}`);
    assert.equal(resent.extFields?.resentCount, '1');
  };

  // The halves are sent while the disk works; each is committed in its own phase.
  const halves = [await sendHalf(client, brokerAddr, TOPIC, 'tx one'), await sendHalf(client, brokerAddr, TOPIC, 'tx two')];

  await everyAppendingRequest(0, 'disk working');
  const committed = await client.invoke(brokerAddr, endTransactionRequest(halves[0]!, COMMIT));
  assert.equal(committed.code, 0, committed.remark);

  hang = true;
  await everyAppendingRequest(10, 'fdatasync hanging');
  const notDurable = await client.invoke(brokerAddr, endTransactionRequest(halves[1]!, COMMIT));
  assert.equal(notDurable.code, 10, `END_TRANSACTION commit while fdatasync hangs: ${notDurable.remark}`);
  assert.ok(held.length > 0, 'fdatasync calls were held');
  const noWait = await client.invoke(brokerAddr, sendV2Request(TOPIC, 'WAIT=false', { properties: { WAIT: 'false' } }));
  assert.equal(noWait.code, 0, 'WAIT=false waits for the write, not for the hanging fdatasync');

  hang = false;
  for (const run of held.splice(0)) run();
  await everyAppendingRequest(0, 'disk working again');
});

interface AsyncCase {
  name: string;
  /** Known gap, with the reason: the case is reported, not failed. */
  todo?: string;
  /** The request to check, built from what was stored while writes still worked. */
  prepare(client: ReturnType<typeof newClient>, address: string): Promise<RemotingCommand>;
}

async function storedOffset(client: ReturnType<typeof newClient>, address: string): Promise<number> {
  const sent = await client.invoke(address, sendV2Request(TOPIC, 'original'));
  assert.equal(sent.code, 0, sent.remark);
  return decodeOffsetMessageId(sent.extFields!.msgId!)!.physicalOffset;
}

const ASYNC_CASES: AsyncCase[] = [
  { name: 'plain send', prepare: async () => sendV2Request(TOPIC, 'plain') },
  { name: 'send with WAIT=false', prepare: async () => sendV2Request(TOPIC, 'no wait', { properties: { WAIT: 'false' } }) },
  { name: 'batch', prepare: async () => batchRequest(['batch-1', 'batch-2']) },
  { name: 'transactional half', prepare: async () => halfRequest('half') },
  { name: 'send-back to %RETRY%', prepare: async (client, address) => sendBackRequest(await storedOffset(client, address), 0) },
  { name: 'send-back to %DLQ%', prepare: async (client, address) => sendBackRequest(await storedOffset(client, address), -1) },
  {
    name: 'DLQ re-send',
    prepare: async (client, address) => {
      const toDlq = await client.invoke(address, sendBackRequest(await storedOffset(client, address), -1));
      assert.equal(toDlq.code, 0, toDlq.remark);
      return createRequest(RESEND_DLQ_MESSAGE, { consumerGroup: GROUP, queueOffset: '0' });
    },
  },
  {
    name: 'END_TRANSACTION commit',
    prepare: async (client, address) => {
      const half: HalfSent = await sendHalf(client, address, TOPIC, 'tx');
      return endTransactionRequest(half, COMMIT);
    },
  },
];

for (const testCase of ASYNC_CASES) {
  test(`ASYNC_FLUSH: ${testCase.name} is not answered SUCCESS when the write of its record fails`, testCase.todo === undefined ? {} : { todo: testCase.todo }, async (t) => {
    const temp = tempRoot();
    const io = new TestFileIo();
    const config = createBrokerConfig({
      storePathRootDir: temp.root, listenPort: 0, listenHost: '127.0.0.1', brokerIP1: '127.0.0.1', mappedFileSizeCommitLog: 1024 * 1024,
      maxHashSlotNum: 1000, maxIndexNum: 4000, flushDiskType: 'ASYNC_FLUSH', flushIntervalConsumeQueue: 600_000,
    });
    const broker = new Broker(config, { logger: silentLogger, storeOptions: { fileIo: io } });
    const { brokerAddr } = await broker.start();
    const client = newClient();
    t.after(async () => {
      await client.close();
      await broker.close();
      temp.remove();
    });
    const request = await testCase.prepare(client, brokerAddr);
    // The request's record reaches the write buffer; the write that would hand it to the kernel fails.
    io.failWrites = Object.assign(new Error('EIO: simulated write failure'), { code: 'EIO' });
    const response = await client.invoke(brokerAddr, request);
    assert.notEqual(response.code, 0, `answered SUCCESS for a record that never reached the kernel (${response.remark})`);
  });
}
