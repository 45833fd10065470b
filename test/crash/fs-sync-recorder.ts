/**
 * Records what a power cut would leave of the files this process writes. It wraps the `fs` functions
 * in place (write, writeSync, FileHandle.write, fsync, fdatasync and their Sync and FileHandle forms),
 * then calls `syncBuiltinESMExports()` so code that did `import { fdatasync } from 'node:fs'` sees the
 * wrappers too. Await `installSyncRecorder` BEFORE importing the store.
 *
 * Files are tracked by inode, so renames (temp file + rename) need no bookkeeping and a deleted then
 * re-created path is a different file. Every operation takes the next number of one counter.
 *
 * Sidecar log `<log>` (text, one line per event, tab separated, written with writeSync):
 *
 *   P <n> <ino> <position> <oldLength> <undoOffset>   a positional write is about to start; the
 *       <oldLength> bytes it overwrites (those inside the file) are saved at <undoOffset> of
 *       `<log>.undo`, or <undoOffset> is -1 when they were all zeros (sparse or pre-written space)
 *   C <n> <writeN>                                    the write numbered <writeN> completed
 *   S <n> <ino> <sizeBytes> <callN>                   a sync of the file completed; it was called
 *       at counter <callN>, when the file was <sizeBytes> long
 *
 * A write is durable iff it completed before the call of a completed sync of its inode. The S line
 * is written before the caller's callback runs, so anything the caller acknowledges after a sync is
 * ordered after its line. Writes without an explicit position (appends) are not undone; the length
 * captured at sync covers them.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

type Callback = (error: NodeJS.ErrnoException | null, ...results: unknown[]) => void;

/** Old bytes are read and compared in chunks of this size. */
const ZERO_CHUNK_BYTES = 1024 * 1024;

