// Proves the send handler's per-turn acknowledgements on a real store: plain sends on a deferrable context are answered only after their records were handed to the kernel (ASYNC_FLUSH) or made durable (SYNC_FLUSH), never during the turn that appended them; the answers are the general path's SEND_OK answers; the stored properties are the producer's plus the broker's, UNIQ_KEY included, and read back intact; and a context that cannot defer gets the same answer from a promise.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, readSync, closeSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeOffsetMessageId } from '../../protocol/message-id.js';
import { decodeProperties, getProperty, MessageProperty } from '../../protocol/message-properties.js';
import { decodeRecord } from '../../protocol/message-record.js';
import { decodeCommand } from '../../protocol/remoting-codec.js';
import { createRequest, type DeferrableRequestContext, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import type { Broker } from '../broker.js';
import { RecordingConnection } from '../test-connection.js';
import { startTestBroker } from '../test-broker.js';
import { createSendMessageHandler } from './send-message.js';

async function startBroker(t: TestContext, flushDiskType: 'ASYNC_FLUSH' | 'SYNC_FLUSH'): Promise<{ broker: Broker; root: string }> {
  const broker = await startTestBroker(t, { flushDiskType });
  return { broker, root: broker.config.storePathRootDir };
}

function sendRequest(topic: string, queueId: number, body: string, properties: string): RemotingCommand {
  return createRequest(RequestCode.SEND_MESSAGE_V2, { a: 'PG', b: topic, c: 'TBW102', d: '4', e: String(queueId), f: '0', g: '1700000000000', h: '0', i: properties, j: '0', k: 'false' }, Buffer.from(body));
}

/** The int32 at `physicalOffset` of the first commit-log file as the kernel has it (0 before the write). */
function recordSizeInFile(root: string, physicalOffset: number): number {
  const directory = join(root, 'commitlog');
  const file = openSync(join(directory, readdirSync(directory).sort()[0]!), 'r');
  try {
    const bytes = Buffer.alloc(4);
    readSync(file, bytes, 0, 4, physicalOffset);
    return bytes.readInt32BE(0);
  } finally {
    closeSync(file);
  }
}

interface Answered {
  answer: RemotingCommand;
  /** What the store had when the answer was given. */
  sizeInFile: number;
  flushedOffset: number;
}

function deferrableContext(onAnswer: (answer: RemotingCommand) => void): DeferrableRequestContext & { deferred: boolean } {
  return {
    connection: new RecordingConnection(),
    deferred: false,
    defer() {
      this.deferred = true;
    },
    reply: onAnswer,
    replyEncoded(bytes, start, end) {
      onAnswer(decodeCommand(Buffer.from(bytes.subarray(start + 4, end))));
    },
  };
}

for (const flushDiskType of ['ASYNC_FLUSH', 'SYNC_FLUSH'] as const) {
  test(`${flushDiskType}: plain sends of one turn are answered after the store's promise, with SEND_OK answers`, async (t) => {
    const { broker, root } = await startBroker(t, flushDiskType);
    const deps = broker.brokerDeps;
    const handler = createSendMessageHandler(deps);
    const topic = `Acks${flushDiskType.replace('_', '')}`;
    const count = 40;
    const answered: Answered[] = [];
    const contexts: ReturnType<typeof deferrableContext>[] = [];
    let allAnswered!: () => void;
    const done = new Promise<void>((resolve) => (allAnswered = resolve));
    for (let index = 0; index < count; index++) {
      const context = deferrableContext((answer) => {
        const physicalOffset = decodeOffsetMessageId(answer.extFields!.msgId!)!.physicalOffset;
        answered.push({ answer, sizeInFile: recordSizeInFile(root, physicalOffset), flushedOffset: deps.store.stats().flushedOffset });
        if (answered.length === count) allAnswered();
      });
      contexts.push(context);
      // Every other message has no UNIQ_KEY (the broker makes one) and some say WAIT=false.
      const properties = `TAGS\u0001T${index % 3}\u0002KEYS\u0001k${index} shared\u0002` + (index % 2 === 0 ? `UNIQ_KEY\u0001U${index}\u0002` : '') + (index % 5 === 0 ? 'WAIT\u0001false\u0002' : '');
      const result = handler(sendRequest(topic, index % 2, `body-${index}`, properties), context);
      assert.equal(result, null, 'a plain send on a deferrable context is answered later');
      assert.ok(context.deferred);
    }
    assert.equal(answered.length, 0, 'nothing is answered in the turn that appended');
    await done;
    for (const { answer, sizeInFile, flushedOffset } of answered) {
      assert.equal(answer.code, 0, answer.remark);
      assert.ok(sizeInFile > 0, 'the record was written before its answer');
      const { physicalOffset } = decodeOffsetMessageId(answer.extFields!.msgId!)!;
      if (flushDiskType === 'SYNC_FLUSH' && answer.extFields!.transactionId !== undefined) {
        const record = decodeRecord(deps.store.readRecord(physicalOffset)!)!;
        if (getProperty(record.properties, MessageProperty.WAIT) !== 'false') assert.ok(flushedOffset >= physicalOffset + sizeInFile, 'durable before its answer');
      }
    }
    for (const queueId of [0, 1]) {
      const records = deps.store.getMessages(topic, queueId, 0, 100, 1 << 20).records.map((record) => decodeRecord(record)!);
      assert.equal(records.length, count / 2);
      for (const record of records) {
        const index = Number(record.body.toString().slice('body-'.length));
        const properties = decodeProperties(record.properties);
        assert.equal(properties.get(MessageProperty.TAGS), `T${index % 3}`);
        assert.equal(properties.get(MessageProperty.KEYS), `k${index} shared`);
        assert.equal(properties.get(MessageProperty.CLUSTER), deps.config.brokerClusterName);
        assert.equal(properties.get(MessageProperty.MSG_REGION), deps.config.regionId);
        const uniqueKey = properties.get(MessageProperty.UNIQ_KEY)!;
        if (index % 2 === 0) assert.equal(uniqueKey, `U${index}`);
        else assert.match(uniqueKey, /^[0-9A-F]{32}$/);
        const answer = answered.find((entry) => entry.answer.extFields!.transactionId === uniqueKey)!;
        assert.equal(answer.answer.extFields!.queueId, String(queueId));
        assert.equal(Number(answer.answer.extFields!.queueOffset), record.queueOffset);
        for (const key of [uniqueKey, `k${index}`, 'shared']) {
          const found = deps.store.queryMessageByKey(topic, key, 100, 0, Number.MAX_SAFE_INTEGER).records.map((bytes) => decodeRecord(bytes)!.physicalOffset);
          assert.ok(found.includes(record.physicalOffset), `indexed under ${key}`);
        }
      }
    }
  });
}

test('a context that cannot defer gets the same SEND_OK answer from a promise', async (t) => {
  const { broker } = await startBroker(t, 'ASYNC_FLUSH');
  const handler = createSendMessageHandler(broker.brokerDeps);
  const result = handler(sendRequest('NoDefer', 0, 'x', 'UNIQ_KEY\u0001ABC\u0002'), { connection: new RecordingConnection(), reply: () => {} });
  assert.ok(result instanceof Promise);
  const answer = await result;
  assert.equal(answer?.code, 0);
  assert.deepEqual(Object.keys(answer!.extFields!), ['msgId', 'queueId', 'queueOffset', 'MSG_REGION', 'TRACE_ON', 'transactionId']);
  assert.equal(answer!.extFields!.transactionId, 'ABC');
});
