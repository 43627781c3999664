/**
 * One JSON state file managed through lowdb, with the guarantees SPEC §5 asks for:
 * atomic replace (temp file, fsync, rename), commits that resolve only once the
 * bytes are on disk, coalesced background writes (at most one per `coalesceMs`),
 * a refusal — never an overwrite — when the file does not parse, and a last good
 * copy (`<file>.bak`) refreshed after every successful start.
 */
import { open, readFile, rename, rm, copyFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Low } from 'lowdb';
import type { Adapter } from 'lowdb';
import { StoreError } from '../core/errors.js';

/** A lowdb adapter that writes compact JSON durably: temp file + fsync + rename. */
class DurableJsonFile<T> implements Adapter<T> {
  readonly tmp: string;
  constructor(readonly path: string) {
    this.tmp = join(dirname(path), `.${basename(path)}.tmp`);
  }
  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    return JSON.parse(text) as T;
  }
  async write(data: T): Promise<void> {
    const fh = await open(this.tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(data));
      // fsync before rename: a Pi on an SD card loses power more often than it crashes.
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(this.tmp, this.path);
  }
}

export interface StateFileOptions<T> {
  /** Absolute path of the JSON file. */
  path: string;
  /** Data for a file that does not exist yet. */
  initial: () => T;
  /** Checks and upgrades what was read; throws a message (string) saying what is wrong. */
  validate: (raw: unknown) => T;
  /** Minimum milliseconds between two background writes. Default 1000. */
  coalesceMs?: number;
  onWriteError?: (err: unknown) => void;
}

export class StateFile<T> {
  readonly path: string;
  private readonly db: Low<T>;
  private readonly adapter: DurableJsonFile<T>;
  private readonly coalesceMs: number;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private dirty = false;
  /** Writes completed so far (for health and tests). */
  writes = 0;
  lastWriteMs = 0;
  lastError: string | undefined;

  private constructor(
    private readonly opts: StateFileOptions<T>,
    data: T,
  ) {
    this.path = opts.path;
    this.adapter = new DurableJsonFile<T>(opts.path);
    this.db = new Low<T>(this.adapter, data);
    this.db.data = data;
    this.coalesceMs = opts.coalesceMs ?? 1000;
  }

  get data(): T {
    return this.db.data;
  }

  /** Opens the file, refusing to start on a file that does not parse or validate. */
  static async open<T>(opts: StateFileOptions<T>): Promise<StateFile<T>> {
    const adapter = new DurableJsonFile<T>(opts.path);
    // A temp file is what a kill -9 mid-write leaves; the real file is still whole.
    await rm(adapter.tmp, { force: true });
    // Read here rather than through the adapter: a file holding `null` must be refused,
    // not mistaken for a missing file and silently replaced with defaults.
    let raw: unknown;
    let exists = true;
    try {
      raw = JSON.parse(await readFile(opts.path, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') exists = false;
      else
        throw new StoreError(
          await refusal(
            opts.path,
            e instanceof SyntaxError
              ? `is not valid JSON (${e.message})`
              : `cannot be read (${(e as Error).message})`,
          ),
        );
    }
    let data: T;
    if (!exists) {
      data = opts.initial();
    } else {
      try {
        data = opts.validate(raw);
      } catch (e) {
        throw new StoreError(
          await refusal(
            opts.path,
            `is not a Lookout data file: ${e instanceof Error ? e.message : String(e)}`,
          ),
        );
      }
    }
    const file = new StateFile<T>(opts, data);
    // Persist at once: creates a new file, applies migrations, and proves the directory is writable.
    await file.commit();
    await copyFile(opts.path, `${opts.path}.bak`);
    return file;
  }

  /** Schedules a coalesced write: at most one per `coalesceMs`. */
  markDirty(): void {
    this.dirty = true;
    if (!this.timer && !this.writing)
      this.timer = setTimeout(() => void this.flushQuietly(), this.coalesceMs);
  }

  /** Writes now and resolves once the current data is on disk. Use before acknowledging a change. */
  async commit(): Promise<void> {
    this.dirty = true;
    await this.flush();
  }

  /** Writes if anything changed; waits for a write in flight, then writes the newest data. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.writing) await this.writing.catch(() => undefined);
    if (!this.dirty) return;
    this.dirty = false;
    const started = performance.now();
    this.writing = this.db.write().then(
      () => {
        this.writes++;
        this.lastWriteMs = performance.now() - started;
        this.lastError = undefined;
      },
      (e: unknown) => {
        this.dirty = true;
        this.lastError = (e as Error).message;
        throw e;
      },
    );
    try {
      await this.writing;
    } finally {
      this.writing = undefined;
      if (this.dirty && !this.timer) this.timer = setTimeout(() => void this.flushQuietly(), this.coalesceMs);
    }
  }

  private async flushQuietly(): Promise<void> {
    this.timer = undefined;
    try {
      await this.flush();
    } catch (e) {
      this.opts.onWriteError?.(e);
    }
  }

  /** Final write; stops the background timer. */
  async close(): Promise<void> {
    await this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

async function refusal(path: string, why: string): Promise<string> {
  const bak = `${path}.bak`;
  let restore = `There is no last good copy (${basename(bak)}); move the file away to start with an empty one.`;
  try {
    const s = await stat(bak);
    restore = `The last good copy is ${bak} (saved ${s.mtime.toISOString()}). To restore it, stop Lookout and run: cp '${bak}' '${path}'`;
  } catch {
    /* no backup */
  }
  return `${path} ${why}. Lookout did not start and left the file untouched. ${restore}`;
}
