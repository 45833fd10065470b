/**
 * The race's sanity mark: the least a Node server must do to acknowledge messages durably enough,
 * and nothing more. It speaks just enough of RocketMQ's remoting protocol that `tidemq bench` drives
 * it unchanged: it is its own name server (GET_ROUTEINFO_BY_TOPIC answers a route to itself with
 * `--queues` queues) and its own broker (SEND_MESSAGE_V2 is appended and acknowledged). Every other
 * request is answered SUCCESS with no body (heartbeats, unregistering).
 *
 * The log file is the raw request frames back to back, exactly as they arrived:
 *
 *   int32 totalLen | int32 (serializeType << 24 | headerLen) | JSON header | body     (big-endian)
 *
 * so a torn tail is a frame whose totalLen runs past the end of the file; nothing ever reads it back.
 *
 * Per socket read, the whole frames in the chunk are collected; all connections' frames go to one
 * appender that issues one `writev` per batch (at most IOV_MAX buffers) at the end of the file, then
 * with `--flush sync` one `fdatasync`, and only then acknowledges the batch. Batches that arrive while
 * a write is in flight wait and go out together (group commit). Answers carry msgId (store host +
 * offset, 32 hex digits), queueId 0 and a running queueOffset; the client takes its own queue.
 *
 *   node dist/bench/race/baseline-server.js --dir <dir> [--port 0] [--flush async|sync] [--queues 8]
 *
 * prints `baseline listening on 127.0.0.1:<port>` once it accepts connections.
 */
import { closeSync, fdatasync, mkdirSync, openSync, writev } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeCommand, encodeCommand } from '../../src/protocol/remoting-codec.js';
import { createResponse } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import { encodeTopicRouteData } from '../../src/protocol/route-data.js';

const SEND_MESSAGE_V2 = RequestCode.SEND_MESSAGE_V2;
const IOV_MAX = 1024;
/** A frame larger than this closes the connection (RocketMQ's limit is 16 MiB). */
const MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Bytes waiting for the appender past which reading from sockets pauses. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    port: { type: 'string', default: '0' },
    flush: { type: 'string', default: 'async' },
    queues: { type: 'string', default: '8' },
  },
});
if (values.dir === undefined) throw new Error('--dir is required');
const flushSync = values.flush === 'sync';
const queues = Number(values.queues);
mkdirSync(values.dir, { recursive: true });
const fd = openSync(join(values.dir, 'baseline.log'), 'w');

interface Batch {
  frames: Buffer[];
  opaques: number[];
  socket: Socket;
}

// ---- the appender -----------------------------------------------------------------------------

let waiting: Batch[] = [];
let waitingBytes = 0;
let writing = false;
let filePosition = 0;
let queueOffset = 0;
const pausedSockets = new Set<Socket>();

function enqueue(batch: Batch): void {
  waiting.push(batch);
  for (const frame of batch.frames) waitingBytes += frame.length;
  if (waitingBytes > MAX_PENDING_BYTES && !pausedSockets.has(batch.socket)) {
    batch.socket.pause();
    pausedSockets.add(batch.socket);
  }
  if (!writing) writeWaiting();
}

function writeWaiting(): void {
  const batches = waiting;
  waiting = [];
  waitingBytes = 0;
  if (batches.length === 0) {
    writing = false;
    return;
  }
  writing = true;
  const buffers: Buffer[] = [];
  for (const batch of batches) for (const frame of batch.frames) buffers.push(frame);
  writeAll(buffers, 0, () => {
    if (flushSync) fdatasync(fd, (error) => done(batches, error));
    else done(batches, null);
  });
}

function writeAll(buffers: Buffer[], from: number, then: () => void): void {
  const slice = buffers.slice(from, from + IOV_MAX);
  writev(fd, slice, filePosition, (error, written) => {
    if (error) throw error;
    let expected = 0;
    for (const buffer of slice) expected += buffer.length;
    // A short write is not expected on a regular file; treat it as fatal rather than complicate the mark.
    if (written !== expected) throw new Error(`short write: ${written} of ${expected}`);
    filePosition += written;
    if (from + IOV_MAX < buffers.length) writeAll(buffers, from + IOV_MAX, then);
    else then();
  });
}

