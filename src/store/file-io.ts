/**
 * The two file operations whose failure the store must surface: positional writes and fdatasync.
 * Everything that makes data durable goes through this object, so a test can count the calls, make
 * them fail or make them hang, and prove how the store answers.
 */
import { fdatasync, writeSync } from 'node:fs';

export interface FileIo {
  /** Writes all `length` bytes at `position`, synchronously; throws on failure. */
  write(fd: number, buffer: Buffer, offset: number, length: number, position: number): void;
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
  fdatasync(fd, callback) {
    fdatasync(fd, callback);
  },
};

/** fdatasync as a promise, for the paths off the append hot path. */
export function fdatasyncAsync(io: FileIo, fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    io.fdatasync(fd, (error) => (error ? reject(error) : resolve()));
  });
}
