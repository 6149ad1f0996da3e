/**
 * BarPersister: moves closed bars from shared memory to the BarDb, off the
 * hot path, and back into shared memory on start.
 *
 * - Every `flushMs` (and on `stop`) it writes, in one LMDB transaction:
 *   every closed bar newer than the newest it wrote per series (read from
 *   the BarSeries itself, so a close event lost to a full ring loses nothing
 *   here), the amendments it was told about (`amended`: late trades, gap
 *   marks), and the retention cut: bars older than `history` buckets before
 *   the newest are deleted.
 * - `restore()` loads each series' newest `history` stored bars into its
 *   BarSeries. Call it before the exchange workers start: the main thread
 *   is then the only writer of the series.
 * A flush that fails (full disk, I/O error, read-only file system) leaves
 * everything it held in memory and is retried with backoff (flushMs doubled
 * per failure up to RETRY_MAX_MS, jittered), and reported through `onError`
 * (and the first success after failures through `onRecovered`);
 * the live path never waits for the disk. What stays unflushed is bounded by
 * the in-memory history: closed bars are re-read from their BarSeries (which
 * hold `history` bars each), and the queued amendments are cut to the same
 * retention window after each failure, so an outage longer than `history`
 * buckets loses the oldest unflushed bars, never the process.
 */
import type { BarSeries, BarVisitor } from '../buffers/bar-store.ts';
import { JitteredBackoff, Jitter } from '../model/backoff.ts';
import { BAR_FIELDS, BarField as F } from '../model/records.ts';
import type { BarDb, StoredBar } from './bar-db.ts';

/** Longest wait between retries of a failing flush, ms. */
const RETRY_MAX_MS = 30_000;

/** One series as the persister sees it. */
export interface PersistedSeries {
  /** Store key (`exchange:symbol:tf`). */
  key: string;
  series: BarSeries;
  /** Timeframe length, ms. */
  tfMs: number;
  /** Closed bars kept. */
  history: number;
}

export class BarPersister {
  /** Bars written since start. */
  written = 0;
  /** Flushes that failed (each retried). */
  failures = 0;
  /** The last flush's error while flushes fail; undefined once one succeeds. */
  lastError: unknown;
  /** When flushes started failing (ms since epoch); NaN while they succeed. */
  failingSince = NaN;
  readonly #db: BarDb;
  readonly #series: readonly PersistedSeries[];
  readonly #flushMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #onRecovered: () => void;
  /** Per series: newest openTime written (or restored), -Infinity before any. */
  #newest: Float64Array;
  /** Amendments waiting for the next flush, by `series:openTime` (the latest wins). */
  readonly #amended = new Map<string, StoredBar>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  readonly #backoff: JitteredBackoff;
  /** While failing: no timed flush before this (ms since epoch). */
  #retryAt = 0;
  /** Series index by key, built on the first failure. */
  #index: Map<string, number> | undefined;

  constructor(
    db: BarDb,
    series: readonly PersistedSeries[],
    flushMs: number,
    onError: (err: unknown) => void,
    onRecovered: () => void = () => {},
  ) {
    this.#db = db;
    this.#series = series;
    this.#flushMs = flushMs;
    this.#onError = onError;
    this.#onRecovered = onRecovered;
    this.#newest = new Float64Array(series.length).fill(-Infinity);
    this.#backoff = new JitteredBackoff(flushMs, Math.max(flushMs, RETRY_MAX_MS), Jitter.EQUAL);
  }

