/**
 * The runtime's storage of closed bars: every series in the persister's order
 * (an index per series key), the LMDB database and its persister opened by
 * `open` (which restores the stored bars) and closed by `close` (which
 * flushes), amendments queued for the next flush, and the report of what
 * storage did at start. With storage off (`null` config) it only keeps the
 * series list and reports null.
 */
import type { StorageConfig } from '../config/types.ts';
import type { BarUpdate } from '../model/events.ts';
import { BAR_FIELDS, writeBar } from '../model/records.ts';
import type { StorageStatus } from '../model/status.ts';
import type { TimeframeName } from '../model/timeframes.ts';
import { BarDb } from '../storage/bar-db.ts';
import { BarPersister, type PersistedSeries } from '../storage/persister.ts';

/** Key of a bar series in the store and in the database. */
export function seriesKey(exchange: string, symbol: string, tf: TimeframeName): string {
  return `${exchange}:${symbol}:${tf}`;
}

export class RuntimeStorage {
  /** What storage did at start: bars restored, bars backfilled, and what backfill could not do. */
  readonly report = { restored: 0, backfilled: 0, problems: [] as string[] };
  private readonly config: StorageConfig | null;
  /** Every series in exchange order (the persister's indices), and each one's index by key. */
  private readonly series: PersistedSeries[] = [];
  private readonly indexOf = new Map<string, number>();
  private db: BarDb | undefined;
  /** Bars the persister of an earlier start wrote (it is replaced on each start). */
  private writtenBefore = 0;
  private persister: BarPersister | undefined;

  constructor(config: StorageConfig | null) {
    this.config = config;
  }

  /** Series added so far: the index the next one gets. */
  get seriesCount(): number {
    return this.series.length;
  }

  /** Add a series (before `open`); its index is `seriesCount` before the call. */
  add(series: PersistedSeries): void {
    this.indexOf.set(series.key, this.series.length);
    this.series.push(series);
  }

  /** Open the database and load its bars into the series: true when it did (storage on and not yet open). */
  open(): boolean {
    const storage = this.config;
    if (storage === null || this.db !== undefined) return false;
    this.db = new BarDb(storage.path);
    this.persister = new BarPersister(this.db, this.series, storage.flushMs, (err) => {
      process.stderr.write(`tickwire storage: flush to ${storage.path} failed (retrying): ${(err as Error).message}\n`);
    });
    this.report.restored = this.persister.restore();
    return true;
  }

  /** Start the periodic flush (when open). */
  start(): void {
    this.persister?.start();
  }

  /** Queue a changed closed bar of series `index` for the next flush (when open). */
  amended(index: number, record: Float64Array): void {
    this.persister?.amended(index, record);
  }

  /** Queue an amended closed bar from the event stream (late trade, gap mark) for the next flush (when open). */
  amendedBar(u: BarUpdate): void {
    if (this.persister === undefined) return;
    const index = this.indexOf.get(seriesKey(u.exchange, u.symbol, u.timeframe));
    if (index === undefined) return;
    const record = new Float64Array(BAR_FIELDS);
    writeBar(u.bar, record, 0);
    this.persister.amended(index, record);
  }

  /** Flush every bar closed so far and close the database; `open` may open it again. */
  async close(): Promise<void> {
    await this.persister?.stop(); // every bar closed so far is on disk
    this.writtenBefore = this.persister?.written ?? this.writtenBefore;
    await this.db?.close();
    this.persister = undefined;
    this.db = undefined;
  }

  /** Storage's part of the status report; null when storage is off. */
  status(): StorageStatus | null {
    const storage = this.config;
    if (storage === null) return null;
    return {
      path: storage.path,
      restoredBars: this.report.restored,
      backfilledBars: this.report.backfilled,
      writtenBars: this.persister?.written ?? this.writtenBefore,
      flushFailures: this.persister?.failures ?? 0,
      problems: [...this.report.problems],
    };
  }
}
