// Proves a running `tidemq start` survives broken framing and bad requests: each bad case is answered or
// its connection closed, the process stays up, and a well-behaved client on its own connection keeps
// producing and reading back throughout (nothing already stored is lost).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { ResponseCode } from '../../src/common/errors.js';
import { FrameDecoder, decodeCommand, encodeCommand } from '../../src/protocol/remoting-codec.js';
import { createRequest, type RemotingCommand } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import { decodeRecords } from '../../src/protocol/message-record.js';
import { RemotingClient } from '../../src/remoting/remoting-client.js';
import { makeTempHome, startStandalone, type TideProcess } from '../support/tidemq-process.js';

let broker: TideProcess & { namesrvAddr: string; brokerAddr: string };
let home: { home: string; cleanup: () => void };
let client: RemotingClient;
let sent = 0;
const TOPIC = 'BadInputSurvivor';

before(async () => {
  home = makeTempHome();
  broker = await startStandalone(home.home);
  client = new RemotingClient({ requestTimeoutMs: 5000 });
});

after(async () => {
  await client?.close();
  await broker?.kill();
  home?.cleanup();
});

function sendRequest(topic: string, body: Buffer, extra: Record<string, string> = {}): RemotingCommand {
  return createRequest(RequestCode.SEND_MESSAGE_V2, {
    a: 'PG', b: topic, c: 'TBW102', d: '4', e: '0', f: '0', g: String(Date.now()), h: '0', i: '', j: '0', k: 'false', ...extra,
  }, body);
}

/** A good client sends one more message and reads every message so far back from queue 0. */
async function assertStillServing(label: string): Promise<void> {
  const answer = await client.invoke(broker.brokerAddr, sendRequest(TOPIC, Buffer.from(`good-${sent}`)));
  assert.equal(answer.code, ResponseCode.SUCCESS, `${label}: ${answer.remark}`);
  sent++;
  const pull = await client.invoke(broker.brokerAddr, createRequest(RequestCode.PULL_MESSAGE, {
    consumerGroup: 'CG', topic: TOPIC, queueId: '0', queueOffset: '0', maxMsgNums: '64', sysFlag: '4', expressionType: 'TAG',
    commitOffset: '0', suspendTimeoutMillis: '0', subscription: '*', subVersion: '0',
  }));
  assert.equal(pull.code, ResponseCode.SUCCESS, `${label}: pull ${pull.remark}`);
  const bodies = decodeRecords(pull.body!).map((record) => record.body.toString());
  assert.deepEqual(bodies, Array.from({ length: sent }, (_, index) => `good-${index}`), label);
  assert.equal(broker.child.exitCode, null, `${label}: the broker process is still running`);
}

/** Sends raw bytes on a fresh socket; resolves with the answers read until the server closes it or `wantAnswers` arrive. */
async function raw(bytes: Buffer, wantAnswers = Number.POSITIVE_INFINITY, end = false): Promise<{ answers: RemotingCommand[]; closed: boolean }> {
  const [host, port] = broker.brokerAddr.split(':') as [string, string];
  const socket = connect({ host, port: Number(port) });
  const outcome = { answers: [] as RemotingCommand[], closed: false };
  const decoder = new FrameDecoder();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 10_000);
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      for (const frame of decoder.frames()) outcome.answers.push(decodeCommand(frame));
      if (outcome.answers.length >= wantAnswers) { clearTimeout(timer); resolve(); }
    });
    socket.on('error', () => {});
    socket.on('close', () => { outcome.closed = true; clearTimeout(timer); resolve(); });
    socket.on('connect', () => { socket.write(bytes); if (end) socket.end(); });
  });
  socket.destroy();
  return outcome;
}

function frame(header: string, declaredHeaderLength?: number, body = Buffer.alloc(0)): Buffer {
  const headerBytes = Buffer.from(header);
  const prefix = Buffer.alloc(8);
  prefix.writeInt32BE(4 + headerBytes.length + body.length, 0);
  prefix.writeUInt32BE(declaredHeaderLength ?? headerBytes.length, 4);
  return Buffer.concat([prefix, headerBytes, body]);
}

test('broken framing closes only that connection', async () => {
  await assertStillServing('start');
  let seed = 7;
  const random = Buffer.alloc(4096);
  for (let index = 0; index < random.length; index++) { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; random[index] = seed >>> 24; }
  assert.equal((await raw(random)).closed, true, 'random bytes');
  await assertStillServing('random bytes');

  const gib = Buffer.alloc(8);
  gib.writeInt32BE(1024 * 1024 * 1024, 0);
  assert.equal((await raw(gib)).closed, true, '1 GiB length prefix');
  await assertStillServing('1 GiB length prefix');

  const good = encodeCommand(sendRequest(TOPIC, Buffer.from('never stored')));
  const truncated = await raw(good.subarray(0, good.length - 10), Number.POSITIVE_INFINITY, true);
  assert.equal(truncated.answers.length, 0, 'a truncated frame is never executed');
  await assertStillServing('truncated frame');

  assert.equal((await raw(frame('{"code":310}', 5000))).closed, true, 'header length larger than the frame');
  await assertStillServing('header length larger than the frame');

  assert.equal((await raw(frame('{"code":310,'))).closed, true, 'invalid JSON header');
  await assertStillServing('invalid JSON header');
});

test('bad requests are answered with codes, not crashes', async () => {
  const unknown = await raw(encodeCommand(createRequest(99_999)), 1);
  assert.equal(unknown.answers[0]?.code, ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
  await assertStillServing('unknown code');

  const missing = await client.invoke(broker.brokerAddr, createRequest(RequestCode.SEND_MESSAGE_V2, { b: TOPIC }, Buffer.from('x')));
  assert.notEqual(missing.code, ResponseCode.SUCCESS);
  assert.ok(missing.remark && !/\n\s+at /.test(missing.remark), 'a remark, not a stack trace');
  await assertStillServing('missing fields');

  const escape = await client.invoke(broker.brokerAddr, sendRequest('../x', Buffer.from('x')));
  assert.notEqual(escape.code, ResponseCode.SUCCESS, 'topic ../x refused');
  await assertStillServing('topic ../x');

  const huge = await client.invoke(broker.brokerAddr, sendRequest(TOPIC, Buffer.alloc(5 * 1024 * 1024, 1)), 15_000);
  assert.equal(huge.code, ResponseCode.MESSAGE_ILLEGAL, '5 MiB body');
  await assertStillServing('5 MiB body');
});
