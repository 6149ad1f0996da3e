/**
 * Resume with `since`: replay from each channel's bounded history, exactly
 * the missing messages (the same bytes as first sent), a `gap` reason
 * `history` for what is no longer kept, no duplicate or hole at the seam
 * with the live stream even while messages keep coming.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerOptions } from '../../src/server/server.ts';
import { makeBar } from '../support/fake-tickwire.ts';
import { Client, startServer, tick, waitFor, type Msg, type Running } from './helpers.ts';

const BTC = 'trades:binance:BTCUSDT';
const ETH = 'trades:binance:ETHUSDT';
const BARS = 'bars:binance:BTCUSDT:1m';
const T0 = Date.UTC(2024, 7, 9, 0, 0);
let r: Running;
let clients: Client[] = [];

async function start(options: ServerOptions = {}): Promise<void> {
  r = await startServer(options);
}

async function connect(url = r.wsUrl): Promise<Client> {
  const c = await Client.connect(url);
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients) c.ws.terminate();
  clients = [];
  await r.server.close();
});

const seqs = (msgs: Msg[]): number[] => msgs.map((m) => m.seq);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function trades(n: number, from = 0): void {
  for (let i = 0; i < n; i++) r.tw.trade('binance', 'BTCUSDT', { price: 100 + from + i });
}

describe('resume within history', () => {
  it('replays exactly the missed messages, identical to what a connected client got, then continues live', async () => {
    await start();
    const observer = await connect();
    await observer.subscribe([BTC]);
    const a = await connect();
    const ack = await a.subscribe([BTC]);
    trades(20);
    expect(seqs(await a.take(20))).toEqual(range(1, 20));
    a.ws.terminate();
    await waitFor(() => r.server.connections === 1);
    trades(30, 20);

    const a2 = await connect();
    const reply = await a2.subscribe([BTC], undefined, { since: { [BTC]: 20 }, epoch: ack.epoch });
    expect(reply).toEqual({ type: 'subscribed', id: 1, channels: [BTC], epoch: ack.epoch });
    const replayed = await a2.take(30);
    trades(5, 50);
    const live = await a2.take(5);
    const seen: Msg[] = await observer.take(55);
    expect(seqs(replayed)).toEqual(range(21, 50));
    expect(replayed).toEqual(seen.slice(20, 50));
    expect(live).toEqual(seen.slice(50, 55));
    expect(await a2.sync()).toEqual([]);
  });

  it('the last subscriber leaving does not lose history within the linger: a lone client resumes without loss', async () => {
    await start();
    const a = await connect();
    await a.subscribe([BTC, ETH]);
    trades(3);
    r.tw.trade('binance', 'ETHUSDT');
    await a.take(4);
    a.ws.terminate();
    await waitFor(() => r.server.connections === 0);
    trades(4, 3); // nobody subscribed: recorded because the channel lingers
    const a2 = await connect();
    await a2.subscribe([BTC, ETH], undefined, { since: { [BTC]: 3, [ETH]: 1 } });
    expect(seqs(await a2.take(4))).toEqual([4, 5, 6, 7]);
    expect(await a2.sync()).toEqual([]); // nothing for ETH: it has all of it
  });

  it('no duplicate and no hole at the seam while messages keep coming', async () => {
    await start();
    const keeper = await connect();
    await keeper.subscribe([BTC]); // keeps the channel recording
    let published = 0;
    let running = true;
    const pump = (async () => {
      while (running) {
        for (let i = 0; i < 20; i++) r.tw.trade('binance', 'BTCUSDT', { price: ++published });
        await tick();
      }
    })();
    const results: Msg[][] = [];
    for (let k = 0; k < 5; k++) {
      await waitFor(() => published >= (k + 1) * 100, 5000, 'traffic');
      const c = await connect();
      const since = Math.max(0, published - 37); // within the 1024 kept
      c.send({ op: 'subscribe', id: k, channels: [BTC], since: { [BTC]: since } });
      const got: Msg[] = [await c.next()];
      while ((got.at(-1)!.seq ?? 0) < since + 150) got.push(await c.next());
      results.push(got);
    }
    running = false;
    await pump;
    for (const got of results) {
      expect(got[0].type).toBe('subscribed');
      const msgs = got.slice(1);
      expect(msgs.every((m) => m.type === 'trade')).toBe(true);
      const first = msgs[0].seq;
      expect(seqs(msgs)).toEqual(range(first, first + msgs.length - 1));
      expect(msgs.map((m) => m.price)).toEqual(seqs(msgs)); // price = publish order = seq here
    }
  });

  it('a bars channel resumes its updates; a channel with since gets no snapshot, another one does', async () => {
    await start();
    r.tw.seed('binance', 'BTCUSDT', '5m', 3, T0);
    const a = await connect();
    await a.subscribe([BARS]);
    for (let i = 1; i <= 3; i++) r.tw.bar('binance', 'BTCUSDT', '1m', makeBar(T0, 60_000, 100, false, { trades: i }));
    await a.take(3);
    a.ws.terminate();
    await waitFor(() => r.server.connections === 0);
    r.tw.bar('binance', 'BTCUSDT', '1m', makeBar(T0, 60_000, 100, true, { trades: 4 }));
    const a2 = await connect();
    a2.send({ op: 'subscribe', id: 1, channels: [BARS, 'bars:binance:BTCUSDT:5m'], snapshot: 2, since: { [BARS]: 2 } });
    const [ack, snap, m3, m4] = await a2.take(4);
    expect(ack.type).toBe('subscribed');
    expect(snap).toMatchObject({ type: 'snapshot', channel: 'bars:binance:BTCUSDT:5m' });
    expect(snap.bars).toHaveLength(2);
    expect([m3, m4].map((m) => [m.type, m.seq, m.trades, m.closed])).toEqual([['bar', 3, 3, false], ['bar', 4, 4, true]]);
    expect(await a2.sync()).toEqual([]);
  });
});

describe('resume beyond history', () => {
  it('too old: a gap of reason history names what is gone, then what is kept is replayed', async () => {
    await start({ resumeHistory: 10 });
    const keeper = await connect();
    await keeper.subscribe([BTC]);
    trades(50);
    await keeper.take(50);
    const c = await connect();
    await c.subscribe([BTC], undefined, { since: { [BTC]: 5 } });
    const [gap, ...rest] = await c.take(11);
    expect(gap).toEqual({ type: 'gap', channel: BTC, fromSeq: 6, toSeq: 40, reason: 'history' });
    expect(seqs(rest)).toEqual(range(41, 50));
    trades(1, 50);
    expect((await c.next()).seq).toBe(51);
    const metrics = await (await fetch(`${r.base}/metrics`)).text();
    expect(metrics).toMatch(/tickwire_ws_gap_messages_total\{reason="history"\} 1/);
  });

  it('after the linger, history is dropped: the whole missed range is a gap', async () => {
    await start({ resumeLingerS: 0.2 });
    const a = await connect();
    await a.subscribe([BTC]);
    trades(5);
    await a.take(5);
    a.ws.terminate();
    await waitFor(() => r.server.connections === 0);
    // The sweep runs once a second; the linger is 0.2 s.
    const deadline = Date.now() + 3000;
    for (;;) {
      const text = await (await fetch(`${r.base}/metrics`)).text();
      if (/^tickwire_ws_history_bytes 0$/m.test(text)) break;
      if (Date.now() > deadline) throw new Error('history was never dropped');
      await new Promise((res) => setTimeout(res, 100));
    }
    trades(5, 5);
    const a2 = await connect();
    await a2.subscribe([BTC], undefined, { since: { [BTC]: 5 } });
    expect(await a2.next()).toEqual({ type: 'gap', channel: BTC, fromSeq: 6, toSeq: 10, reason: 'history' });
    trades(1, 10);
    expect((await a2.next()).seq).toBe(11);
  });

  it('with resumeLingerS 0 history ends with the last subscriber', async () => {
    await start({ resumeLingerS: 0 });
    const a = await connect();
    await a.subscribe([BTC]);
    trades(2);
    await a.take(2);
    await a.request({ op: 'unsubscribe', channels: [BTC] });
    trades(3, 2);
    await a.subscribe([BTC], undefined, { since: { [BTC]: 2 } });
    expect(await a.next()).toEqual({ type: 'gap', channel: BTC, fromSeq: 3, toSeq: 5, reason: 'history' });
  });

  it('a replay larger than the reply half of the limit is cut at its oldest end (gap slow_consumer)', async () => {
    await start({ maxBackpressure: 64 * 1024, resumeHistory: 2000 });
    const keeper = await connect();
    await keeper.subscribe([BTC]);
    trades(1000); // ~250 bytes each: ~250 KB, far more than the 32 KiB reply half
    await waitFor(() => keeper.received.length === 1000, 5000, 'the keeper');
    const c = await connect();
    await c.subscribe([BTC], undefined, { since: { [BTC]: 0 } });
    const gap = await c.next();
    expect(gap).toMatchObject({ type: 'gap', channel: BTC, fromSeq: 1, reason: 'slow_consumer' });
    const rest = await c.take(1000 - gap.toSeq);
    expect(seqs(rest)).toEqual(range(gap.toSeq + 1, 1000));
    expect(rest.length).toBeGreaterThan(50);
    expect(rest.length * 200).toBeLessThan(32 * 1024);
    expect(await c.sync()).toEqual([]);
  });
});

describe('since: epochs and bad values', () => {
  it('an epoch of another server life replays from this life\'s start (since counts as 0)', async () => {
    await start();
    const keeper = await connect();
    await keeper.subscribe([BTC]);
    trades(4);
    await keeper.take(4);
    const c = await connect();
    // 999 would be ahead of the channel; with a foreign epoch it means "from the start of this life".
    await c.subscribe([BTC], undefined, { since: { [BTC]: 999 }, epoch: 'feedfacefeedface' });
    expect(seqs(await c.take(4))).toEqual([1, 2, 3, 4]);
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['ahead of the channel', { since: { [BTC]: 5 } }, /ahead/],
    ['a channel not in the subscribe', { since: { [ETH]: 0 } }, /does not include/],
    ['a negative seq', { since: { [BTC]: -1 } }, /since/],
    ['a fractional seq', { since: { [BTC]: 1.5 } }, /since/],
    ['a string seq', { since: { [BTC]: '1' } }, /since/],
    ['since not an object', { since: [1] }, /since/],
    ['an epoch that is not a string', { since: { [BTC]: 0 }, epoch: 5 }, /epoch/],
  ];
  it.each(bad)('%s is INVALID_PARAMETER and changes nothing', async (_name, extra, message) => {
    await start();
    trades(2);
    const c = await connect();
    const err = await c.subscribe([BTC], undefined, extra);
    expect(err).toMatchObject({ type: 'error', id: 1, code: 'INVALID_PARAMETER' });
    expect(err.message).toMatch(message);
    trades(1, 2);
    expect(await c.sync()).toEqual([]); // not subscribed
  });

  it('since for a channel this connection already receives is refused (it would duplicate)', async () => {
    await start();
    const c = await connect();
    await c.subscribe([BTC]);
    trades(2);
    await c.take(2);
    const err = await c.subscribe([BTC], undefined, { since: { [BTC]: 0 } });
    expect(err).toMatchObject({ type: 'error', code: 'INVALID_PARAMETER' });
    expect(err.message).toMatch(/already/);
  });

  it('since keys accept the normalized symbol', async () => {
    await start();
    const keeper = await connect();
    await keeper.subscribe([BTC]);
    trades(3);
    await keeper.take(3);
    const c = await connect();
    await c.subscribe(['trades:binance:BTC-USDT'], undefined, { since: { 'trades:binance:BTC-USDT': 1 } });
    expect(seqs(await c.take(2))).toEqual([2, 3]);
  });
});
