import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BarSeries } from '../../src/buffers/bar-store.ts';
import { BAR_FIELDS, BarField as F } from '../../src/model/records.ts';
import { BarDb, type StoredBar } from '../../src/storage/bar-db.ts';
import { BarPersister } from '../../src/storage/persister.ts';

const MIN = 60_000;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function closed(openTime: number, close: number, revision = 0): Float64Array {
  const r = new Float64Array(BAR_FIELDS);
  r[F.OPEN_TIME] = openTime;
  r[F.CLOSE_TIME] = openTime + MIN - 1;
  r[F.OPEN] = r[F.HIGH] = r[F.LOW] = r[F.CLOSE] = close;
  r[F.FIRST_TRADE_ID] = r[F.LAST_TRADE_ID] = r[F.VWAP] = r[F.SPREAD] = NaN;
  r[F.CLOSED] = 1;
  r[F.REVISION] = revision;
  return r;
}

function stored(db: BarDb, key: string): number[][] {
  const out: number[][] = [];
  db.load(key, -Infinity, (r) => out.push([r[F.OPEN_TIME]! / MIN, r[F.CLOSE]!, r[F.REVISION]!]));
  return out;
}

describe('BarPersister', () => {
  it('flushes the closes it finds in the series, amendments it is told about, and keeps `history` bars', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tickwire-persister-'));
    dirs.push(dir);
    const db = new BarDb(dir);
    const series = new BarSeries(BarSeries.allocate(10));
    const p = new BarPersister(db, [{ key: 's:1m', series, tfMs: MIN, history: 3 }], 1_000, (e) => {
      throw e;
    });
    for (let i = 0; i < 5; i++) series.putClosed(closed(i * MIN, 100 + i), 0);
    await p.flush();
    expect(stored(db, 's:1m')).toEqual([[2, 102, 0], [3, 103, 0], [4, 104, 0]]);
    p.amended(0, closed(4 * MIN, 99, 1));
    series.putClosed(closed(5 * MIN, 105), 0);
    await p.stop();
    expect(stored(db, 's:1m')).toEqual([[3, 103, 0], [4, 99, 1], [5, 105, 0]]);
    expect(p.written).toBe(7); // 5 in the first flush, then the amendment and the new close

    // A new persister over a fresh series restores the newest `history` bars.
    const again = new BarSeries(BarSeries.allocate(10));
    const q = new BarPersister(db, [{ key: 's:1m', series: again, tfMs: MIN, history: 3 }], 1_000, () => {});
    expect(q.restore()).toBe(3);
    expect(again.bars().map((b) => [b.openTime / MIN, b.close, b.revision])).toEqual([[3, 103, 0], [4, 99, 1], [5, 105, 0]]);
    await db.close();
  });

  it('a failed flush is reported, counted and retried with everything it held', async () => {
    const writes: StoredBar[][] = [];
    let fail = true;
    const errors: unknown[] = [];
    const db = {
      write: async (bars: Iterable<StoredBar>) => {
        if (fail) throw new Error('disk full');
        writes.push([...bars]);
        return true;
      },
    } as unknown as BarDb;
    const series = new BarSeries(BarSeries.allocate(10));
    const p = new BarPersister(db, [{ key: 's:1m', series, tfMs: MIN, history: 10 }], 1_000, (e) => errors.push(e));
    series.putClosed(closed(0, 100), 0);
    series.putClosed(closed(0, 101, 1), 0); // amended before the first flush: the series holds the newest version
    p.amended(0, closed(0, 101, 1));
    await p.flush();
    expect(p.failures).toBe(1);
    expect((errors[0] as Error).message).toBe('disk full');
    fail = false;
    await p.flush();
    const [batch] = writes;
    expect(batch!.map((b) => [b.record[F.OPEN_TIME], b.record[F.CLOSE], b.record[F.REVISION]])).toEqual([[0, 101, 1], [0, 101, 1]]);
    expect(p.written).toBe(2);
  });

  it('while flushes fail it reports the error and since when, counts what is held back, and drops amendments past retention', async () => {
    let fail = true;
    const db = {
      write: async () => {
        if (fail) throw new Error('ENOSPC: disk full');
        return true;
      },
    } as unknown as BarDb;
    const series = new BarSeries(BarSeries.allocate(10));
    const p = new BarPersister(db, [{ key: 's:1m', series, tfMs: MIN, history: 3 }], 1_000, () => {});
    for (let i = 0; i < 5; i++) series.putClosed(closed(i * MIN, 100 + i), 0);
    p.amended(0, closed(0, 99, 1)); // older than the 3 bars kept: retention would delete it
    p.amended(0, closed(4 * MIN, 98, 1));
    await p.flush();
    expect((p.lastError as Error).message).toContain('ENOSPC');
    expect(p.failingSince).toBeGreaterThan(0);
    expect(p.unflushed()).toBe(5 + 1); // the series' closed bars, and the one amendment still inside retention
    fail = false;
    await p.flush();
    expect(p.lastError).toBeUndefined();
    expect(p.failingSince).toBeNaN();
    expect(p.unflushed()).toBe(0);
    expect(p.failures).toBe(1);
  });
});
