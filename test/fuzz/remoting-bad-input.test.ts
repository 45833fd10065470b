// Proves that bad input on one raw socket (random bytes, truncated frames, a 1 GiB length, lying header lengths, invalid or hostile headers, unknown codes) gets that connection answered or closed, while the server stays up and a well-behaved client on another connection keeps working after every case.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { ResponseCode } from '../../src/common/errors.js';
import { FrameDecoder, decodeCommand, encodeCommand } from '../../src/protocol/remoting-codec.js';
import { createRequest, createResponse, type RemotingCommand, type RequestHandler } from '../../src/protocol/remoting-command.js';
import { RemotingClient } from '../../src/remoting/remoting-client.js';
import { RemotingServer } from '../../src/remoting/remoting-server.js';

const ECHO = 1001;

interface Outcome {
  answers: RemotingCommand[];
  closed: boolean;
}

const warnings: Record<string, unknown>[] = [];
const logger = {
  info: (): void => {},
  error: (): void => {},
  warn: (object: unknown): void => {
    if (typeof object === 'object' && object !== null) warnings.push(object as Record<string, unknown>);
  },
};

let server: RemotingServer;
let port: number;
let client: RemotingClient;

before(async () => {
  const handlers = new Map<number, RequestHandler>([[ECHO, (request) => createResponse(request, ResponseCode.SUCCESS, undefined, request.extFields)]]);
  server = new RemotingServer({ handlers, logger });
  port = await server.listen(0, '127.0.0.1');
  client = new RemotingClient();
});

after(async () => {
  await client.close();
  await server.close();
});

/**
 * Sends `bytes` on a fresh socket (optionally half-closing after), then waits until the server closed
 * the socket or `expectedAnswers` frames came back.
 */
async function attack(bytes: Buffer, options: { end?: boolean; expectedAnswers?: number } = {}): Promise<Outcome & { localPort: number }> {
  const socket: Socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const localPort = socket.localPort as number;
  const outcome: Outcome = { answers: [], closed: false };
  const decoder = new FrameDecoder();
  const expected = options.expectedAnswers ?? Number.POSITIVE_INFINITY;
  const done = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      for (const frame of decoder.frames()) outcome.answers.push(decodeCommand(frame));
      if (outcome.answers.length >= expected) resolve();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      outcome.closed = true;
      resolve();
    });
  });
  socket.write(bytes);
  if (options.end === true) socket.end();
  await done;
  socket.destroy();
  return { ...outcome, localPort };
}

/** The server is up and serves a normal client on its own connection. */
async function assertStillServing(label: string): Promise<void> {
  const answer = await client.invoke(`127.0.0.1:${port}`, createRequest(ECHO, { after: label }), 3000);
  assert.equal(answer.code, ResponseCode.SUCCESS, label);
  assert.equal(answer.extFields?.after, label);
}

function assertWarnedAbout(localPort: number): void {
  assert.ok(
    warnings.some((warning) => typeof warning.remoteAddress === 'string' && warning.remoteAddress.endsWith(`:${localPort}`)),
    `a warning names the remote address 127.0.0.1:${localPort}`,
  );
}

function frameWithHeader(headerText: string, declaredHeaderLength?: number, body = Buffer.alloc(0)): Buffer {
  const header = Buffer.from(headerText);
  const prefix = Buffer.alloc(8);
  prefix.writeInt32BE(4 + header.length + body.length, 0);
  prefix.writeUInt32BE(declaredHeaderLength ?? header.length, 4);
  return Buffer.concat([prefix, header, body]);
}

function seededBytes(seed: number, length: number): Buffer {
  let state = seed;
  const bytes = Buffer.alloc(length);
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}

test('random bytes: the connection is closed, others keep working', async () => {
  await assertStillServing('before');
  for (let seed = 1; seed <= 12; seed++) {
    const outcome = await attack(seededBytes(seed, 16 + seed * 97), { end: true });
    assert.ok(outcome.closed, `seed ${seed}: closed`);
    await assertStillServing(`random seed ${seed}`);
  }
});

