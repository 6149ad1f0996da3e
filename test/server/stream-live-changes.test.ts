/**
 * What `/v1/stream` does with the library's live changes (`change` events):
 * a removed symbol's channels send a last `closed` (binary: an Unsubscribed
 * with no id) and let their subscribers go, whether held by name or by
 * wildcard; subscribing them again is refused; a symbol fed again rejoins
 * the matching wildcards and continues its seq; every change goes out on
 * the `system` room.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeTickwire } from '../support/fake-tickwire.ts';
import { Client, startServer, type Msg, type Running } from './helpers.ts';

let r: Running;
let tw: FakeTickwire;
const clients: Client[] = [];

beforeEach(async () => {
  tw = new FakeTickwire();
  r = await startServer({}, tw);
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await r.server.close();
});

async function connect(binary = false): Promise<Client> {
  const c = await Client.connect(binary ? `${r.wsUrl}?format=fbs` : r.wsUrl);
  clients.push(c);
  return c;
}

describe('stream: live changes', () => {
  it('ends a removed symbol\'s channels for every holder, refuses them, and brings them back with their seq', async () => {
    const byName = await connect();
    const byWildcard = await connect();
    const binary = await connect(true);
    const system = await connect();
    await byName.subscribe(['trades:binance:ETHUSDT']);
    await byWildcard.subscribe(['trades:binance:*']);
    await binary.subscribe(['trades:binance:ETHUSDT']);
    await system.subscribe(['system']);
    await system.take(3); // the three exchanges' current states (storage is off)

    tw.trade('binance', 'ETHUSDT');
    const first: Msg = await byName.next();
    expect(first).toMatchObject({ type: 'trade', symbol: 'ETHUSDT' });
    await byWildcard.next();
    await binary.next();

    tw.removeSymbol('binance', 'ETHUSDT');
    expect(await byName.next()).toEqual({ type: 'closed', channel: 'trades:binance:ETHUSDT', reason: 'removed' });
    expect(await byWildcard.next()).toEqual({ type: 'closed', channel: 'trades:binance:ETHUSDT', reason: 'removed' });
    expect(await binary.next()).toMatchObject({ type: 'unsubscribed', channels: ['trades:binance:ETHUSDT'] });
    expect(await system.next()).toMatchObject({ type: 'system', channel: 'system', source: 'config', action: 'symbol_removed', exchange: 'binance', symbol: 'ETHUSDT' });

    tw.trade('binance', 'ETHUSDT'); // in flight when it went: nobody gets it
    tw.trade('binance', 'BTCUSDT');
    expect(await byWildcard.next()).toMatchObject({ type: 'trade', symbol: 'BTCUSDT' });
    expect(byName.received).toEqual([]);
    const refused: Msg = await byName.subscribe(['trades:binance:ETHUSDT']);
    expect(refused).toMatchObject({ type: 'error', code: 'SYMBOL_NOT_FOUND' });

    tw.addSymbol('binance', 'ETHUSDT');
    expect(await system.next()).toMatchObject({ action: 'symbol_added', symbol: 'ETHUSDT' });
    expect(await byWildcard.next()).toMatchObject({ type: 'subscribed', id: null, channels: ['trades:binance:ETHUSDT'] });
    tw.trade('binance', 'ETHUSDT');
    const back: Msg = await byWildcard.next();
    expect(back).toMatchObject({ type: 'trade', symbol: 'ETHUSDT' });
    expect(back.seq).toBeGreaterThan(first.seq); // the same channel, its seq carried on
    expect(byName.received).toEqual([]); // it holds nothing: the refused subscribe did not subscribe it
  });

  it('ends a removed exchange\'s channels, refuses it after, and opens an added exchange\'s channels to wildcards', async () => {
    const kraken = await connect();
    const everything = await connect();
    const system = await connect();
    await kraken.subscribe(['trades:kraken:XBT/USD']);
    await everything.subscribe(['trades:*:*']);
    await system.subscribe(['system']);
    await system.take(3); // the three exchanges' current states (storage is off)

    tw.removeExchange('kraken');
    expect(await kraken.next()).toEqual({ type: 'closed', channel: 'trades:kraken:XBT/USD', reason: 'removed' });
    const closed = [await everything.next(), await everything.next()];
    expect(closed.map((m: Msg) => [m.type, m.channel, m.reason]).sort()).toEqual([
      ['closed', 'trades:kraken:ETH/USD', 'removed'],
      ['closed', 'trades:kraken:XBT/USD', 'removed'],
    ]);
    expect(await system.next()).toMatchObject({ type: 'system', source: 'config', action: 'exchange_removed', exchange: 'kraken', symbol: null });
    tw.trade('binance', 'BTCUSDT'); // the other exchanges carry on for the same connection
    expect(await everything.next()).toMatchObject({ type: 'trade', exchange: 'binance', symbol: 'BTCUSDT' });
    expect(await kraken.subscribe(['trades:kraken:XBT/USD'])).toMatchObject({ type: 'error', code: 'EXCHANGE_NOT_FOUND' });
    expect(await kraken.subscribe(['trades:kraken:SOL/USD'])).toMatchObject({ type: 'error', code: 'EXCHANGE_NOT_FOUND' });

    tw.addExchange('okx', { symbols: ['BTC-USDT'], channels: ['trades'] });
    expect(await system.next()).toMatchObject({ action: 'exchange_added', exchange: 'okx', symbol: null });
    expect(await everything.next()).toMatchObject({ type: 'subscribed', id: null, channels: ['trades:okx:BTC-USDT'] });
    tw.trade('okx', 'BTC-USDT');
    expect(await everything.next()).toMatchObject({ type: 'trade', exchange: 'okx', symbol: 'BTC-USDT', seq: 1 });
  });
});
