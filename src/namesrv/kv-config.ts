/**
 * The name server's KV config: namespace → key → value (e.g. ORDER_TOPIC_CONFIG → topic →
 * "broker-a:4;broker-b:4"). Held in memory; when a path is given, every change is written to it as
 * `{"configTable":{namespace:{key:value}}}` — the same file Java writes to
 * `~/namesrv/kvConfig.json`, so an existing one loads — through a temp file, fdatasync and rename,
 * so a crash leaves either the old or the new file, never a torn one.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TideError } from '../common/errors.js';
import { toFastJson, parseFastJson, fastJsonEntries } from '../protocol/fastjson.js';

export interface KvConfigOptions {
  /** File to load from and persist to; memory only when absent. */
  path?: string | undefined;
  /** Most key/value pairs over all namespaces. */
  maxEntryCount?: number;
  /** Longest namespace, key or value, in UTF-16 code units. */
  maxTextLength?: number;
}

export class KvConfig {
  private readonly table = new Map<string, Map<string, string>>();
  private readonly path: string | undefined;
  private readonly maxEntryCount: number;
  private readonly maxTextLength: number;
  private entryCount = 0;
  /** Writes run one after another; each writes the then-current table. */
  private persistChain: Promise<void> = Promise.resolve();

  constructor(options: KvConfigOptions = {}) {
    this.path = options.path;
    this.maxEntryCount = options.maxEntryCount ?? 100_000;
    this.maxTextLength = options.maxTextLength ?? 64 * 1024;
  }

  /** Loads the file if there is one. A file that is not valid KV JSON is an error, not an empty table. */
  async load(): Promise<void> {
    if (this.path === undefined) return;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    if (text.trim().length === 0) return;
    const parsed = parseFastJson(text);
    const root = fastJsonEntries(parsed).find(([key]) => key === 'configTable')?.[1];
    for (const [namespace, pairs] of fastJsonEntries(root)) {
      for (const [key, value] of fastJsonEntries(pairs)) {
        if (typeof namespace !== 'string' || typeof key !== 'string' || typeof value !== 'string') {
          throw new TideError('INVALID_PARAMETER', `${this.path}: configTable entries must be strings`);
        }
        this.set(namespace, key, value);
      }
    }
  }

  get(namespace: string, key: string): string | undefined {
    return this.table.get(namespace)?.get(key);
  }

  /** All pairs of a namespace, or undefined when it has none. */
  listNamespace(namespace: string): Record<string, string> | undefined {
    const pairs = this.table.get(namespace);
    if (pairs === undefined || pairs.size === 0) return undefined;
    return toRecord(pairs);
  }

  /** Sets a value; resolves once it is on disk (at once without a path). */
  async put(namespace: string, key: string, value: string): Promise<void> {
    for (const [what, text] of [['namespace', namespace], ['key', key], ['value', value]] as const) {
      if (text.length > this.maxTextLength) throw new TideError('INVALID_PARAMETER', `${what} is longer than ${this.maxTextLength} characters`);
    }
    this.set(namespace, key, value);
    await this.persist();
  }

  async delete(namespace: string, key: string): Promise<void> {
    const pairs = this.table.get(namespace);
    if (pairs === undefined || !pairs.delete(key)) return;
    this.entryCount--;
    if (pairs.size === 0) this.table.delete(namespace);
    await this.persist();
  }

  private set(namespace: string, key: string, value: string): void {
    let pairs = this.table.get(namespace);
    const isNew = pairs === undefined || !pairs.has(key);
    if (isNew && this.entryCount >= this.maxEntryCount) {
      throw new TideError('SYSTEM_BUSY', `the KV config already holds ${this.maxEntryCount} entries`);
    }
    if (pairs === undefined) this.table.set(namespace, (pairs = new Map()));
    pairs.set(key, value);
    if (isNew) this.entryCount++;
  }

  private persist(): Promise<void> {
    const path = this.path;
    if (path === undefined) return Promise.resolve();
    const write = async (): Promise<void> => {
      const configTable = new Map<string, Map<string, string>>();
      for (const [namespace, pairs] of this.table) configTable.set(namespace, new Map(pairs));
      const content = toFastJson({ configTable });
      await mkdir(dirname(path), { recursive: true });
      const temporaryPath = `${path}.tmp`;
      const handle = await open(temporaryPath, 'w');
      try {
        await handle.writeFile(content, 'utf8');
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(temporaryPath, path);
    };
    // A failed write must not poison later ones, but its caller still sees the failure.
    const result = this.persistChain.then(write, write);
    this.persistChain = result.catch(() => undefined);
    return result;
  }
}

function toRecord(pairs: Map<string, string>): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [key, value] of pairs) Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  return record;
}