  /** Closed bars and amendments not yet on disk (what a failing disk holds back). */
  unflushed(): number {
    let n = this.#amended.size;
    const counter: BarVisitor = { begin: () => undefined, onBar: () => undefined };
    for (let i = 0; i < this.#newest.length; i++) n += this.#series[i]!.series.visit(counter, { start: this.#newest[i]! + 1, forming: false });
    return n;
  }

  /** Put the stored bars into their series; returns how many (newest openTime per series is remembered). */
  restore(): number {
    let total = 0;
    for (let i = 0; i < this.#series.length; i++) total += this.#restoreOne(i);
    return total;
  }

  /**
   * Series pushed onto the list since (a symbol added live): load their
   * stored bars as `restore` does, before their writer starts. Returns how many.
   */
  restoreAdded(): number {
    const from = this.#newest.length;
    const grown = new Float64Array(this.#series.length).fill(-Infinity);
    grown.set(this.#newest);
    this.#newest = grown;
    this.#index = undefined;
    let total = 0;
    for (let i = from; i < this.#series.length; i++) total += this.#restoreOne(i);
    return total;
  }

  #restoreOne(i: number): number {
    const { key, series, tfMs, history } = this.#series[i]!;
    const newest = this.#db.newestOpenTime(key);
    if (newest !== newest) return 0;
    this.#newest[i] = newest;
    return this.#db.load(key, newest - (history - 1) * tfMs, (rec) => series.putClosed(rec, 0));
  }

  /** Start flushing every `flushMs`. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      if (Date.now() >= this.#retryAt) void this.flush();
    }, this.#flushMs);
    this.#timer.unref();
  }

  /** A closed bar of series `index` changed after it was first written (amendment, gap mark, backfill). */
  amended(index: number, record: Float64Array, offset = 0): void {
    const copy = new Float64Array(BAR_FIELDS);
    for (let f = 0; f < BAR_FIELDS; f++) copy[f] = record[offset + f]!;
    const series = this.#series[index]!.key;
    this.#amended.set(`${series}:${copy[F.OPEN_TIME]}`, { series, record: copy });
  }

  /** Write what closed or changed since the last flush; flushes never overlap. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flushOnce());
    return this.#flushing;
  }

  /** Stop the timer and write everything still pending. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  async #flushOnce(): Promise<void> {
    const batch: StoredBar[] = [...this.#amended.values()];
    this.#amended.clear();
    const newest = Float64Array.from(this.#newest);
    const keepFrom = new Map<string, number>();
    for (let i = 0; i < newest.length; i++) {
      const p = this.#series[i]!;
      const from = batch.length;
      const visitor: BarVisitor = {
        begin: () => {
          batch.length = from; // a retried read starts over
        },
        onBar: (buf, off) => {
          batch.push({ series: p.key, record: buf.slice(off, off + BAR_FIELDS) });
        },
      };
      p.series.visit(visitor, { start: this.#newest[i]! + 1, forming: false });
      if (batch.length > from) {
        newest[i] = batch[batch.length - 1]!.record[F.OPEN_TIME]!;
        keepFrom.set(p.key, newest[i]! - (p.history - 1) * p.tfMs);
      }
    }
    if (batch.length === 0) return;
    try {
      await this.#db.write(batch, keepFrom);
      this.#newest.set(newest);
      this.written += batch.length;
      const recovered = this.lastError !== undefined;
      this.lastError = undefined;
      this.failingSince = NaN;
      this.#retryAt = 0;
      this.#backoff.reset();
      if (recovered) this.#onRecovered();
    } catch (err) {
      this.failures++;
      if (this.lastError === undefined) this.failingSince = Date.now();
      this.lastError = err;
      this.#retryAt = Date.now() + this.#backoff.next();
      for (const bar of batch) {
        if (bar.record[F.REVISION]! > 0 && !this.#expired(bar)) this.#amended.set(`${bar.series}:${bar.record[F.OPEN_TIME]}`, bar);
      }
      this.#onError(err);
    }
  }

  /** An amendment older than its series' retention window (the next write would delete it anyway). */
  #expired(bar: StoredBar): boolean {
    const i = this.#indexOf(bar.series);
    if (i < 0) return false;
    const p = this.#series[i]!;
    const newest = Math.max(this.#newest[i]!, p.series.lastClosedOpenTime());
    return bar.record[F.OPEN_TIME]! < newest - (p.history - 1) * p.tfMs;
  }

  #indexOf(key: string): number {
    if (this.#index === undefined) this.#index = new Map(this.#series.map((p, i) => [p.key, i]));
    return this.#index.get(key) ?? -1;
  }
}
