/**
 * History persistence: the pure model in core/history.ts kept in its own file,
 * DATA_DIR/history.json, so the main file that is rewritten every second stays small.
 */
import { join } from 'node:path';
import * as h from '../core/history.js';
import type { HistoryData, RetentionOptions } from '../core/history.js';
import type { CheckResult, Status } from '../core/types.js';
import type { HistoryPort, WindowStats } from '../monitor.js';
import { StateFile } from './file.js';

export class HistoryStore implements HistoryPort {
  private constructor(
    readonly file: StateFile<HistoryData>,
    private readonly retention: RetentionOptions,
  ) {}

  static async open(
    dataDir: string,
    retention: RetentionOptions,
    onWriteError: (e: unknown) => void,
  ): Promise<HistoryStore> {
    const file = await StateFile.open<HistoryData>({
      path: join(dataDir, 'history.json'),
      initial: h.createHistoryData,
      validate: h.validateHistoryData,
      coalesceMs: 1000,
      onWriteError,
    });
    return new HistoryStore(file, retention);
  }

  get data(): HistoryData {
    return this.file.data;
  }

  recordSample(name: string, r: CheckResult): void {
    h.recordSample(this.data, name, r);
    this.file.markDirty();
  }

  recordStatus(name: string, status: Status, at: number): void {
    h.recordStatus(this.data, name, status, at);
    this.file.markDirty();
  }

  removeTarget(name: string): void {
    h.removeTarget(this.data, name);
    this.file.markDirty();
  }

  stats(name: string, from: number, to: number, now: number): WindowStats {
    return h.stats(this.data, name, from, to, now);
  }

  trail(name: string, n: number): Array<{ t: number; ok: boolean; ms: number; code?: string }> {
    return h.trail(this.data, name, n);
  }

  series(name: string, from: number, to: number, now: number): ReturnType<typeof h.series> {
    return h.series(this.data, name, from, to, now);
  }

  dailyUptime(name: string, days: number, now: number): ReturnType<typeof h.dailyUptime> {
    return h.dailyUptime(this.data, name, days, now);
  }

  /** Rolls raw samples into hourly/daily roll-ups and applies retention. */
  compact(now: number): void {
    h.compact(this.data, now, this.retention);
    this.file.markDirty();
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