test('a 1 GiB length prefix closes the connection at once, with a warning naming the peer', async () => {
  const prefix = Buffer.alloc(8);
  prefix.writeUInt32BE(1024 * 1024 * 1024, 0);
  const outcome = await attack(prefix);
  assert.ok(outcome.closed);
  assert.equal(outcome.answers.length, 0);
  assertWarnedAbout(outcome.localPort);
  await assertStillServing('1 GiB');
});

test('negative and too-small length prefixes close the connection', async () => {
  for (const declared of [-1, 0, 3]) {
    const prefix = Buffer.alloc(8);
    prefix.writeInt32BE(declared, 0);
    const outcome = await attack(prefix);
    assert.ok(outcome.closed, `length ${declared}`);
    await assertStillServing(`length ${declared}`);
  }
});

test('a truncated frame followed by the end of the stream closes the connection without an answer', async () => {
  const frame = encodeCommand(createRequest(ECHO, { truncated: 'yes' }));
  for (const cut of [2, 6, frame.length - 1]) {
    const outcome = await attack(frame.subarray(0, cut), { end: true });
    assert.ok(outcome.closed, `cut at ${cut}`);
    assert.equal(outcome.answers.length, 0);
    await assertStillServing(`truncated at ${cut}`);
  }
});

test('a header length larger than the frame closes the connection', async () => {
  const outcome = await attack(frameWithHeader('{"code":1001,"opaque":1}', 5000));
  assert.ok(outcome.closed);
  assertWarnedAbout(outcome.localPort);
  await assertStillServing('header too long');
});

test('invalid, non-object and hostile JSON headers close the connection', async () => {
  const headers = [
    '{"code":1001,"opaque":',
    'not json at all',
    '[1001]',
    '{"opaque":1}',
    '{"code":"1001","opaque":1}',
    '{"code":1001,"opaque":1,"extFields":{"nested":{"a":1}}}',
    '{"code":1001,"opaque":1,"extFields":"text"}',
  ];
  for (const header of headers) {
    const outcome = await attack(frameWithHeader(header));
    assert.ok(outcome.closed, header);
    await assertStillServing(header);
  }
  const unknownType = frameWithHeader('{"code":1001,"opaque":1}');
  unknownType[4] = 7; // serialize type 7
  assert.ok((await attack(unknownType)).closed, 'unknown serialize type');
  await assertStillServing('unknown serialize type');
});

test('a prototype-polluting extFields key is just a field', async () => {
  const frame = frameWithHeader('{"code":1001,"opaque":9,"flag":0,"extFields":{"__proto__":{"polluted":"yes"}}}');
  const outcome = await attack(frame);
  assert.ok(outcome.closed, 'a nested value is malformed even under __proto__');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  const scalar = await attack(frameWithHeader('{"code":1001,"opaque":9,"flag":0,"extFields":{"__proto__":"x","a":"b"}}'), { expectedAnswers: 1 });
  assert.equal(scalar.answers[0]?.extFields?.a, 'b');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  await assertStillServing('proto');
});

test('an unknown code is answered 3 and the connection stays open for the next request', async () => {
  const unknown = createRequest(424242);
  const known = createRequest(ECHO, { n: '2' });
  const outcome = await attack(Buffer.concat([encodeCommand(unknown), encodeCommand(known)]), { expectedAnswers: 2 });
  assert.equal(outcome.closed, false);
  assert.equal(outcome.answers[0]?.opaque, unknown.opaque);
  assert.equal(outcome.answers[0]?.code, ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
  assert.equal(outcome.answers[0]?.remark, ' request type 424242 not supported');
  assert.equal(outcome.answers[1]?.extFields?.n, '2');
  await assertStillServing('unknown code');
});

test('good frames before a broken one are answered, then the connection is closed', async () => {
  const good = createRequest(ECHO, { n: 'first' });
  const outcome = await attack(Buffer.concat([encodeCommand(good), frameWithHeader('{broken')]));
  assert.ok(outcome.closed);
  assert.equal(outcome.answers.length, 1);
  assert.equal(outcome.answers[0]?.extFields?.n, 'first');
  await assertStillServing('good then broken');
  // The server dropped every attacking connection; only the well-behaved client remains.
  while ([...server.connections()].length > 1) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal([...server.connections()].length, 1);
});
