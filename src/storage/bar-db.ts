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
 */
import { open, type RootDatabase } from 'lmdb';
import { BAR_FIELDS, BarField as F, BarSource } from '../model/records.ts';

type Key = [string, number];

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

  /** Open (creating when missing) the LMDB environment at `path`. */
  constructor(path: string) {
    this.path = path;
    this.#db = open<Buffer, Key>({ path, encoding: 'binary', compression: false });
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
   * Resolves when the transaction is durable.
   */
  write(bars: Iterable<StoredBar>, keepFrom: ReadonlyMap<string, number> = new Map()): Promise<boolean> {
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

  /** Wait for pending writes and close the environment. */
  async close(): Promise<void> {
    await this.#db.flushed;
    await this.#db.close();
  }
}

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
