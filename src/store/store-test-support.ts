/**
 * Helpers shared by the store's tests: temp directories, message inputs, a logger that records what
 * it is told, and a FileIo that counts, fails or holds fdatasync calls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { javaStringHashCode } from '../common/java-hash.js';
import { encodeProperties } from '../protocol/message-properties.js';
import { parseHostAddress } from '../protocol/host-address.js';
import { nodeFileIo, type FileIo } from './file-io.js';
import type { StoreLogger } from './store-logger.js';
import type { AppendInput } from './types.js';

export function makeTempDirectory(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'tidemq-store-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

const bornHost = parseHostAddress('10.0.0.5', 50123);
const storeHost = parseHostAddress('192.168.1.2', 10911);

export interface MessageSpec {
  topic?: string;
  queueId?: number;
  body?: Buffer | string;
  tags?: string;
  keys?: string[];
  uniqueKey?: string;
  sysFlag?: number;
  tagsCode?: number;
}

export function messageInput(spec: MessageSpec = {}): AppendInput {
  const properties: Record<string, string> = {};
  if (spec.tags !== undefined) properties.TAGS = spec.tags;
  if (spec.keys !== undefined && spec.keys.length > 0) properties.KEYS = spec.keys.join(' ');
  if (spec.uniqueKey !== undefined) properties.UNIQ_KEY = spec.uniqueKey;
  const keys = [...(spec.keys ?? [])];
  if (spec.uniqueKey !== undefined) keys.push(spec.uniqueKey);
  return {
    topic: spec.topic ?? 'TopicTest',
    queueId: spec.queueId ?? 0,
    flag: 0,
    sysFlag: spec.sysFlag ?? 0,
    bornTimestamp: 1_700_000_000_000,
    bornHost,
    storeHost,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    body: typeof spec.body === 'string' ? Buffer.from(spec.body) : (spec.body ?? Buffer.from('hello')),
    properties: encodeProperties(properties),
    tagsCode: spec.tagsCode ?? (spec.tags === undefined ? 0 : javaStringHashCode(spec.tags)),
    keys,
  };
}

export interface RecordingLogger extends StoreLogger {
  readonly errors: unknown[][];
  readonly warnings: unknown[][];
}

export function recordingLogger(): RecordingLogger {
  const errors: unknown[][] = [];
  const warnings: unknown[][] = [];
  return {
    errors,
    warnings,
    info() {},
    warn: (...args: unknown[]) => void warnings.push(args),
    error: (...args: unknown[]) => void errors.push(args),
  };
}

/** A FileIo over the real one that counts calls and can make writes and fdatasync fail, or fdatasync wait. */
export class TestFileIo implements FileIo {
  writeCount = 0;
  fdatasyncCount = 0;
  failWrites: Error | null = null;
  failSyncs: Error | null = null;
  holdSyncs = false;
  private held: (() => void)[] = [];

  write(fd: number, buffer: Buffer, offset: number, length: number, position: number): void {
    this.writeCount++;
    if (this.failWrites !== null) throw this.failWrites;
    nodeFileIo.write(fd, buffer, offset, length, position);
  }

  writeAsync(fd: number, buffer: Buffer, offset: number, length: number, position: number, callback: (error: Error | null) => void): void {
    this.writeCount++;
    const failure = this.failWrites;
    if (failure !== null) {
      setImmediate(() => callback(failure));
      return;
    }
    nodeFileIo.writeAsync!(fd, buffer, offset, length, position, callback);
  }

  fdatasync(fd: number, callback: (error: Error | null) => void): void {
    this.fdatasyncCount++;
    const run = (): void => {
      const failure = this.failSyncs;
      if (failure !== null) {
        setImmediate(() => callback(failure));
        return;
      }
      nodeFileIo.fdatasync(fd, callback);
    };
    if (this.holdSyncs) this.held.push(run);
    else run();
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** Lets the held fdatasync calls run (with the failure setting in force now). */
  release(): void {
    this.holdSyncs = false;
    const held = this.held;
    this.held = [];
    for (const run of held) run();
  }
}
