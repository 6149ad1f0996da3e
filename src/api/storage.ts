/**
 * The runtime's storage of closed bars: every series in the persister's order
 * (an index per series key), the LMDB database and its persister opened by
 * `open` (which verifies, then restores the stored bars) and closed by
 * `close` (which flushes), amendments queued for the next flush, and the
 * report of what storage did at start. With storage off (`null` config) it
 * only keeps the series list and reports null.
 *
 * Storage faults degrade, never stop the runtime:
 * - At start the database is verified in a child process (storage/verify.ts).
 *   A corrupt one is moved aside as `<path>.corrupt-<time>` and start goes on
 *   empty (`onCorrupt: rebuild`), or `open` throws STORAGE_CORRUPT (`refuse`).
 * - A database that cannot be opened (permissions, read-only, I/O) leaves the
 *   runtime serving from memory; opening is retried with backoff (verified
 *   again, without blocking) and, once open, flushes start. Bars stored
 *   before are not restored then: the feeds already write the series.
 * - A failing flush (full disk…) is retried with backoff by the persister.
 * Either way `status()` says `degraded` with the reason until a write succeeds.
 * `onChange` is called after each event that may change `status()`'s state,
 * reason or corruption report (a failure, a recovery, a database moved
 * aside); a listener compares (the `system` room publishes changes).
 */