export async function installSyncRecorder(logPath: string): Promise<void> {
  const logFd = fs.openSync(logPath, 'a');
  const undoFd = fs.openSync(`${logPath}.undo`, 'a');
  let undoBytes = 0;
  let counter = 0;
  const zeros = Buffer.alloc(ZERO_CHUNK_BYTES);
  const originalWriteSync = fs.writeSync;
  const originalReadSync = fs.readSync;
  const writeLine = (line: string): void => {
    originalWriteSync(logFd, line);
  };

  const inodeOf = (fd: number): { ino: number; size: number } | null => {
    try {
      const stats = fs.fstatSync(fd);
      return stats.isFile() ? { ino: stats.ino, size: stats.size } : null;
    } catch {
      return null;
    }
  };

  /** Reads the bytes a write is about to overwrite; a write-only descriptor is reopened for reading. */
  const readOld = (fd: number, position: number, length: number): Buffer => {
    const old = Buffer.alloc(length);
    let readFd = fd;
    let reopened = false;
    try {
      try {
        originalReadSync(fd, old, 0, length, position);
      } catch {
        readFd = fs.openSync(`/proc/self/fd/${fd}`, 'r');
        reopened = true;
        originalReadSync(readFd, old, 0, length, position);
      }
    } finally {
      if (reopened) fs.closeSync(readFd);
    }
    return old;
  };

  const isAllZero = (buffer: Buffer): boolean => {
    for (let at = 0; at < buffer.length; at += ZERO_CHUNK_BYTES) {
      const end = Math.min(buffer.length, at + ZERO_CHUNK_BYTES);
      if (!buffer.subarray(at, end).equals(zeros.subarray(0, end - at))) return false;
    }
    return true;
  };

  /** Logs a write about to happen; returns its number, or 0 when it is not tracked. */
  const beforeWrite = (fd: number, length: number, position: unknown): number => {
    if (typeof position !== 'number' || position < 0 || length <= 0) return 0;
    const file = inodeOf(fd);
    if (file === null) return 0;
    const oldLength = Math.max(0, Math.min(length, file.size - position));
    let undoOffset = -1;
    if (oldLength > 0) {
      const old = readOld(fd, position, oldLength);
      if (!isAllZero(old)) {
        undoOffset = undoBytes;
        originalWriteSync(undoFd, old);
        undoBytes += old.length;
      }
    }
    const n = ++counter;
    writeLine(`P\t${n}\t${file.ino}\t${position}\t${oldLength}\t${undoOffset}\n`);
    return n;
  };
  const afterWrite = (writeN: number): void => {
    if (writeN !== 0) writeLine(`C\t${++counter}\t${writeN}\n`);
  };

  const beforeSync = (fd: number): { ino: number; size: number; callN: number } | null => {
    const file = inodeOf(fd);
    return file === null ? null : { ...file, callN: ++counter };
  };
  const afterSync = (call: { ino: number; size: number; callN: number } | null): void => {
    if (call !== null) writeLine(`S\t${++counter}\t${call.ino}\t${call.size}\t${call.callN}\n`);
  };

  const patch = (target: object, name: string, replacement: unknown): void => {
    (target as Record<string, unknown>)[name] = replacement;
  };

  // Writes. Only the Buffer/TypedArray forms carry a position; string forms pass through untracked.
  patch(fs, 'writeSync', (fd: number, buffer: NodeJS.ArrayBufferView | string, ...rest: unknown[]): number => {
    let writeN = 0;
    if (typeof buffer !== 'string') {
      const offset = typeof rest[0] === 'number' ? rest[0] : 0;
      const length = typeof rest[1] === 'number' ? rest[1] : buffer.byteLength - offset;
      writeN = beforeWrite(fd, length, rest[2]);
    }
    const written = (originalWriteSync as (...args: unknown[]) => number)(fd, buffer, ...rest);
    afterWrite(writeN);
    return written;
  });
  const originalWrite = fs.write;
  patch(fs, 'write', (fd: number, buffer: NodeJS.ArrayBufferView | string, ...rest: unknown[]): void => {
    const callback = rest.pop() as Callback;
    let writeN = 0;
    if (typeof buffer !== 'string') {
      const offset = typeof rest[0] === 'number' ? rest[0] : 0;
      const length = typeof rest[1] === 'number' ? rest[1] : buffer.byteLength - offset;
      writeN = beforeWrite(fd, length, rest[2]);
    }
    (originalWrite as (...args: unknown[]) => void)(fd, buffer, ...rest, (error: NodeJS.ErrnoException | null, ...results: unknown[]) => {
      if (!error) afterWrite(writeN);
      callback(error, ...results);
    });
  });

  // Syncs, callback and Sync forms.
  for (const name of ['fsync', 'fdatasync'] as const) {
    const original = fs[name];
    patch(fs, name, (fd: number, callback: Callback): void => {
      const call = beforeSync(fd);
      original(fd, (error) => {
        if (!error) afterSync(call);
        callback(error);
      });
    });
  }
  for (const name of ['fsyncSync', 'fdatasyncSync'] as const) {
    const original = fs[name];
    patch(fs, name, (fd: number): void => {
      const call = beforeSync(fd);
      original(fd);
      afterSync(call);
    });
  }

  // FileHandle: the class is not exported, so its prototype is reached through a handle.
  const probe = await fs.promises.open(logPath, 'r');
  const fileHandlePrototype = Object.getPrototypeOf(probe) as Record<string, unknown>;
  await probe.close();
  for (const name of ['sync', 'datasync'] as const) {
    const original = fileHandlePrototype[name] as (this: { fd: number }) => Promise<void>;
    fileHandlePrototype[name] = async function wrappedSync(this: { fd: number }): Promise<void> {
      const call = beforeSync(this.fd);
      await original.call(this);
      afterSync(call);
    };
  }
  const originalHandleWrite = fileHandlePrototype.write as (this: { fd: number }, ...args: unknown[]) => Promise<unknown>;
  fileHandlePrototype.write = async function wrappedWrite(this: { fd: number }, buffer: unknown, ...rest: unknown[]): Promise<unknown> {
    let writeN = 0;
    if (ArrayBuffer.isView(buffer)) {
      const offset = typeof rest[0] === 'number' ? rest[0] : 0;
      const length = typeof rest[1] === 'number' ? rest[1] : buffer.byteLength - offset;
      writeN = beforeWrite(this.fd, length, rest[2]);
    }
    const result = await originalHandleWrite.call(this, buffer, ...rest);
    afterWrite(writeN);
    return result;
  };

  syncBuiltinESMExports();
}
