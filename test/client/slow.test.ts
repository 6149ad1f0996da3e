/**
 * A client behind a stalled network through the SDK: the server's
 * slow-consumer policy applies (here `gap`), and the SDK accounts for every
 * seq exactly once, delivered or inside a gap notice; bars are repaired.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TickwireClient } from '../../src/client/index.ts';
import { makeBar } from '../support/fake-tickwire.ts';
import { until } from '../support/until.ts';
import { startServer, type Running } from '../server/helpers.ts';
import { Recorder, TcpProxy } from './support.ts';

const MIN = 60_000;
const T0 = Date.UTC(2024, 7, 9, 0, 0);

let r: Running | undefined;
let proxy: TcpProxy | undefined;
let client: TickwireClient | undefined;

afterEach(async () => {
  await client?.close();
  await proxy?.close();
  await r?.server.close();
  r = undefined;
  proxy = undefined;
  client = undefined;
});

async function slowConsumerActions(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith('tickwire_ws_slow_consumer_total{')) n += Number(line.split(' ').at(-1));
  return n;
}

describe('slow consumer through the SDK', () => {
  it('stalled, then drained: every trade seq once, delivered or announced; the bars end up equal to the server', async () => {
    r = await startServer({ maxBackpressure: 64 * 1024, slowConsumer: 'gap' });
    proxy = await TcpProxy.start(r.port);
    client = new TickwireClient({ url: `http://127.0.0.1:${proxy.port}`, reconnect: { initialMs: 20, maxMs: 100 }, heartbeatMs: 0 });
    const rec = new Recorder();
    r.tw.seed('binance', 'BTCUSDT', '1m', 3, T0);
    client.subscribe(['trades:binance:BTCUSDT', 'bars:binance:BTCUSDT:1m'], rec.handlers(), { snapshot: 10 });
    await until(() => rec.count('snapshot') === 1, 5000, 'subscribed');

    proxy.stall();
    // Publish until the server has applied its policy (the loopback buffers hold a few MB first).
    let sent = 0;
    let openTime = T0 + 3 * MIN;
    while ((await slowConsumerActions(r.base)) < 2 && sent < 400_000) {
      for (let i = 0; i < 5000; i++) r.tw.trade('binance', 'BTCUSDT', { price: ++sent });
      r.tw.bar('binance', 'BTCUSDT', '1m', makeBar(openTime, MIN, 100 + sent / 1000, true));
      openTime += MIN;
      await new Promise((res) => setTimeout(res, 5));
    }
    expect(await slowConsumerActions(r.base)).toBeGreaterThanOrEqual(2); // conflating, then paused
    r.tw.bar('binance', 'BTCUSDT', '1m', makeBar(openTime, MIN, 999, false));
    proxy.unstall();
    for (let i = 0; i < 10; i++) r.tw.trade('binance', 'BTCUSDT', { price: ++sent });

    // Every seq 1..sent is either a delivered trade or inside exactly one gap notice.
    const covered = () => rec.count('trade') + rec.of('gap').reduce((n, g) => n + (g.toSeq - g.fromSeq + 1), 0);
    await until(() => covered() >= sent, 20_000, 'every seq accounted for');
    const seen = new Array<number>(sent + 1).fill(0);
    for (const t of rec.of('trade')) seen[t.seq]++;
    for (const g of rec.of('gap')) for (let s = g.fromSeq; s <= g.toSeq; s++) seen[s]++;
    expect(seen.slice(1).every((n) => n === 1)).toBe(true);
    expect(rec.of('gap').length).toBeGreaterThanOrEqual(1);
    expect(rec.of('gap').every((g) => g.channel === 'trades:binance:BTCUSDT' && g.reason === 'slow_consumer')).toBe(true);
    // Delivered trades are the ones published with those seqs, in order.
    const trades = rec.of('trade');
    expect(trades.every((t, i) => i === 0 || t.seq > trades[i - 1].seq)).toBe(true);
    expect(trades.every((t) => t.price === t.seq)).toBe(true);
    expect(client.stats.reconnects).toBe(0);

    // Bars: caught up by the server and repaired by the SDK; what the subscriber holds equals the HTTP candles.
    await until(() => rec.of('bar').some((b) => b.close === 1000) || rec.of('snapshot').some((s) => s.bars.some((b: { close: number }) => b.close === 1000)), 10_000, 'the last bar');
    const byOpen = new Map<number, unknown>();
    for (const { handler, m } of rec.calls) {
      if (handler === 'snapshot') for (const b of m.bars) byOpen.set(b.openTime, b);
      if (handler === 'bar') {
        const { type: _t, channel: _c, seq: _s, exchange: _e, symbol: _y, timeframe: _f, ...bar } = m;
        byOpen.set(bar.openTime, bar);
      }
    }
    const http = await fetch(`${r.base}/v1/candles/binance/BTCUSDT/1m?limit=5000`).then((res) => res.json() as Promise<{ candles: { openTime: number }[] }>);
    expect([...byOpen.values()].sort((a, b) => (a as { openTime: number }).openTime - (b as { openTime: number }).openTime)).toEqual(http.candles);
  });
});
