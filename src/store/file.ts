/**
 * One JSON state file managed through lowdb, with the guarantees SPEC §5 asks for:
 * atomic replace (temp file, fsync, rename), commits that resolve only once the
 * bytes are on disk, coalesced background writes (at most one per `coalesceMs`),
 * a refusal — never an overwrite — when the file does not parse, and a last good
 * copy (`<file>.bak`) refreshed after every successful start.
 *
 * A file whose bulk is a map of records changing a few at a time (each target's live
 * state, each target's samples of the hour) can keep those changes in a journal
 * beside it, `<file>.journal`: one JSON line per changed record, appended (and
 * fdatasync'ed) at most once per `coalesceMs`. Rewriting the whole file every second
 * instead cost ~8% of a core at 10,000 targets (1.2 MB of JSON.stringify for state.json
 * alone) and an SD card's worth of wear. The journal is folded into the file when it
 * outgrows it, at start-up, on commit() and at shutdown.
 */
import { open, readFile, rename, rm, copyFile, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
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
  write(data: T): Promise<void> {
    // Serialised before the first await: the file is the data as it was when the write began.
    return this.writeText(JSON.stringify(data));
  }
  async writeText(text: string): Promise<void> {
    const fh = await open(this.tmp, 'w');
    try {
      await fh.writeFile(text);
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
  /**
   * A top-level map of records (`{ name: record }`) kept in a journal: change a record
   * with `touch(name)`; `markDirty()` then stands for the other top-level values.
   */
  journal?: string;
}

/**
 * The journal is folded into the file once it is larger than the file, or this: the
 * rewrites then cost at most about as much as the appends they replace.
 */
const JOURNAL_MIN_BYTES = 256 * 1024;

export class StateFile<T> {
  readonly path: string;
  /** `<path>.journal` when the file keeps one. */
  readonly journalPath: string | undefined;
  private readonly db: Low<T>;
  private readonly adapter: DurableJsonFile<T>;
  private readonly coalesceMs: number;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private held: Promise<unknown> | undefined;
  private dirty = false;
  private journalFh: FileHandle | undefined;
  private journalBytes = 0;
  private fileBytes = 0;
  /** Records touched since the last write. */
  private readonly touched = new Set<string>();
  /** The next write must be the whole file: after a failed write, or on commit(). */
  private whole = false;
  /** The journal may end in part of a line that could not be cut off. */
  private torn = false;
  /** The top-level values other than the records, as last written. */
  private lastTop = '';
  /** Writes completed so far (for health and tests). */
  writes = 0;
  lastWriteMs = 0;
  lastError: string | undefined;

  private constructor(
    private readonly opts: StateFileOptions<T>,
    data: T,
  ) {
    this.path = opts.path;
    this.journalPath = opts.journal ? `${opts.path}.journal` : undefined;
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
    const journal = opts.journal ? await readJournal(`${opts.path}.journal`) : undefined;
    if (journal?.entries.length) {
      if (!exists) {
        raw = opts.initial();
        exists = true;
      }
      replay(raw, opts.journal as string, journal.entries);
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
    if (file.journalPath) {
      file.journalFh = await open(file.journalPath, 'a');
      file.journalBytes = journal?.bytes ?? 0;
    }
    // Persist at once: creates a new file, folds in the journal, applies migrations, and
    // proves the directory is writable.
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

  /** Schedules a coalesced write of one record of the journaled map (changed, added or deleted). */
  touch(key: string): void {
    // Without a journal the whole file is written anyway.
    if (this.journalPath) this.touched.add(key);
    this.markDirty();
  }

  /**
   * Background writes wait until `work` settles; writes on demand (commit, flush) too.
   * For data that must not reach the disk before something else has.
   */
  hold(work: Promise<unknown>): void {
    const held = work.then(
      () => undefined,
      () => undefined,
    );
    this.held = held;
    void held.then(() => {
      if (this.held === held) this.held = undefined;
    });
  }

  /** Writes the whole file now and resolves once the current data is on disk. Use before acknowledging a change. */
  async commit(): Promise<void> {
    this.whole = true;
    this.dirty = true;
    await this.flush();
  }

  /** Writes if anything changed; waits for a write in flight, then writes the newest data. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.writing ?? this.held) await (this.writing ?? this.held)?.catch(() => undefined);
    if (!this.dirty) return;
    this.dirty = false;
    const started = performance.now();
    this.writing = this.write().then(
      () => {
        this.writes++;
        this.lastWriteMs = performance.now() - started;
        this.lastError = undefined;
      },
      (e: unknown) => {
        // What was written of it is unknown: the whole file next time.
        this.dirty = true;
        this.whole = true;
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

  /** Everything below runs synchronously up to its first await, so each write is one moment's data. */
  private write(): Promise<void> {
    if (!this.journalFh) return this.db.write();
    if (this.whole || this.torn || this.journalBytes >= Math.max(this.fileBytes, JOURNAL_MIN_BYTES))
      return this.rewrite();
    const lines = this.journalLines();
    return lines ? this.append(lines) : Promise.resolve();
  }

  private async rewrite(): Promise<void> {
    this.whole = false;
    const lines = this.journalLines();
    const text = JSON.stringify(this.data);
    // The journal gets the records' current values first: if Lookout dies between the
    // rename and the truncation, replaying it over the new file then changes nothing.
    if (lines && this.journalBytes > 0 && !this.torn) await this.append(lines);
    await this.adapter.writeText(text);
    this.fileBytes = text.length;
    if (this.journalFh && (this.journalBytes > 0 || this.torn)) {
      await this.journalFh.truncate(0);
      this.journalBytes = 0;
      this.torn = false;
    }
  }

  private async append(lines: string): Promise<void> {
    const fh = this.journalFh as FileHandle;
    const buf = Buffer.from(lines);
    try {
      const { bytesWritten } = await fh.write(buf);
      if (bytesWritten !== buf.length) throw new Error(`${this.journalPath}: short write (disk full?)`);
      await fh.datasync();
    } catch (e) {
      // Part of a line with the next append after it would read as a broken entry at
      // start-up: cut it off, or have the next write skip the journal and empty it.
      await fh.truncate(this.journalBytes).catch(() => (this.torn = true));
      throw e;
    }
    this.journalBytes += buf.length;
  }

  /** One JSON line per touched record (`[key, value]`, null when deleted), then the other top-level values if they changed. */
  private journalLines(): string {
    const all = this.data as Record<string, unknown>;
    const key = this.opts.journal as string;
    const records = all[key] as Record<string, unknown>;
    let out = '';
    for (const k of this.touched) out += `${JSON.stringify([k, records[k] ?? null])}\n`;
    this.touched.clear();
    const rest: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(all)) if (k !== key) rest[k] = v;
    const top = JSON.stringify(rest);
    if (top !== this.lastTop) {
      out += `${top}\n`;
      this.lastTop = top;
    }
    return out;
  }

  private async flushQuietly(): Promise<void> {
    this.timer = undefined;
    try {
      await this.flush();
    } catch (e) {
      this.opts.onWriteError?.(e);
    }
  }

  /** Final write (the whole file, so a stopped Lookout leaves no journal to replay); stops the background timer. */
  async close(): Promise<void> {
    if (this.journalFh && (this.dirty || this.journalBytes > 0)) this.whole = this.dirty = true;
    await this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.journalFh?.close();
    this.journalFh = undefined;
  }
}

interface Journal {
  bytes: number;
  entries: Array<[string, unknown] | Record<string, unknown>>;
}

async function readJournal(path: string): Promise<Journal | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StoreError(`${path} cannot be read (${(e as Error).message}). Lookout did not start.`);
  }
  const lines = text.split('\n');
  // What follows the last newline is empty, or the part of a line a kill -9 cut short: never acknowledged.
  lines.pop();
  const entries: Journal['entries'] = [];
  for (const [i, line] of lines.entries()) {
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      entry = undefined;
    }
    const ok =
      entry !== null &&
      typeof entry === 'object' &&
      (!Array.isArray(entry) || (entry.length === 2 && typeof entry[0] === 'string'));
    if (!ok)
      throw new StoreError(
        `${path} line ${i + 1} is not a journal entry. Lookout did not start and left the file untouched. ` +
          `Moving the journal away loses at most the changes since ${basename(path, '.journal')} was last written whole.`,
      );
    entries.push(entry as Journal['entries'][number]);
  }
  return { bytes: Buffer.byteLength(text), entries };
}

/** Applies journal entries to what was read from the file; a file of the wrong shape is left for validate() to refuse. */
function replay(raw: unknown, key: string, entries: Journal['entries']): void {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return;
  const top = raw as Record<string, unknown>;
  const records = top[key];
  if (records === null || typeof records !== 'object' || Array.isArray(records)) return;
  const map = records as Record<string, unknown>;
  for (const e of entries) {
    if (Array.isArray(e)) {
      if (e[1] === null) delete map[e[0]];
      else map[e[0]] = e[1];
    } else {
      for (const [k, v] of Object.entries(e)) if (k !== key) top[k] = v;
    }
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
