/**
 * Durability of the real process (`tickwire start`): killed with SIGKILL under
 * load, a restarted server answers every bar that had closed at least one
 * flush interval before the kill, identical; stopped with SIGTERM, it flushes
 * everything and exits 0 within 2 s.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Candle, durableWorkdir, killChildren, startTickwire } from '../support/tickwire-process.ts';
import { until } from '../support/until.ts';

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await killChildren(children);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const workdir = (flushMs: number): string => durableWorkdir(flushMs, dirs);
const start = (cwd: string) => startTickwire(cwd, children);

const SERIES = [
  ['SIM-BTC', '1s'],
  ['SIM-BTC', '5s'],
  ['SIM-ETH', '1s'],
  ['SIM-ETH', '5s'],
] as const;

describe('durability of tickwire start', () => {
  it('SIGKILL under load: after a restart, every bar closed a flush interval before the kill is served identical', async () => {
    const flushMs = 500;
    const cwd = workdir(flushMs);
    const first = await start(cwd);
    // Load: a subscriber on every trade and bar channel while the simulated venue trades 800/s.
    const ws = new WebSocket(`ws://127.0.0.1:${first.port}/v1/stream`);
    let received = 0;
    ws.on('message', () => received++);
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ op: 'subscribe', id: 1, channels: ['trades:simulated:SIM-BTC', 'trades:simulated:SIM-ETH', 'bars:simulated:SIM-BTC:1s', 'bars:simulated:SIM-ETH:1s'] }));
    await until(async () => (await first.candles('SIM-BTC', '5s')).length >= 1, 20_000, 'a closed 5s bar');
    await new Promise((r) => setTimeout(r, 3_000));

    const before = new Map<string, Candle[]>();
    for (const [symbol, tf] of SERIES) before.set(`${symbol} ${tf}`, await first.candles(symbol, tf));
    // Every bar in `before` has closed by now; wait past one flush interval (and a margin), then kill.
    await new Promise((r) => setTimeout(r, flushMs + 500));
    expect(received).toBeGreaterThan(1_000);
    first.proc.kill('SIGKILL');
    await first.exited;
    ws.terminate();

    const second = await start(cwd);
    expect(second.out()).toMatch(/storage: \.\/data \(\d+ bars restored/);
    for (const [symbol, tf] of SERIES) {
      const was = before.get(`${symbol} ${tf}`)!;
      expect(was.length).toBeGreaterThan(0);
      const now = await second.candles(symbol, tf);
      const byTime = new Map(now.map((c) => [c.openTime, c]));
      for (const c of was) expect(byTime.get(c.openTime), `${symbol} ${tf} ${c.openTime}`).toEqual(c);
    }
    second.proc.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });

  it('SIGTERM flushes every closed bar (even inside the flush interval) and exits 0 within 2 s', async () => {
    const cwd = workdir(60_000); // no timed flush during the test: only the shutdown flush can save the bars
    const first = await start(cwd);
    await until(async () => (await first.candles('SIM-BTC', '1s')).length >= 3, 20_000, 'closed 1s bars');
    const before = await first.candles('SIM-BTC', '1s');
    const signalledAt = performance.now();
    first.proc.kill('SIGTERM');
    const { code, at } = await first.exited;
    expect(code).toBe(0);
    expect(at - signalledAt).toBeLessThan(2_000);

    const second = await start(cwd);
    const after = await second.candles('SIM-BTC', '1s');
    const byTime = new Map(after.map((c) => [c.openTime, c]));
    for (const c of before) expect(byTime.get(c.openTime)).toEqual(c);
  });
});
