/**
 * History persistence: the pure model in core/history.ts kept in two files beside
 * the main one. `history-hot.json` (samples not yet rolled up, status timeline,
 * ≈ 1 MB at 1,000 targets) journals the targets that got a sample at most once a
 * second, so a kill -9 loses at most a second; `history-cold.json` (raw window and
 * roll-ups, up to ≈ 22 MB) is written only when a compaction rolled something up,
 * about once an hour.
 */
import { join } from 'node:path';
import * as h from '../core/history.js';
import type { ColdTarget, HistoryData, HistoryPart, HotTarget, RetentionOptions } from '../core/history.js';
import type { CheckResult, Status } from '../core/types.js';
import type { HistoryPort, WindowStats } from '../monitor.js';
import { StateFile } from './file.js';

export class HistoryStore implements HistoryPort {
  private readonly data: HistoryData;
  private compacting: Promise<void> | undefined;

  private constructor(
    readonly hot: StateFile<HistoryPart<HotTarget>>,
    readonly cold: StateFile<HistoryPart<ColdTarget>>,
    private readonly retention: RetentionOptions,
  ) {
    this.data = { hot: hot.data, cold: cold.data };
  }

  static async open(
    dataDir: string,
    retention: RetentionOptions,
    onWriteError: (e: unknown) => void,
  ): Promise<HistoryStore> {
    const empty = h.createHistoryData();
    const cold = await StateFile.open<HistoryPart<ColdTarget>>({
      path: join(dataDir, 'history-cold.json'),
      initial: () => empty.cold,
      validate: h.validateColdPart,
      onWriteError,
    });
    const hot = await StateFile.open<HistoryPart<HotTarget>>({
      path: join(dataDir, 'history-hot.json'),
      initial: () => empty.hot,
      validate: h.validateHotPart,
      coalesceMs: 1000,
      onWriteError,
      journal: 'targets',
    });
    return new HistoryStore(hot, cold, retention);
  }

  recordSample(name: string, r: CheckResult): void {
    if (h.recordSample(this.data, name, r)) this.hot.touch(name);
  }

  recordStatus(name: string, status: Status, at: number): void {
    if (h.recordStatus(this.data, name, status, at)) this.hot.touch(name);
  }

  removeTarget(name: string): void {
    if (h.removeTarget(this.data, name)) {
      this.hot.touch(name);
      this.cold.markDirty();
    }
  }

  stats(name: string, from: number, to: number, now: number): WindowStats {
    return h.stats(this.data, name, from, to, now);
  }

  trail(name: string, n: number): Array<{ t: number; ok: boolean; ms: number; code?: string }> {
    return h.trail(this.data, name, n);
  }

  series(name: string, from: number, to: number, now: number): h.SeriesRow[] {
    return h.series(this.data, name, from, to, now);
  }

  dailyUptime(name: string, days: number, now: number): h.DayUptime[] {
    return h.dailyUptime(this.data, name, days, now);
  }

  /** Rolls finished hours into roll-ups and applies retention: cold file first, then hot. */
  async compact(now: number): Promise<void> {
    if (this.compacting || !h.compact(this.data, now, this.retention)) return;
    this.compacting = this.cold.commit();
    // Until the cold file has the hours just moved out of the hot half, the hot file must
    // not lose them: a crash in between would drop them from both.
    this.hot.hold(this.compacting);
    try {
      await this.compacting;
    } finally {
      this.compacting = undefined;
    }
    await this.hot.commit();
  }

  async close(): Promise<void> {
    await this.compacting;
    await this.cold.close();
    await this.hot.close();
  }
}
