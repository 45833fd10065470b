/**
 * A small metadata file (`config/topics.json`, `consumerOffset.json`, ...) written the crash-safe way:
 * the whole content goes to `<file>.tmp`, is fdatasync'ed, renamed over the file, and the directory is
 * fsync'ed, so after a crash the file holds either the old or the new content, never a torn mix.
 * Saves are coalesced: while one write runs, later requests collapse into one more write of the
 * newest snapshot, so a burst of changes costs at most two writes.
 */
import { promises as fs, readFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export class DurableJsonFile {
  private writing: Promise<void> | null = null;
  private pending: Promise<void> | null = null;

  /** `snapshot` is called right before each write, so it always sees the newest state. */
  constructor(readonly path: string, private readonly snapshot: () => unknown) {}

  /** Reads and parses the file; undefined when it does not exist. Throws on unparsable content. */
  load(): unknown {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    if (text.trim().length === 0) return undefined;
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new Error(`${this.path} is not valid JSON: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Resolves once a write that started after this call has reached the disk. */
  save(): Promise<void> {
    if (this.writing === null) {
      this.writing = this.writeNow().finally(() => {
        this.writing = null;
      });
      return this.writing;
    }
    if (this.pending === null) {
      const previous = this.writing;
      this.pending = previous.catch(() => undefined).then(() => {
        this.pending = null;
        return this.save();
      });
    }
    return this.pending;
  }

  private async writeNow(): Promise<void> {
    const text = JSON.stringify(this.snapshot(), null, 2);
    const directory = dirname(this.path);
    mkdirSync(directory, { recursive: true });
    const temporaryPath = `${this.path}.tmp`;
    const handle = await fs.open(temporaryPath, 'w');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await fs.rename(temporaryPath, this.path);
    // The rename is durable only once the directory entry is.
    const directoryHandle = await fs.open(directory, 'r');
    try {
      await directoryHandle.sync();
    } finally {
      await directoryHandle.close();
    }
  }
}
