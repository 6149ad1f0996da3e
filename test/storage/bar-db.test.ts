import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BAR_FIELDS, BarField as F, BarSource } from '../../src/model/records.ts';
import { BarDb, createStorageDirectory } from '../../src/storage/bar-db.ts';
import { StorageError } from '../../src/errors.ts';

const MIN = 60_000;
const dirs: string[] = [];
const dbs: BarDb[] = [];

afterEach(async () => {
  for (const db of dbs.splice(0)) await db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function openDb(dir = mkdtempSync(path.join(tmpdir(), 'tickwire-db-'))): BarDb {
  if (!dirs.includes(dir)) dirs.push(dir);
  const db = new BarDb(dir);
  dbs.push(db);
  return db;
}

function bar(openTime: number, close: number, source: number = BarSource.LIVE, revision = 0): Float64Array {
  const r = new Float64Array(BAR_FIELDS);
  r[F.OPEN_TIME] = openTime;
  r[F.CLOSE_TIME] = openTime + MIN - 1;
  r[F.OPEN] = r[F.HIGH] = r[F.LOW] = r[F.CLOSE] = close;
  r[F.VOLUME] = 1;
  r[F.QUOTE_VOLUME] = close;
  r[F.TRADES] = 1;
  r[F.FIRST_TRADE_ID] = NaN;
  r[F.LAST_TRADE_ID] = NaN;
  r[F.VWAP] = close;
  r[F.SPREAD] = NaN;
  r[F.CLOSED] = 1;
  r[F.REVISION] = revision;
  r[F.SOURCE] = source;
  return r;
}

function loadAll(db: BarDb, series: string): Float64Array[] {
  const out: Float64Array[] = [];
  db.load(series, -Infinity, (r) => out.push(r));
  return out;
}

describe('BarDb', () => {
  it('stores bars per series in open-time order, bit for bit (NaN included), across a reopen', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tickwire-db-'));
    const db = openDb(dir);
    await db.write([
      { series: 'binance:BTCUSDT:1m', record: bar(3 * MIN, 103) },
      { series: 'binance:BTCUSDT:1m', record: bar(1 * MIN, 101) },
      { series: 'binance:ETHUSDT:1m', record: bar(2 * MIN, 12) },
      { series: 'binance:BTCUSDT:1m', record: bar(2 * MIN, 102) },
    ]);
    await db.close();
    dbs.splice(dbs.indexOf(db), 1);
    const again = openDb(dir);
    const btc = loadAll(again, 'binance:BTCUSDT:1m');
    expect(btc.map((r) => r[F.OPEN_TIME])).toEqual([MIN, 2 * MIN, 3 * MIN]);
    expect([...btc[0]!]).toEqual([...bar(MIN, 101)]);
    expect(Number.isNaN(btc[0]![F.SPREAD])).toBe(true);
    expect(again.newestOpenTime('binance:BTCUSDT:1m')).toBe(3 * MIN);
    expect(again.newestOpenTime('binance:NOPE:1m')).toBeNaN();
    expect(again.seriesKeys()).toEqual(['binance:BTCUSDT:1m', 'binance:ETHUSDT:1m']);
    const from2: number[] = [];
    again.load('binance:BTCUSDT:1m', 2 * MIN, (r) => from2.push(r[F.OPEN_TIME]!));
    expect(from2).toEqual([2 * MIN, 3 * MIN]);
  });

  it('a series key that is a prefix of another does not leak into it', async () => {
    const db = openDb();
    await db.write([
      { series: 'x:A:1m', record: bar(MIN, 1) },
      { series: 'x:A:1m5', record: bar(MIN, 2) },
    ]);
    expect(loadAll(db, 'x:A:1m')).toHaveLength(1);
  });

  it('merge: backfill never replaces live; live replaces backfill only where values differ, one revision up', async () => {
    const db = openDb();
    const s = 'binance:BTCUSDT:1m';
    await db.write([
      { series: s, record: bar(1 * MIN, 100) },
      { series: s, record: bar(2 * MIN, 200, BarSource.BACKFILL) },
      { series: s, record: bar(3 * MIN, 300, BarSource.BACKFILL) },
    ]);
    await db.write([
      { series: s, record: bar(1 * MIN, 111, BarSource.BACKFILL) }, // ignored: live is kept
      { series: s, record: bar(2 * MIN, 200) }, // same values: the backfilled bar stays as it is
      { series: s, record: bar(3 * MIN, 333) }, // differs: replaced, revision 1
    ]);
    const [b1, b2, b3] = loadAll(db, s);
    expect([b1![F.CLOSE], b1![F.SOURCE]]).toEqual([100, BarSource.LIVE]);
    expect([b2![F.CLOSE], b2![F.SOURCE], b2![F.REVISION]]).toEqual([200, BarSource.BACKFILL, 0]);
    expect([b3![F.CLOSE], b3![F.SOURCE], b3![F.REVISION]]).toEqual([333, BarSource.LIVE, 1]);
    // live over live: last writer wins (amendments carry their revision)
    await db.write([{ series: s, record: bar(1 * MIN, 101, BarSource.LIVE, 1) }]);
    expect(loadAll(db, s)[0]![F.CLOSE]).toBe(101);
  });

  it('retention: bars older than keepFrom are deleted in the same transaction', async () => {
    const db = openDb();
    const s = 'sim:X:1m';
    await db.write(Array.from({ length: 10 }, (_, i) => ({ series: s, record: bar(i * MIN, i) })));
    await db.write([{ series: s, record: bar(10 * MIN, 10) }], new Map([[s, 7 * MIN]]));
    expect(loadAll(db, s).map((r) => r[F.OPEN_TIME]! / MIN)).toEqual([7, 8, 9, 10]);
  });
});

describe('BarDb: its directory', () => {
  it('is created with its missing parents', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'tickwire-db-'));
    dirs.push(root);
    createStorageDirectory(path.join(root, 'a', 'b', 'bars'));
    expect(statSync(path.join(root, 'a', 'b', 'bars')).isDirectory()).toBe(true);
    createStorageDirectory(path.join(root, 'c', 'bars.mdb')); // a file name: its parent is the directory
    expect(statSync(path.join(root, 'c')).isDirectory()).toBe(true);
    expect(existsSync(path.join(root, 'c', 'bars.mdb'))).toBe(false);
  });

  it('that cannot be created fails with the errno at once (under /proc Node\'s recursive mkdir never returns)', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'tickwire-db-'));
    dirs.push(root);
    writeFileSync(path.join(root, 'file'), '');
    for (const [where, errno] of [[path.join(root, 'file', 'db'), 'ENOTDIR'], ['/proc/nope/db', 'ENOENT']] as const) {
      let err: unknown;
      try {
        createStorageDirectory(where);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StorageError);
      expect(err).toMatchObject({ code: 'STORAGE_FAILED', errno });
      expect((err as Error).message).toContain(`cannot create ${where}`);
    }
  });
});
