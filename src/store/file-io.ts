/**
 * The two file operations whose failure the store must surface: positional writes and fdatasync.
 * Everything that makes data durable goes through this object, so a test can count the calls, make
 * them fail or make them hang, and prove how the store answers.
 */
import { fdatasync, write, writeSync } from 'node:fs';

export interface FileIo {
  /** Writes all `length` bytes at `position`, synchronously; throws on failure. */
  write(fd: number, buffer: Buffer, offset: number, length: number, position: number): void;
  /**
   * Writes all `length` bytes at `position` on the libuv thread pool; `callback` gets the error, if
   * any. Optional: without it `writeAsync` below falls back to `write` (test doubles).
   */
  writeAsync?(fd: number, buffer: Buffer, offset: number, length: number, position: number, callback: (error: Error | null) => void): void;
  /** Starts an fdatasync on the libuv thread pool; `callback` gets the error, if any. */
  fdatasync(fd: number, callback: (error: Error | null) => void): void;
}

export const nodeFileIo: FileIo = {
  write(fd, buffer, offset, length, position) {
    let written = 0;
    // writeSync may write fewer bytes than asked (signals, quotas); loop until all are out.
    while (written < length) {
      written += writeSync(fd, buffer, offset + written, length - written, position + written);
    }
  },
  writeAsync(fd, buffer, offset, length, position, callback) {
    // write(2) may write fewer bytes than asked; continue from where it stopped.
    const step = (done: number): void => {
      if (done >= length) {
        callback(null);
        return;
      }
      write(fd, buffer, offset + done, length - done, position + done, (error, written) => {
        if (error) callback(error);
        else step(done + written);
      });
    };
    step(0);
  },
  fdatasync(fd, callback) {
    fdatasync(fd, callback);
  },
};

/** `io.writeAsync`, or `io.write` run now with the callback on the next turn when it has none. */
export function writeAsync(io: FileIo, fd: number, buffer: Buffer, offset: number, length: number, position: number, callback: (error: Error | null) => void): void {
  if (io.writeAsync !== undefined) {
    io.writeAsync(fd, buffer, offset, length, position, callback);
    return;
  }
  let failure: Error | null = null;
  try {
    io.write(fd, buffer, offset, length, position);
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
  }
  setImmediate(callback, failure);
}

/** fdatasync as a promise, for the paths off the append hot path. */
export function fdatasyncAsync(io: FileIo, fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    io.fdatasync(fd, (error) => (error ? reject(error) : resolve()));
  });
}
