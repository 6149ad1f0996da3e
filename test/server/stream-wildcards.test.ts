/**
 * Wildcard subscriptions: `*` for a whole exchange or symbol segment,
 * expanded on the server over the known channels (native or normalized
 * symbols), including symbols that appear later; messages always name the
 * concrete channel.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeBar } from '../support/fake-tickwire.ts';
import { Client, LiveFakeTickwire, startServer, waitFor, type Msg, type Running } from './helpers.ts';

let r: Running;
let tw: LiveFakeTickwire;
let clients: Client[] = [];

beforeEach(async () => {
  tw = new LiveFakeTickwire();
  r = await startServer({}, tw);
});

afterEach(async () => {
  for (const c of clients) c.ws.terminate();
  clients = [];
  await r.server.close();
});

async function connect(): Promise<Client> {
  const c = await Client.connect(r.wsUrl);
  clients.push(c);
  return c;
}

describe('expansion', () => {
  it.each([
    ['trades:binance:*', ['trades:binance:BTCUSDT', 'trades:binance:ETHUSDT']],
    ['quotes:*:*', ['quotes:binance:BTCUSDT', 'quotes:binance:ETHUSDT']],
    ['trades:*:BTCUSDT', ['trades:binance:BTCUSDT', 'trades:bybit:BTCUSDT']],
    ['bars:*:BTCUSDT:M1', ['bars:binance:BTCUSDT:1m', 'bars:bybit:BTCUSDT:1m']],
    ['bars:*:BTC-USD:5m', ['bars:kraken:XBT/USD:5m']],
    ['bars:kraken:*:1m', ['bars:kraken:XBT/USD:1m', 'bars:kraken:ETH/USD:1m']],
    ['trades:*:*', ['trades:binance:BTCUSDT', 'trades:binance:ETHUSDT', 'trades:kraken:XBT/USD', 'trades:kraken:ETH/USD', 'trades:bybit:BTCUSDT']],
  ])('%s expands to the concrete channels', async (pattern, expected) => {
    const c = await connect();
    const ack = await c.subscribe([pattern]);
    expect(ack).toMatchObject({ type: 'subscribed', id: 1, channels: expected });
  });

  it('messages name the concrete channel; a channel given twice (wildcard and name) is one subscription', async () => {
    const c = await connect();
    const ack = await c.subscribe(['trades:binance:BTCUSDT', 'trades:*:BTCUSDT', 'bars:binance:*:1m']);
    expect(ack.channels).toEqual(['trades:binance:BTCUSDT', 'trades:bybit:BTCUSDT', 'bars:binance:BTCUSDT:1m', 'bars:binance:ETHUSDT:1m']);
    tw.trade('bybit', 'BTCUSDT');
    tw.trade('binance', 'BTCUSDT');
    tw.trade('kraken', 'XBT/USD');
    tw.bar('binance', 'ETHUSDT', '1m', makeBar(Date.UTC(2024, 0, 1), 60_000, 10, false));
    const got = await c.sync();
    expect(got.map((m: Msg) => [m.type, m.channel, m.seq])).toEqual([
      ['trade', 'trades:bybit:BTCUSDT', 1],
      ['trade', 'trades:binance:BTCUSDT', 1],
      ['bar', 'bars:binance:ETHUSDT:1m', 1],
    ]);
    const metrics = await (await fetch(`${r.base}/metrics`)).text();
    expect(metrics).toMatch(/^tickwire_subscribers 4$/m);
  });

  it.each([
    ['*:binance:BTCUSDT', 'UNKNOWN_CHANNEL'],
    ['bars:binance:BTCUSDT:*', 'UNKNOWN_CHANNEL'],
    ['trades:bin*:BTCUSDT', 'UNKNOWN_CHANNEL'],
    ['trades:binance:BTC*', 'UNKNOWN_CHANNEL'],
    ['*', 'UNKNOWN_CHANNEL'],
    ['trades:nope:*', 'EXCHANGE_NOT_FOUND'],
    ['quotes:kraken:*', 'UNKNOWN_CHANNEL'],
    ['trades:*:DOGEUSDT', 'SYMBOL_NOT_FOUND'],
    ['quotes:*:XBT/USD', 'SYMBOL_NOT_FOUND'],
    ['bars:*:BTCUSDT:1h', 'INVALID_TIMEFRAME'],
    ['bars:*:BTCUSDT:7m', 'INVALID_TIMEFRAME'],
  ])('%s is refused with %s, the connection stays usable', async (pattern, code) => {
    const c = await connect();
    expect(await c.subscribe([pattern])).toMatchObject({ type: 'error', id: 1, code });
    expect(await c.subscribe(['trades:binance:*'])).toMatchObject({ type: 'subscribed' });
  });

  it('a wildcard counts what it expands to against the channel limit', async () => {
    await r.server.close();
    r = await startServer({ maxChannelsPerConnection: 4 }, tw);
    const c = await connect();
    const err = await c.subscribe(['trades:*:*']);
    expect(err).toMatchObject({ type: 'error', code: 'INVALID_PARAMETER' });
    expect(err.message).toContain('5');
    expect(await c.subscribe(['trades:binance:*', 'trades:kraken:*'])).toMatchObject({ channels: expect.any(Array) });
  });
});

describe('channels that appear later', () => {
  it('a new symbol matching a held wildcard is joined and announced before its first message', async () => {
    const wild = await connect();
    const named = await connect();
    await wild.subscribe(['trades:binance:*', 'bars:binance:*:1m']);
    await named.subscribe(['trades:binance:BTCUSDT']);
    tw.addSymbol('binance', 'SOLUSDT');
    tw.trade('binance', 'SOLUSDT', { price: 150 });
    tw.trade('binance', 'SOLUSDT', { price: 151 });
    tw.bar('binance', 'SOLUSDT', '1m', makeBar(Date.UTC(2024, 0, 1), 60_000, 150, false));
    const got = await wild.sync();
    expect(got.map((m: Msg) => [m.type, m.id ?? null, m.channel ?? m.channels, m.seq ?? null])).toEqual([
      // All of the symbol's channels appear together, on its first event.
      ['subscribed', null, ['trades:binance:SOLUSDT'], null],
      ['subscribed', null, ['bars:binance:SOLUSDT:1m'], null],
      ['trade', null, 'trades:binance:SOLUSDT', 1],
      ['trade', null, 'trades:binance:SOLUSDT', 2],
      ['bar', null, 'bars:binance:SOLUSDT:1m', 1],
    ]);
    expect(got[0].epoch).toBe(r.server.epoch);
    expect(await named.sync()).toEqual([]);
  });

  it('a wildcard naming a symbol no exchange has yet is refused (SYMBOL_NOT_FOUND), as its concrete name would be', async () => {
    const c = await connect();
    expect(await c.subscribe(['bars:*:SOL-USDT:1m'])).toMatchObject({ type: 'error', code: 'SYMBOL_NOT_FOUND' });
    tw.addSymbol('binance', 'SOLUSDT');
    expect(await c.subscribe(['bars:*:SOL-USDT:1m'])).toMatchObject({ type: 'subscribed', channels: ['bars:binance:SOLUSDT:1m'] });
  });

  it('a symbol announced by an exchange status report is joined without waiting for its first trade', async () => {
    const wild = await connect();
    await wild.subscribe(['trades:kraken:*']);
    tw.addSymbol('kraken', 'SOL/USD');
    tw.emitStatus('kraken');
    await waitFor(() => wild.received.length > 0, 3000, 'the announcement');
    expect(wild.received[0]).toMatchObject({ type: 'subscribed', id: null, channels: ['trades:kraken:SOL/USD'] });
    // A concrete subscribe finds it too.
    const other = await connect();
    expect(await other.subscribe(['trades:kraken:SOL/USD'])).toMatchObject({ channels: ['trades:kraken:SOL/USD'] });
  });

  it('after unsubscribing the wildcard, its channels stop and new symbols are not joined', async () => {
    const c = await connect();
    await c.subscribe(['trades:binance:*', 'trades:kraken:XBT/USD']);
    const reply = await c.request({ op: 'unsubscribe', channels: ['trades:binance:*'] });
    expect(reply).toEqual({ type: 'unsubscribed', id: 2, channels: ['trades:binance:BTCUSDT', 'trades:binance:ETHUSDT'] });
    tw.addSymbol('binance', 'SOLUSDT');
    tw.trade('binance', 'SOLUSDT');
    tw.trade('binance', 'BTCUSDT');
    tw.trade('kraken', 'XBT/USD');
    expect((await c.sync()).map((m: Msg) => m.channel)).toEqual(['trades:kraken:XBT/USD']);
  });

  it('a new channel that would pass the channel limit is not joined: an error says so', async () => {
    await r.server.close();
    r = await startServer({ maxChannelsPerConnection: 2 }, tw);
    const c = await connect();
    await c.subscribe(['trades:binance:*']);
    tw.addSymbol('binance', 'SOLUSDT');
    tw.trade('binance', 'SOLUSDT');
    const [err] = await c.sync();
    expect(err).toMatchObject({ type: 'error', id: null, code: 'INVALID_PARAMETER' });
    expect(err.message).toContain('trades:binance:SOLUSDT');
  });
});
