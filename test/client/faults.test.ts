// Proves the client's failure handling against fake peers: a broker that answers garbage, closes mid-frame or never answers makes the affected calls fail with typed errors (ConnectionError, RequestTimeoutError, AbortError) within the calls' timeouts, FLUSH_DISK_TIMEOUT / FLUSH_SLAVE_TIMEOUT / SLAVE_NOT_AVAILABLE surface as such, and the same client recovers once the broker behaves or is back.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AbortError, Admin, BrokerError, ConnectionError, MQClientError, Producer, RequestTimeoutError } from '../../src/client/index.js';
import { TideError } from '../../src/common/errors.js';
import { FAKE_BROKER_NAME, FakeBroker, startFakeNameServer } from './fake-servers.js';

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current = error; current !== undefined && current !== null; current = (current as { cause?: unknown }).cause) chain.push(current);
  return chain;
}

describe('failures', { timeout: 30_000 }, () => {
  const broker = new FakeBroker();
  let namesrv: { address: string; close(): Promise<void> };
  let producer: Producer;
  let admin: Admin;
  const queue = { topic: 'FaultTopic', brokerName: FAKE_BROKER_NAME, queueId: 0 };

  before(async () => {
    await broker.start();
    namesrv = await startFakeNameServer(() => broker.address);
    producer = new Producer({ namesrvAddr: namesrv.address, sendTimeoutMs: 400, retryTimesWhenSendFailed: 0, requestTimeoutMs: 400, connectTimeoutMs: 400 });
    admin = new Admin({ namesrvAddr: namesrv.address, requestTimeoutMs: 400, connectTimeoutMs: 400 });
  });

  after(async () => {
    await producer?.close();
    await admin?.close();
    await namesrv?.close();
    await broker.stop();
  });

  it('sends to a healthy broker', async () => {
    broker.mode = 'ok';
    const result = await producer.send({ topic: 'FaultTopic', body: 'fine' });
    assert.equal(result.status, 'SEND_OK');
    assert.equal(result.queue.brokerName, FAKE_BROKER_NAME);
  });

  it('fails calls answered with garbage with a ConnectionError, and recovers', { timeout: 5000 }, async () => {
    broker.mode = 'garbage';
    const error = await producer.send({ topic: 'FaultTopic', body: 'x' }).catch((caught: unknown) => caught);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.retriable, true);
    assert.ok(causes(error).some((cause) => cause instanceof TideError && cause.code === 'FRAME_MALFORMED'), 'the malformed frame is in the cause chain');
    const adminError = await admin.maxOffset(queue).catch((caught: unknown) => caught);
    assert.ok(adminError instanceof ConnectionError);
    broker.mode = 'ok';
    assert.equal((await producer.send({ topic: 'FaultTopic', body: 'again' })).status, 'SEND_OK');
    assert.equal(await admin.maxOffset(queue), 42);
  });

  it('fails calls whose answer is cut mid-frame with a ConnectionError, and recovers', { timeout: 5000 }, async () => {
    broker.mode = 'close-mid-frame';
    const error = await producer.send({ topic: 'FaultTopic', body: 'x' }).catch((caught: unknown) => caught);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.code, 'CONNECTION_CLOSED');
    broker.mode = 'ok';
    assert.equal((await producer.send({ topic: 'FaultTopic', body: 'again' })).status, 'SEND_OK');
  });

  it('times out calls that are never answered, and recovers', { timeout: 5000 }, async () => {
    broker.mode = 'silent';
    const sends = await Promise.all([1, 2, 3].map((index) => producer.send({ topic: 'FaultTopic', body: `x${index}` }).catch((caught: unknown) => caught)));
    for (const error of sends) {
      assert.ok(error instanceof RequestTimeoutError, String(error));
      assert.equal(error.code, 'REQUEST_TIMEOUT');
      assert.equal(error.responseCode, -1006);
    }
    assert.ok((await admin.maxOffset(queue).catch((caught: unknown) => caught)) instanceof RequestTimeoutError);
    const controller = new AbortController();
    const aborted = producer.send({ topic: 'FaultTopic', body: 'x' }, { signal: controller.signal, timeoutMs: 3000 }).catch((caught: unknown) => caught);
    setTimeout(() => controller.abort(), 50);
    assert.ok((await aborted) instanceof AbortError);
    broker.mode = 'ok';
    assert.equal((await producer.send({ topic: 'FaultTopic', body: 'again' })).status, 'SEND_OK');
  });

  it('surfaces stores that missed their promise, never as SEND_OK', async () => {
    broker.mode = 'ok';
    for (const [code, status] of [[10, 'FLUSH_DISK_TIMEOUT'], [12, 'FLUSH_SLAVE_TIMEOUT'], [11, 'SLAVE_NOT_AVAILABLE']] as const) {
      broker.sendCode = code;
      assert.equal((await producer.send({ topic: 'FaultTopic', body: 'x' })).status, status);
    }
    broker.sendCode = 14;
    const refused = await producer.send({ topic: 'FaultTopic', body: 'x' }).catch((caught: unknown) => caught);
    assert.ok(refused instanceof BrokerError);
    assert.equal(refused.code, 'SERVICE_NOT_AVAILABLE');
    assert.equal(refused.responseCode, 14);
    assert.equal(refused.retriable, true);
    broker.sendCode = 0;
  });

  it('fails to connect while the broker is down and recovers when it is back', { timeout: 5000 }, async () => {
    await broker.stop();
    const error = await producer.send({ topic: 'FaultTopic', body: 'x' }).catch((caught: unknown) => caught);
    assert.ok(error instanceof MQClientError && (error.code === 'CONNECT_FAILED' || error.code === 'CONNECTION_CLOSED'), String(error));
    assert.equal(error.retriable, true);
    await broker.start();
    broker.mode = 'ok';
    assert.equal((await producer.send({ topic: 'FaultTopic', body: 'back' })).status, 'SEND_OK');
  });
});
