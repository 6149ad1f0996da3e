/**
 * BarDb: closed bars on disk (LMDB), so candle queries after a restart return
 * what they returned before.
 *
 * Layout: one LMDB environment; key `[seriesKey, openTime]` (ordered, so a
 * series' bars are one contiguous, time-ordered range), value the bar record's
 * BAR_FIELDS float64 values as raw bytes (no serializer on either side).
 *
 * Merge rule (`write`): a bar from live trades is never replaced by a
 * backfilled one; a backfilled bar is replaced by one from live trades only
 * where the values differ, and then with `revision` one above the stored one.
 * Everything else is last-writer-wins (amendments carry their own revision).
 *
 * Not on the hot path: the persister calls `write` once per flush interval
 * with the batch of bars that closed or changed meanwhile.
 *
 * Failures never escape as unhandled rejections: `open` and `write` fail with
 * a StorageError (STORAGE_FAILED, `errno` ENOSPC, EIO, EROFS…). Found on a
 * full 256 KiB tmpfs (lmdb 3.5.6): with lmdb's default event-turn batching a
 * failed commit also rejects an internal batch promise nobody holds, and the
 * failed transaction's `commitError` promise rejects too; the first is avoided
 * by `eventTurnBatching: false`, the second is caught here. After a failed
 * commit lmdb's `flushed` and `close()` never settle until a commit succeeds,
 * so `close` waits at most CLOSE_WAIT_MS then.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, resolve } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { ErrorCode, StorageError } from '../errors.ts';
import { BAR_FIELDS, BarField as F, BarSource } from '../model/records.ts';
import { dataFileOf } from './verify.ts';

type Key = [string, number];

/** How long `close` waits for lmdb after a failed commit (it never settles then). */
const CLOSE_WAIT_MS = 500;

/** Fields that decide whether two bars carry the same data (not revision, source or flags). */
const VALUE_FIELDS = [F.OPEN, F.HIGH, F.LOW, F.CLOSE, F.VOLUME, F.QUOTE_VOLUME, F.BUY_VOLUME, F.SELL_VOLUME, F.TRADES] as const;

/** One bar to store: its series key and its record (BAR_FIELDS values). */
export interface StoredBar {
  series: string;
  record: Float64Array;
}

export class BarDb {
  readonly path: string;
  readonly #db: RootDatabase<Buffer, Key>;
  /** The last commit failed: lmdb's `flushed` and `close()` hang until one succeeds. */
  #failed = false;

  /** Open (creating when missing) the LMDB environment at `path`; a StorageError when it cannot. */
  constructor(path: string) {
    this.path = path;
    createStorageDirectory(path);
    try {
      this.#db = open<Buffer, Key>({ path, encoding: 'binary', compression: false, eventTurnBatching: false });
    } catch (err) {
      throw storageFailure(`cannot open ${path}`, err);
    }
  }

  /** Visit series `series`' stored bars with openTime ≥ `from`, oldest first; returns how many. */
  load(series: string, from: number, visit: (record: Float64Array) => void): number {
    let n = 0;
    for (const { value } of this.#db.getRange({ start: [series, from], end: [series, Infinity] })) {
      visit(toRecord(value));
      n++;
    }
    return n;
  }

  /** Newest stored openTime of `series`, or NaN when it has none. */
  newestOpenTime(series: string): number {
    for (const { key } of this.#db.getRange({ start: [series, Infinity], end: [series, -Infinity], reverse: true, limit: 1 })) {
      return key[1];
    }
    return NaN;
  }

  /**
   * Store `bars` (merge rule above) and drop, per series in `keepFrom`, the
   * bars older than the given openTime (retention), in one transaction.
   * Resolves when the transaction is durable; rejects with a StorageError
   * (nothing of the batch is stored then).
   */
  async write(bars: Iterable<StoredBar>, keepFrom: ReadonlyMap<string, number> = new Map()): Promise<boolean> {
    try {
      const done = await this.#transact(bars, keepFrom);
      this.#failed = false;
      return done;
    } catch (err) {
      this.#failed = true;
      // lmdb's error says only "Commit failed"; the system error arrives on its commitError promise.
      const commitError = (err as { commitError?: Promise<unknown> }).commitError;
      const cause = commitError === undefined ? err : await commitError.then(() => err, (e: unknown) => e);
      throw storageFailure(`write to ${this.path} failed`, cause);
    }
  }

