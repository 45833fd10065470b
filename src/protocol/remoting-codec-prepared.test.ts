// Proves the in-place paths of the codec: the two-step encoder (prepareCommand, writePreparedCommand) writes exactly the bytes of encodeCommandAs at any position of the caller's buffer and hands every command the direct writer cannot take (text outside ASCII, an oversized frame) to encodeCommandAs by answering -1; and FrameDecoder.nextFrame with decodeCommandAt decodes, from ranges of the chunks, what next() with decodeCommand decodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Limits } from '../common/limits.js';
import { FrameDecoder, decodeCommand, decodeCommandAt, encodeCommand, encodeCommandAs, encodeCommandViaString, prepareCommand, writePreparedCommand } from './remoting-codec.js';
import { RemotingFlag, createRequest, createResponse, type RemotingCommand } from './remoting-command.js';
import { RequestCode } from './request-code.js';

test('a prepared command is written byte for byte as encodeCommandAs writes it', () => {
  const request = createRequest(RequestCode.SEND_MESSAGE_V2, { a: 'PG', b: 'Topic', i: 'KEYS\u0001k\u0002UNIQ_KEY\u0001ABC\u0002', quote: 'say "hi"\\' }, Buffer.alloc(1024, 0x61));
  const commands: [RemotingCommand, number][] = [
    [request, 0],
    [createResponse(request, 0, 'remark\n', { msgId: 'ABC', queueOffset: '12' }), RemotingFlag.RESPONSE],
    [createRequest(RequestCode.HEART_BEAT), RemotingFlag.ONEWAY],
    [{ ...createRequest(RequestCode.PULL_MESSAGE, { topic: 'T' }), language: 'NODE_JS', version: -3 }, 0],
  ];
  const out = Buffer.alloc(8192, 0xee);
  for (const [command, flag] of commands) {
    out.fill(0xee);
    const expected = encodeCommandAs(command, 12345, flag);
    const frameBytes = prepareCommand(command, 12345, flag);
    assert.equal(frameBytes, expected.length);
    const end = writePreparedCommand(command, out, 77);
    assert.equal(end, 77 + expected.length);
    assert.deepEqual(out.subarray(77, end), expected);
    assert.equal(out[end], 0xee, 'nothing written past the frame');
  }
});

test('commands the direct writer cannot take answer -1 and are left to encodeCommandAs', () => {
  assert.equal(prepareCommand(createRequest(RequestCode.SEND_MESSAGE_V2, { b: 'tópico' }), 1, 0), -1);
  const huge = createRequest(RequestCode.SEND_MESSAGE_V2, { b: 'T' }, Buffer.alloc(Limits.maxFrameBytes));
  assert.equal(prepareCommand(huge, 1, 0), -1);
  assert.throws(() => encodeCommandAs(huge, 1, 0), /exceeds/);
  assert.throws(() => writePreparedCommand(huge, Buffer.alloc(16), 0), /without prepareDirectFrame/);
});

test('nextFrame + decodeCommandAt decode what next + decodeCommand decode, frames inside and across chunks', () => {
  const frames = Array.from({ length: 20 }, (_, index) => encodeCommand(createRequest(RequestCode.SEND_MESSAGE_V2, { b: `T${index}` }, Buffer.alloc(index * 37, index))));
  const stream = Buffer.concat(frames);
  for (const chunkBytes of [7, 300, 1000, stream.length]) {
    const byRange = new FrameDecoder();
    const byView = new FrameDecoder();
    const fromRanges: RemotingCommand[] = [];
    const fromViews: RemotingCommand[] = [];
    for (let offset = 0; offset < stream.length; offset += chunkBytes) {
      const chunk = stream.subarray(offset, offset + chunkBytes);
      byRange.push(chunk);
      byView.push(chunk);
      while (byRange.nextFrame()) fromRanges.push(decodeCommandAt(byRange.frameSource, byRange.frameStart, byRange.frameEnd));
      for (const frame of byView.frames()) fromViews.push(decodeCommand(frame));
    }
    assert.equal(fromRanges.length, frames.length);
    assert.deepEqual(fromRanges, fromViews, `chunks of ${chunkBytes} bytes`);
  }
  assert.throws(() => decodeCommandAt(Buffer.alloc(10), 8, 10), /no header-length field/);
  assert.throws(() => decodeCommandAt(Buffer.from([0, 0, 0, 0, 0, 0, 0, 9, 0]), 4, 9), /exceeds/);
});

test('every int32 digit width and sign is written as the string path writes it', () => {
  const values = [0, -1, 1, -2147483648, 2147483647, -2147483647];
  for (let power = 1; power <= 1_000_000_000; power *= 10) values.push(power - 1, power, -power, -(power - 1));
  for (const value of values) {
    const command = { ...createRequest(value, { k: 'v' }), version: value };
    assert.deepEqual(encodeCommandAs(command, value, value), encodeCommandViaString(command, value, value), String(value));
  }
});