function done(batches: Batch[], error: NodeJS.ErrnoException | null): void {
  if (error) throw error;
  for (const batch of batches) acknowledge(batch);
  for (const socket of pausedSockets) socket.resume();
  pausedSockets.clear();
  writeWaiting();
}

// ---- answers ----------------------------------------------------------------------------------

const MSG_ID_PREFIX = '7F00000100002A9F';

function acknowledge(batch: Batch): void {
  if (batch.socket.destroyed) return;
  const frames: Buffer[] = [];
  for (const opaque of batch.opaques) {
    const offset = queueOffset++;
    const header =
      `{"code":0,"extFields":{"msgId":"${MSG_ID_PREFIX}${offset.toString(16).toUpperCase().padStart(16, '0')}","queueId":"0","queueOffset":"${offset}"},` +
      `"flag":1,"language":"JAVA","opaque":${opaque},"serializeTypeCurrentRPC":"JSON","version":479}`;
    const headerBytes = Buffer.byteLength(header);
    const frame = Buffer.allocUnsafe(8 + headerBytes);
    frame.writeInt32BE(4 + headerBytes, 0);
    frame.writeInt32BE(headerBytes, 4);
    frame.write(header, 8, 'latin1');
    frames.push(frame);
  }
  batch.socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
}

/** The integer after `"name":` in a JSON header, or NaN. */
function headerInteger(header: Buffer, needle: Buffer): number {
  const at = header.indexOf(needle);
  if (at < 0) return Number.NaN;
  let index = at + needle.length;
  let sign = 1;
  if (header[index] === 0x2d) {
    sign = -1;
    index++;
  }
  let value = 0;
  for (; index < header.length; index++) {
    const digit = header[index]! - 0x30;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
  }
  return sign * value;
}

const CODE_NEEDLE = Buffer.from('"code":');
const OPAQUE_NEEDLE = Buffer.from('"opaque":');

function answerOther(socket: Socket, frame: Buffer, port: number): void {
  const request = decodeCommand(frame.subarray(4));
  if (request.code === RequestCode.GET_ROUTEINFO_BY_TOPIC) {
    const body = encodeTopicRouteData({
      queueDatas: [{ brokerName: 'baseline', readQueueNums: queues, writeQueueNums: queues, perm: 6, topicSysFlag: 0 }],
      brokerDatas: [{ cluster: 'BaselineCluster', brokerName: 'baseline', brokerAddrs: { '0': `127.0.0.1:${port}` }, enableActingMaster: false }],
      filterServerTable: {},
    });
    socket.write(encodeCommand(createResponse(request, 0, undefined, undefined, body)));
    return;
  }
  if ((request.flag & 2) !== 0) return;
  socket.write(encodeCommand(createResponse(request, 0)));
}

// ---- connections ------------------------------------------------------------------------------

const server = createServer({ noDelay: true }, (socket) => {
  let pending: Buffer | undefined;
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    // Copy only when a frame crosses two reads.
    const data = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    pending = undefined;
    let offset = 0;
    let batch: Batch | undefined;
    while (data.length - offset >= 8) {
      const totalLength = data.readInt32BE(offset);
      if (totalLength < 4 || totalLength > MAX_FRAME_BYTES) {
        socket.destroy();
        return;
      }
      if (data.length - offset < 4 + totalLength) break;
      const frame = data.subarray(offset, offset + 4 + totalLength);
      const headerLength = data.readInt32BE(offset + 4) & 0xffffff;
      const header = frame.subarray(8, 8 + headerLength);
      if (headerInteger(header, CODE_NEEDLE) === SEND_MESSAGE_V2) {
        batch ??= { frames: [], opaques: [], socket };
        batch.frames.push(frame);
        batch.opaques.push(headerInteger(header, OPAQUE_NEEDLE));
      } else {
        answerOther(socket, frame, port);
      }
      offset += 4 + totalLength;
    }
    if (offset < data.length) pending = Buffer.from(data.subarray(offset));
    if (batch !== undefined) enqueue(batch);
  });
});

let port = 0;
server.listen(Number(values.port), '127.0.0.1', () => {
  port = (server.address() as { port: number }).port;
  console.log(`baseline listening on 127.0.0.1:${port}`);
});

const shutdown = (): void => {
  server.close();
  closeSync(fd);
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
