/**
 * The store lock, `<root>/lock`, holds the decimal pid of the process that has the store open, and
 * the abort marker, `<root>/abort`, exists while a store is open (a crash leaves it behind, which is
 * how the next open knows recovery is abnormal).
 *
 * Node has no flock, so the lock is advisory by pid: a lock naming a live process other than us is
 * refused (STORE_LOCKED); a lock naming a dead process, or our own pid when this process has no
 * store open there (pid reuse after a container restart), is stale and taken over. Two processes
 * taking over the same stale lock in the same instant could both win; that window is accepted.
 */
import { closeSync, fsyncSync, openSync, readFileSync, realpathSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TideError } from '../common/errors.js';
import { fsyncDirectorySync, replaceFileDurablySync, unlinkIfExists } from './durable-fs.js';

export const LOCK_FILE_NAME = 'lock';
export const ABORT_FILE_NAME = 'abort';

/** Roots locked by this process, so a second open in the same process is refused too. */
const lockedRoots = new Set<string>();

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class StoreLock {
  private released = false;

  private constructor(private readonly root: string, private readonly path: string) {}

  /** Takes the lock of `rootDirectory` (which must exist) or throws STORE_LOCKED. */
  static acquire(rootDirectory: string): StoreLock {
    const root = realpathSync(rootDirectory);
    const path = join(root, LOCK_FILE_NAME);
    if (lockedRoots.has(root)) {
      throw new TideError('STORE_LOCKED', `store ${root} is already open in this process`);
    }
    let holder: number | null = null;
    try {
      holder = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (holder !== null && Number.isInteger(holder) && holder > 0 && holder !== process.pid && isProcessAlive(holder)) {
      throw new TideError('STORE_LOCKED', `store ${root} is locked by live process ${holder} (${path})`);
    }
    replaceFileDurablySync(path, Buffer.from(`${process.pid}\n`));
    lockedRoots.add(root);
    return new StoreLock(root, path);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    lockedRoots.delete(this.root);
    unlinkIfExists(this.path);
  }

  /** Forgets the lock in this process without touching the file: what a crash leaves behind. */
  abandon(): void {
    this.released = true;
    lockedRoots.delete(this.root);
  }
}

export function abortMarkerExists(rootDirectory: string): boolean {
  try {
    readFileSync(join(rootDirectory, ABORT_FILE_NAME));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

export function createAbortMarker(rootDirectory: string): void {
  const fd = openSync(join(rootDirectory, ABORT_FILE_NAME), 'w');
  try {
    writeSync(fd, `${process.pid}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  fsyncDirectorySync(rootDirectory);
}

export function removeAbortMarker(rootDirectory: string): void {
  if (unlinkIfExists(join(rootDirectory, ABORT_FILE_NAME))) fsyncDirectorySync(rootDirectory);
}