import type { StorageConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { ErrorCode, StorageError } from '../errors.ts';
import { JitteredBackoff, Jitter } from '../model/backoff.ts';
import type { BarUpdate } from '../model/events.ts';
import { BAR_FIELDS, writeBar } from '../model/records.ts';
import type { StorageStatus } from '../model/status.ts';
import type { TimeframeName } from '../model/timeframes.ts';
import { BarDb, storageFailure } from '../storage/bar-db.ts';
import { BarPersister, type PersistedSeries } from '../storage/persister.ts';
import { moveAside, verifyStore, verifyStoreAsync, type Verdict } from '../storage/verify.ts';

/** Retries of a database that cannot be opened: from 1 s, doubling, up to 30 s. */
const REOPEN_FIRST_MS = 1_000;
const REOPEN_MAX_MS = 30_000;


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
  private failuresBefore = 0;
  private persister: BarPersister | undefined;
  /** Between `open` and `close`. */
  private opened = false;
  /** `start` was called: a database opened late starts flushing at once. */
  private started = false;
  /** Why the database is not open (it is retried), undefined when open or never tried. */
  private openError: StorageError | undefined;
  private openFailingSince = NaN;
  private reopenTimer: NodeJS.Timeout | undefined;
  private readonly reopenBackoff = new JitteredBackoff(REOPEN_FIRST_MS, REOPEN_MAX_MS, Jitter.EQUAL);
  /** What verification found at start. */
  private corrupt: { reason: string; movedTo: string | null } | null = null;
  private verifyMs = 0;
  /** Called when `status()` may have changed state, reason or corruption; set by the runtime. */
  onChange: () => void = () => {};

  /** Storage's log records, each naming `storage.path`: warnings and errors for what loses or risks data. */
  private readonly log: Logger;

  constructor(config: StorageConfig | null, log: Logger) {
    this.config = config;
    this.log = log.child({ storagePath: config?.path ?? null });
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

  /**
   * Series added after `open` (a symbol added live), before anything writes
   * them: their stored bars are loaded now. Returns how many (0 with storage
   * off or not open).
   */
  addLive(series: readonly PersistedSeries[]): number {
    for (const s of series) this.add(s);
    const restored = this.persister?.restoreAdded() ?? 0;
    this.report.restored += restored;
    return restored;
  }

  /**
   * Verify and open the database, and load its bars into the series: true
   * when it tried (storage on and not yet open). Throws only for a corrupt
   * database with `onCorrupt: refuse` (StorageError STORAGE_CORRUPT); any
   * other fault leaves storage degraded and retried.
   */
  open(): boolean {
    const storage = this.config;
    if (storage === null || this.opened) return false;
    this.opened = true;
    const t0 = performance.now();
    const verdict = verifyStore(storage.path, BAR_FIELDS * 8);
    this.verifyMs = Math.round(performance.now() - t0);
    if (!this.accept(verdict, true)) return true;
    if (this.tryOpen()) this.report.restored = this.persister!.restore();
    return true;
  }

  /** Act on a verification verdict: true when the database may be opened. */
  private accept(verdict: Verdict, atStart: boolean): boolean {
    const storage = this.config!;
    if (verdict.state === 'unreadable') {
      this.failOpen(new StorageError(ErrorCode.STORAGE_FAILED, `cannot read ${storage.path}: ${verdict.reason}`, verdict.errno));
      return false;
    }
    if (verdict.state !== 'corrupt') return true;
    if (atStart && storage.onCorrupt === 'refuse') {
      throw new StorageError(ErrorCode.STORAGE_CORRUPT, `${storage.path} is corrupt: ${verdict.reason} (storage.onCorrupt is refuse: move it aside or set rebuild)`);
    }
    try {
      const movedTo = moveAside(storage.path, new Date());
      this.corrupt = { reason: verdict.reason, movedTo };
      this.log.error({ event: 'storage.corrupt', reason: verdict.reason, movedTo }, `storage.path ${storage.path} is corrupt (${verdict.reason}): moved aside to ${movedTo}; starting with an empty database`);
      this.onChange();
      return true;
    } catch (err) {
      this.corrupt = { reason: verdict.reason, movedTo: null };
      this.failOpen(storageFailure(`${storage.path} is corrupt (${verdict.reason}) and could not be moved aside`, err));
      return false;
    }
  }

  /** Open the database and its persister; false (degraded, retried) when it cannot be opened. */
  private tryOpen(): boolean {
    const storage = this.config!;
    try {
      this.db = new BarDb(storage.path);
    } catch (err) {
      this.failOpen(err as StorageError);
      return false;
    }
    if (this.openError !== undefined) {
      this.log.info({ event: 'storage.opened', afterS: Math.round((Date.now() - this.openFailingSince) / 1000) }, `storage.path ${storage.path} opened after ${Math.round((Date.now() - this.openFailingSince) / 1000)} s; flushing resumes`);
    }
    this.openError = undefined;
    this.openFailingSince = NaN;
    this.reopenBackoff.reset();
    this.persister = new BarPersister(
      this.db,
      this.series,
      storage.flushMs,
      (err) => {
        const failures = this.persister?.failures ?? 1;
        // Logged when flushes start failing, then at each doubling: a full disk does not flood the log.
        if ((failures & (failures - 1)) === 0) {
          this.log.error(
            { event: 'storage.flush_failed', failures, errno: (err as StorageError).errno ?? null, unflushed: this.persister?.unflushed() ?? null },
            `flush to storage.path ${storage.path} failed (${failures} so far; bars kept in memory, retrying with backoff): ${(err as Error).message}`,
          );
        }
        this.onChange();
      },
      () => {
        this.log.info({ event: 'storage.flush_recovered', failures: this.persister?.failures ?? 0 }, `flush to storage.path ${storage.path} succeeded after ${this.persister?.failures ?? 0} failures`);
        this.onChange();
      },
    );
    this.onChange();
    return true;
  }

  private failOpen(err: StorageError): void {
    if (this.openError === undefined) {
      this.openFailingSince = Date.now();
      this.log.error({ event: 'storage.open_failed', errno: err.errno ?? null }, `storage.path ${this.config!.path}: ${err.message}; serving from memory, retrying with backoff`);
    }
    this.openError = err;
    clearTimeout(this.reopenTimer);
    this.reopenTimer = setTimeout(() => void this.reopen(), this.reopenBackoff.next());
    this.reopenTimer.unref();
    this.onChange();
  }

  /** A retry of a database that could not be opened: verified without blocking, then opened. */
  private async reopen(): Promise<void> {
    this.reopenTimer = undefined;
    if (!this.opened || this.db !== undefined) return;
    const verdict = await verifyStoreAsync(this.config!.path, BAR_FIELDS * 8);
    if (!this.opened || this.db !== undefined) return; // closed meanwhile
    if (this.accept(verdict, false) && this.tryOpen() && this.started) this.persister!.start();
  }

  /** Start the periodic flush (when open). */
  start(): void {
    this.started = true;
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
    clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    const p = this.persister;
    await p?.stop(); // every bar closed so far is on disk, unless the disk fails
    if (p !== undefined && p.lastError !== undefined) {
      this.log.error({ event: 'storage.closed_unflushed', unflushed: p.unflushed() }, `storage.path ${this.config!.path}: closing with ${p.unflushed()} closed bars not written: ${(p.lastError as Error).message}`);
    }
    this.writtenBefore = p?.written ?? this.writtenBefore;
    this.failuresBefore = p?.failures ?? this.failuresBefore;
    await this.db?.close();
    this.persister = undefined;
    this.db = undefined;
    this.opened = false;
    this.started = false;
  }

  /** Closed bars held in memory, all of them unwritten while the database cannot be opened. */
  private closedInMemory(): number {
    let n = 0;
    for (const s of this.series) n += s.series.closedCount();
    return n;
  }

  /** What is wrong with storage without stopping the runtime (for health warnings); empty when nothing. */
  warnings(): string[] {
    const s = this.status();
    if (s === null) return [];
    const out: string[] = [];
    if (s.state === 'degraded') out.push(`storage degraded: ${s.reason} (${s.unflushedBars} bars not yet written)`);
    if (s.corrupt !== null) out.push(`storage: database found corrupt at start (${s.corrupt.reason})${s.corrupt.movedTo !== null ? `, moved to ${s.corrupt.movedTo}` : ''}`);
    return out;
  }

  /** Storage's part of the status report; null when storage is off. */
  status(): StorageStatus | null {
    const storage = this.config;
    if (storage === null) return null;
    const p = this.persister;
    const err = (this.openError ?? p?.lastError) as Error | undefined;
    const since = this.openError !== undefined ? this.openFailingSince : (p?.failingSince ?? NaN);
    return {
      path: storage.path,
      state: err === undefined ? 'ok' : 'degraded',
      reason: err?.message ?? null,
      errno: (err as StorageError | undefined)?.errno ?? null,
      degradedSince: since === since ? since : null,
      unflushedBars: p?.unflushed() ?? (this.openError !== undefined ? this.closedInMemory() : 0),
      corrupt: this.corrupt,
      verifyMs: this.verifyMs,
      restoredBars: this.report.restored,
      backfilledBars: this.report.backfilled,
      writtenBars: p?.written ?? this.writtenBefore,
      flushFailures: p?.failures ?? this.failuresBefore,
      problems: [...this.report.problems],
    };
  }
}
