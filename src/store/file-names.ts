/**
 * Commit-log segments and consume-queue files are named by the offset of their first byte, written as
 * 20 zero-padded decimal digits (RocketMQ's naming), so a directory listing sorted by name is sorted
 * by offset.
 */
import { readdirSync } from 'node:fs';

export const OFFSET_FILE_NAME_DIGITS = 20;

export function offsetFileName(offset: number): string {
  return String(offset).padStart(OFFSET_FILE_NAME_DIGITS, '0');
}

/** The offset a file name stands for, or null when the name is not 20 digits (temp files, strays). */
export function parseOffsetFileName(name: string): number | null {
  if (name.length !== OFFSET_FILE_NAME_DIGITS || !/^[0-9]+$/.test(name)) return null;
  const offset = Number(name);
  return Number.isSafeInteger(offset) ? offset : null;
}

export interface OffsetFile {
  readonly name: string;
  readonly offset: number;
}

/** The offset-named files of a directory in offset order; an absent directory has none. */
export function listOffsetFiles(directory: string): OffsetFile[] {
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files: OffsetFile[] = [];
  for (const name of names) {
    const offset = parseOffsetFileName(name);
    if (offset !== null) files.push({ name, offset });
  }
  files.sort((a, b) => a.offset - b.offset);
  return files;
}