  #transact(bars: Iterable<StoredBar>, keepFrom: ReadonlyMap<string, number>): Promise<boolean> {
    return this.#db.transaction(() => {
      for (const { series, record } of bars) {
        const key: Key = [series, record[F.OPEN_TIME]!];
        const stored = this.#db.get(key);
        if (stored !== undefined) {
          const old = toRecord(stored);
          const incomingLive = record[F.SOURCE] !== BarSource.BACKFILL;
          const storedLive = old[F.SOURCE] !== BarSource.BACKFILL;
          if (storedLive && !incomingLive) continue; // live trades beat a kline
          if (!storedLive && incomingLive) {
            if (sameValues(old, record)) continue;
            const replaced = Float64Array.from(record);
            replaced[F.REVISION] = Math.max(record[F.REVISION]!, old[F.REVISION]! + 1);
            this.#db.put(key, toBytes(replaced));
            continue;
          }
        }
        this.#db.put(key, toBytes(record));
      }
      for (const [series, from] of keepFrom) {
        for (const key of this.#db.getKeys({ start: [series, -Infinity], end: [series, from] })) this.#db.remove(key);
      }
      return true;
    });
  }

  /** Every series key that has stored bars (for tests and tools). */
  seriesKeys(): string[] {
    const out: string[] = [];
    let last: string | undefined;
    for (const key of this.#db.getKeys()) {
      if (key[0] !== last) out.push((last = key[0]));
    }
    return out;
  }

  /** Wait for pending writes and close the environment (at most CLOSE_WAIT_MS after a failed commit); never rejects. */
  async close(): Promise<void> {
    const closing = (async () => {
      if (!this.#failed) await this.#db.flushed;
      await this.#db.close();
    })().catch(() => undefined); // a failed last write was reported by `write`
    if (!this.#failed) return closing;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closing, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
  }
}

/**
 * Create the directory the database at `path` lives in, missing parents too,
 * one level at a time: Node 20's `mkdirSync(dir, { recursive: true })`, which
 * lmdb calls, never returns for a directory the kernel refuses with ENOENT
 * under an existing parent (`/proc/nope`: 100% CPU, measured on Node 20.20).
 * A StorageError (STORAGE_FAILED, with the errno) when a level cannot be made.
 */
export function createStorageDirectory(path: string): void {
  const missing: string[] = [];
  for (let dir = resolve(dirname(dataFileOf(path))); !existsSync(dir); dir = dirname(dir)) {
    missing.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw storageFailure(`cannot create ${path}`, err);
    }
  }
}

/** A StorageError for `what`, naming the system error behind `err` (lmdb gives errno numbers, Node names). */
export function storageFailure(what: string, err: unknown): StorageError {
  const code = (err as { code?: unknown } | null)?.code;
  const errno = typeof code === 'string' ? code : typeof code === 'number' ? ERRNO_NAMES.get(code) : undefined;
  const message = err instanceof Error ? err.message : String(err);
  return new StorageError(ErrorCode.STORAGE_FAILED, `${what}: ${errno !== undefined && !message.includes(errno) ? `${errno} ` : ''}${message}`, errno, { cause: err });
}

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

function toBytes(record: Float64Array): Buffer {
  return Buffer.from(record.buffer, record.byteOffset, BAR_FIELDS * 8);
}

/** A private copy: LMDB's buffers are only valid until the next read, and may be unaligned. */
function toRecord(bytes: Uint8Array): Float64Array {
  const out = new Float64Array(BAR_FIELDS);
  new Uint8Array(out.buffer).set(bytes.subarray(0, Math.min(bytes.length, BAR_FIELDS * 8)));
  // Records written before a field existed read it as 0, the field's neutral value.
  return out;
}

function sameValues(a: Float64Array, b: Float64Array): boolean {
  for (const f of VALUE_FIELDS) if (!Object.is(a[f], b[f])) return false;
  return true;
}
