/**
 * Issue 18, "no closed bar owed by the contract lost over 3 × SIGKILL":
 * `tickwire start` with LMDB storage under the simulated venue's load is
 * killed three times in a row, each time a flush interval (and a margin)
 * after its closed bars were read. Every bar read before any of the kills
 * is served identical after the last restart: what an earlier kill left is
 * not lost to a later one.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type Candle, durableWorkdir, killChildren, startTickwire } from '../support/tickwire-process.ts';
import { until } from '../support/until.ts';

const children: ChildProcess[] = [];
const dirs: string[] = [];
const KILLS = 3;
const FLUSH_MS = 500;
const SERIES = [
  ['SIM-BTC', '1s'],
  ['SIM-ETH', '5s'],
] as const;

afterEach(async () => {
  await killChildren(children);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('three SIGKILLs in a row', () => {
  it('every bar closed a flush interval before any kill is served identical after the last restart', async () => {
    const cwd = durableWorkdir(FLUSH_MS, dirs);
    /** Owed bars by series and open time, accumulated over the rounds. */
    const owed = new Map<string, Map<number, Candle>>(SERIES.map(([s, tf]) => [`${s} ${tf}`, new Map()]));
    for (let k = 0; k < KILLS; k++) {
      const run = await startTickwire(cwd, children);
      if (k > 0) expect(run.out()).toMatch(/storage: \.\/data \(\d+ bars restored/);
      const had = owed.get('SIM-BTC 1s')!.size;
      // New bars closed in this life (two 1s bars beyond what earlier lives left).
      await until(async () => (await run.candles('SIM-BTC', '1s')).length >= had + 2, 20_000, `closed bars in life ${k + 1}`);
      for (const [symbol, tf] of SERIES) for (const c of await run.candles(symbol, tf)) owed.get(`${symbol} ${tf}`)!.set(c.openTime, c);
      await new Promise((r) => setTimeout(r, FLUSH_MS + 500));
      run.proc.kill('SIGKILL');
      await run.exited;
    }
    const last = await startTickwire(cwd, children);
    let checked = 0;
    for (const [symbol, tf] of SERIES) {
      const now = new Map((await last.candles(symbol, tf)).map((c) => [c.openTime, c]));
      for (const [openTime, c] of owed.get(`${symbol} ${tf}`)!) {
        expect(now.get(openTime), `${symbol} ${tf} ${openTime}`).toEqual(c);
        checked++;
      }
    }
    expect(owed.get('SIM-BTC 1s')!.size).toBeGreaterThanOrEqual(2 * KILLS);
    console.log(`[hostile] ${checked} bars read before ${KILLS} SIGKILLs, all served identical after the last restart`);
    last.proc.kill('SIGTERM');
    expect((await last.exited).code).toBe(0);
  }, 90_000);
});
