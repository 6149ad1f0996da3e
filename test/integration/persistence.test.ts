/**
 * Persistence end to end in one process: bars closed by one tickwire are
 * served, identical, by the next one started on the same storage, before its
 * feeds are up; the bar it starts in is marked gapped (it missed the trades
 * before its start).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import { BarDb } from '../../src/storage/bar-db.ts';
import { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import { BAR_FIELDS } from '../../src/model/records.ts';
import { createServer } from 'node:net';
import { until } from '../support/until.ts';

let dir = '';
const running: Tickwire[] = [];

afterEach(async () => {
  for (const tw of running.splice(0)) await tw.stop();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  dir = '';
});

function make(): Tickwire {
  const tw = createTickwire(
    {
      timeframes: ['1s', '1m'],
      history: 300,
      exchanges: { simulated: { symbols: ['SIM-BTC', 'SIM-ETH'], rate: 200, seed: 7 } },
      storage: { path: dir, flushMs: 100 },
    },
    { tickMs: 20, statusMs: 100 },
  );
  running.push(tw);
  return tw;
}

describe('storage', () => {
  it('a restarted tickwire serves every closed bar the previous one had, identical; the bar it starts in is gapped', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tickwire-persist-'));
    const first = make();
    await first.start();
    await until(() => first.bars('simulated', 'SIM-BTC', '1s', { closed: true }).length >= 4, 15_000);
    await first.stop();
    const before = first.bars('simulated', 'SIM-BTC', '1s', { closed: true });
    const beforeEth = first.bars('simulated', 'SIM-ETH', '1s', { closed: true });
    expect(before.length).toBeGreaterThanOrEqual(4);

    const second = make();
    // Restored before any feed: what the server would answer right after start.
    const restored = (second as unknown as { restore(): number }).restore();
    expect(restored).toBeGreaterThanOrEqual(before.length + beforeEth.length);
    expect(second.bars('simulated', 'SIM-BTC', '1s', { closed: true })).toEqual(before);
    expect(second.bars('simulated', 'SIM-ETH', '1s', { closed: true })).toEqual(beforeEth);
    expect(second.status().storage).toMatchObject({ path: dir, restoredBars: restored });

    const startedAt = Date.now();
    await second.start();
    await until(() => second.status().exchanges['simulated']!.state === 'connected', 15_000);
    const connectedAt = Date.now();
    await until(() => second.bars('simulated', 'SIM-BTC', '1s', { closed: true }).at(-1)!.openTime > connectedAt + 1000, 15_000);
    const after = second.bars('simulated', 'SIM-BTC', '1s', { closed: true });
    // Old bars untouched, new ones after them.
    expect(after.slice(0, before.length)).toEqual(before);
    const first1s = after.find((b) => b.openTime <= startedAt && startedAt < b.openTime + 1000);
    if (first1s !== undefined) expect(first1s.gapped).toBe(true);
    // Bars wholly after the feed connected are complete. (Measured from the connection, not from start():
    // on a loaded machine the worker can take over a second to start, and the bars before it are gapped.)
    const later = after.filter((b) => b.openTime > connectedAt + 1000);
    expect(later.length).toBeGreaterThan(0);
    for (const b of later) expect(b.gapped).toBeUndefined();
    await second.stop();

    // Everything the second one closed is on disk too.
    const db = new BarDb(dir);
    const stored: number[] = [];
    db.load('simulated:SIM-BTC:1s', -Infinity, (r) => stored.push(r[0]!));
    await db.close();
    expect(stored).toEqual(second.bars('simulated', 'SIM-BTC', '1s', { closed: true }).map((b) => b.openTime));
    expect(second.status().storage!.writtenBars).toBeGreaterThan(0);
    const written = second.status().storage!.writtenBars;
    expect(await second.metrics()).toContain(`tickwire_bars_persisted_total ${written}\n`);
  });

  it('a cold start whose exchange connects seconds late: the first bar after the connection is gapped, not only the worker start\'s bucket', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tickwire-persist-'));
    // One stored bar from an hour ago: a cold start over stored bars (too old to resume from).
    const hourAgo = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    const db = new BarDb(dir);
    const old = new Float64Array(BAR_FIELDS).fill(0);
    old.set([hourAgo, hourAgo + 999, 50, 50, 50, 50, 1, 50, 1, 0, 1, 1, 1, 50, NaN, 1, 0, 0, 0]);
    await db.write([{ series: 'binance:BTCUSDT:1s', record: old }]);
    await db.close();
    // A port with nobody on it yet: the worker starts, fails to connect and retries.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => resolve(p));
      });
    });
    const tw = createTickwire(
      { timeframes: ['1s'], exchanges: { binance: { url: `ws://127.0.0.1:${port}`, symbols: ['BTCUSDT'] } }, storage: { path: dir, flushMs: 100, backfill: false } },
      { tickMs: 20, statusMs: 100, connection: { backoffBaseMs: 400, backoffMaxMs: 400 } }, // a few refused tries, not enough to open the circuit
    );
    running.push(tw);
    await tw.start();
    await new Promise((r) => setTimeout(r, 1_500)); // the connection comes up in a later second than the worker started
    const venue = new BinanceProtocolServer({ port });
    const upAt = Date.now(); // the connection can only be up after this: the bucket holding it began before it
    await venue.start();
    try {
      await until(() => venue.subscriptions().some((s) => s.includes('btcusdt@trade')), 10_000, 'the subscription');
      const trade = (id: number, ts: number) => venue.publish('btcusdt@trade', { e: 'trade', E: ts, s: 'BTCUSDT', t: id, p: '100.00', q: '1.0', T: ts, m: false, M: true });
      trade(1, upAt);
      trade(2, upAt + 1_000);
      trade(3, upAt + 2_000);
      await until(() => tw.bars('binance', 'BTCUSDT', '1s', { closed: true }).length >= 3, 10_000, 'the bars');
      const live = tw.bars('binance', 'BTCUSDT', '1s', { closed: true }).filter((b) => b.openTime > hourAgo);
      expect(live[0]!.openTime).toBe(Math.floor(upAt / 1000) * 1000);
      expect(live[0]!.gapped).toBe(true); // it began before the feed was watching
      expect(live[1]!.gapped).toBeUndefined(); // the stream after the first trade was watched
    } finally {
      await venue.stop();
    }
  });

  it('storage: false, and a library config without storage, keep bars in memory only', () => {
    const off = createTickwire({ exchanges: { simulated: { symbols: ['SIM-BTC'] } }, storage: false });
    const none = createTickwire({ exchanges: { simulated: { symbols: ['SIM-BTC'] } } });
    expect(off.config.storage).toBeNull();
    expect(none.config.storage).toBeNull();
    expect(off.status().storage).toBeNull();
  });
});
