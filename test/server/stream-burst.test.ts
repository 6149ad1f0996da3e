/**
 * Snapshot then live, end to end while trades pour in: a fake Binance
 * replays 9,757 recorded trades as fast as the loopback takes them, the real
 * worker and pump build 1s and 1m bars, and a subscriber joins in the middle
 * of the burst with a snapshot. Its snapshot plus the live bar updates must
 * rebuild exactly the bars `GET /v1/candles` serves once the feed stops, with
 * seqs contiguous from the snapshot's.
 */
import { afterEach, expect, it } from 'vitest';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import { createServer, type TickwireServer } from '../../src/server/server.ts';
import type { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import { longTradeFrames, startFakeBinance } from '../support/fake-binance.ts';
import { until } from '../support/until.ts';
import { Client, tick, type Msg } from './helpers.ts';

const BAR_KEYS = [
  'openTime', 'closeTime', 'open', 'high', 'low', 'close', 'volume', 'quoteVolume', 'buyVolume', 'sellVolume',
  'trades', 'vwap', 'spread', 'closed', 'revision', 'gapped', 'source',
];
const CHANNELS = ['bars:binance:BTCUSDT:1s', 'bars:binance:BTCUSDT:1m'];

let fake: BinanceProtocolServer | undefined;
let tw: Tickwire | undefined;
let server: TickwireServer | undefined;
let client: Client | undefined;

afterEach(async () => {
  client?.ws.terminate();
  await server?.close();
  await tw?.stop();
  await fake?.stop();
  client = undefined;
  server = undefined;
  tw = undefined;
  fake = undefined;
});

/** The bar fields of a snapshot bar or a live bar message. */
function barOf(m: Msg): Msg {
  const out: Msg = {};
  for (const k of BAR_KEYS) if (k in m) out[k] = m[k];
  return out;
}

it('a subscriber joining during a burst rebuilds, from snapshot plus updates, exactly the bars HTTP serves afterwards', async () => {
  fake = await startFakeBinance();
  // fillEmpty off: once the feed stops, the last bars close and nothing more is published (no flat bars every second).
  tw = createTickwire(
    { timeframes: ['1s', '1m'], bars: { fillEmpty: false }, exchanges: { binance: { url: fake.url, symbols: ['BTCUSDT'], channels: ['trades'] } } },
    { statusMs: 100, tickMs: 50, connection: { backoffBaseMs: 20, backoffMaxMs: 200 } },
  );
  await tw.start();
  server = createServer(tw, { host: '127.0.0.1', port: 0 });
  const { port } = await server.listen();
  const f = fake;
  await until(() => f.subscriptions().some((s) => s.includes('btcusdt@trade')), 10_000, 'the worker to subscribe');
  client = await Client.connect(`ws://127.0.0.1:${port}/v1/stream`);

  const frames = longTradeFrames();
  const joinAt = 4_000;
  let joinedAfter = -1;
  for (let i = 0; i < frames.length; i += 250) {
    for (const frame of frames.slice(i, i + 250)) f.sendRaw(frame);
    if (joinedAfter < 0 && i + 250 >= joinAt) {
      client.send({ op: 'subscribe', id: 1, channels: CHANNELS, snapshot: 1000 });
      joinedAfter = i + 250;
    }
    await tick();
  }
  const t = tw;
  await until(() => t.status().exchanges['binance']!.trades === frames.length, 20_000, 'every trade taken');

  // Rebuild per channel: the snapshot's bars by open time, then every live update replaces its bar.
  const rebuilt = new Map<string, Map<number, Msg>>(CHANNELS.map((c) => [c, new Map()]));
  const snapSeq = new Map<string, number>();
  const lastSeq = new Map<string, number>();
  const apply = (m: Msg): void => {
    if (m.type === 'snapshot') {
      expect(snapSeq.has(m.channel)).toBe(false);
      snapSeq.set(m.channel, m.seq);
      lastSeq.set(m.channel, m.seq);
      for (const b of m.bars) rebuilt.get(m.channel)!.set(b.openTime, barOf(b));
      return;
    }
    expect(m.type, JSON.stringify(m)).toBe('bar'); // no gap, no error
    expect(m.seq).toBe(lastSeq.get(m.channel)! + 1); // contiguous after the snapshot: no hole, no duplicate
    lastSeq.set(m.channel, m.seq);
    rebuilt.get(m.channel)!.set(m.openTime, barOf(m));
  };
  const ack = await client.next(10_000);
  expect(ack).toMatchObject({ type: 'subscribed', id: 1, channels: CHANNELS });

  const candles = async (tf: string, limit: number): Promise<Msg[]> =>
    ((await (await fetch(`http://127.0.0.1:${port}/v1/candles/binance/BTCUSDT/${tf}?limit=${limit}`)).json()) as Msg).candles.map(barOf);
  // The last bars close on the clock after the feed stopped; wait until the stream and HTTP agree.
  let same = false;
  const deadline = Date.now() + 20_000;
  while (!same && Date.now() < deadline) {
    for (const m of await client.sync()) apply(m);
    same = true;
    for (const channel of CHANNELS) {
      const tf = channel.split(':')[3]!;
      const mine = [...rebuilt.get(channel)!.values()].sort((a, b) => a.openTime - b.openTime);
      const served = await candles(tf, mine.length);
      if (JSON.stringify(mine) !== JSON.stringify(served)) same = false;
    }
    if (!same) await new Promise((r) => setTimeout(r, 200));
  }
  for (const channel of CHANNELS) {
    const tf = channel.split(':')[3]!;
    const mine = [...rebuilt.get(channel)!.values()].sort((a, b) => a.openTime - b.openTime);
    expect(mine).toEqual(await candles(tf, mine.length));
    // The snapshot was taken mid-burst: some bars came in it, later ones only live.
    expect(snapSeq.get(channel)!).toBeGreaterThan(0);
    expect(lastSeq.get(channel)!).toBeGreaterThan(snapSeq.get(channel)!);
  }
  const secondBars = rebuilt.get(CHANNELS[0]!)!;
  expect(secondBars.size).toBeGreaterThan(300); // ~346 s of trades
  console.log(
    `[stream-burst] joined after ${joinedAfter} of ${frames.length} frames; snapshot seqs ${[...snapSeq.values()].join(', ')}, ` +
      `last seqs ${[...lastSeq.values()].join(', ')}, 1s bars rebuilt ${secondBars.size}`,
  );
});
