/**
 * A deliberately tiny RocketMQ remoting client for tests: JSON headers only, one socket, requests
 * matched to answers by `opaque`. It is written independently of src/remoting so that compatibility
 * tests check the broker against the wire format itself rather than against our own client.
 *
 * Frame layout (all big-endian): int32 totalLength (bytes after this field) | int32 (serializeType << 24
 * | headerLength) | JSON header | body. serializeType 0 = JSON; a binary (1) header is rejected.
 */
import { connect, type Socket } from 'node:net';

export interface ProbeResponse {
  code: number;
  remark: string | null;
  extFields: Record<string, string>;
  body: Buffer;
}

interface PendingRequest {
  resolve: (response: ProbeResponse) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** Frames larger than this are treated as a broken stream (Java accepts up to 16 MiB). */
const MAX_FRAME_BYTES = 16 * 1024 * 1024;

export class RemotingProbe {
  private readonly pending = new Map<number, PendingRequest>();
  private received: Buffer = Buffer.alloc(0);
  private nextOpaque = 1;
  private closedError: Error | null = null;

  private constructor(private readonly socket: Socket, readonly address: string) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.failAll(error));
    socket.on('close', () => this.failAll(new Error(`connection to ${address} closed`)));
  }

  /** Connects to `host:port`. */
  static connect(address: string, timeoutMs = 5_000): Promise<RemotingProbe> {
    const colon = address.lastIndexOf(':');
    const host = address.slice(0, colon);
    const port = Number(address.slice(colon + 1));
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${address} timed out`));
      }, timeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RemotingProbe(socket, address));
      });
    });
  }

  /** Sends one request and resolves with the answer (rejects on timeout or close). */
  invoke(code: number, extFields: Record<string, string | number | boolean> = {}, body?: Buffer, timeoutMs = 5_000): Promise<ProbeResponse> {
    if (this.closedError) return Promise.reject(this.closedError);
    const opaque = this.nextOpaque++;
    const fields: Record<string, string> = {};
    for (const [key, value] of Object.entries(extFields)) fields[key] = String(value);
    const header = Buffer.from(JSON.stringify({ code, language: 'JAVA', version: 401, opaque, flag: 0, extFields: fields }));
    const bodyBytes = body ?? Buffer.alloc(0);
    const frame = Buffer.allocUnsafe(8);
    frame.writeInt32BE(4 + header.length + bodyBytes.length, 0);
    frame.writeInt32BE(header.length, 4);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(opaque);
        reject(new Error(`request code ${code} to ${this.address} got no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(opaque, { resolve, reject, timer });
      this.socket.write(Buffer.concat([frame, header, bodyBytes]));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    while (this.received.length >= 4) {
      const totalLength = this.received.readInt32BE(0);
      if (totalLength < 4 || totalLength > MAX_FRAME_BYTES) {
        this.socket.destroy(new Error(`bad frame length ${totalLength} from ${this.address}`));
        return;
      }
      if (this.received.length < 4 + totalLength) return;
      const frame = this.received.subarray(4, 4 + totalLength);
      this.received = this.received.subarray(4 + totalLength);
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Buffer): void {
    const marker = frame.readInt32BE(0);
    const serializeType = (marker >>> 24) & 0xff;
    const headerLength = marker & 0xffffff;
    if (serializeType !== 0) {
      this.socket.destroy(new Error(`broker answered with serialize type ${serializeType}; clients like ali-ons only read JSON`));
      return;
    }
    const header = JSON.parse(frame.toString('utf8', 4, 4 + headerLength)) as {
      code: number; opaque: number; flag?: number; remark?: string; extFields?: Record<string, unknown>;
    };
    if (((header.flag ?? 0) & 1) === 0) return; // A request from the broker (e.g. NOTIFY_CONSUMER_IDS_CHANGED); tests ignore them.
    const waiting = this.pending.get(header.opaque);
    if (!waiting) return;
    this.pending.delete(header.opaque);
    clearTimeout(waiting.timer);
    const extFields: Record<string, string> = {};
    for (const [key, value] of Object.entries(header.extFields ?? {})) extFields[key] = String(value);
    waiting.resolve({ code: header.code, remark: header.remark ?? null, extFields, body: Buffer.from(frame.subarray(4 + headerLength)) });
  }

  private failAll(error: Error): void {
    this.closedError ??= error;
    for (const waiting of this.pending.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(error);
    }
    this.pending.clear();
  }
}

/** One request on a fresh connection. */
export async function invokeOnce(
  address: string,
  code: number,
  extFields: Record<string, string | number | boolean> = {},
  body?: Buffer,
  timeoutMs = 5_000,
): Promise<ProbeResponse> {
  const probe = await RemotingProbe.connect(address);
  try {
    return await probe.invoke(code, extFields, body, timeoutMs);
  } finally {
    probe.close();
  }
}
