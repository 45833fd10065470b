/**
 * Small helpers that make file-system metadata durable: a directory fsync after creating, renaming
 * or deleting an entry, and whole-file replacement by temp file + fsync + rename + directory fsync
 * (used by the checkpoint), so a crash leaves either the old file or the new one, never a torn mix.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

export function fsyncDirectorySync(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `path` with `data` atomically and durably. */
export async function replaceFileDurably(path: string, data: Buffer): Promise<void> {
  const temporaryPath = `${path}.tmp`;
  const handle = await open(temporaryPath, 'w');
  try {
    await handle.write(data, 0, data.length, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporaryPath, path);
  await fsyncDirectory(dirname(path));
}

export function replaceFileDurablySync(path: string, data: Buffer): void {
  const temporaryPath = `${path}.tmp`;
  const fd = openSync(temporaryPath, 'w');
  try {
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written, data.length - written, written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporaryPath, path);
  fsyncDirectorySync(dirname(path));
}

/** Deletes a file if it exists; returns whether it did. */
export function unlinkIfExists(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
