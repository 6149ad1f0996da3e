import { afterEach, describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../src/errors.ts';
import { SimulatedMarket, type SimTrade } from '../../src/sim/market.ts';
import { SimulatedExchange } from '../../src/sim/simulated-exchange.ts';
import { TestClient, closeAllClients } from './ws-client.ts';

const exchanges: SimulatedExchange[] = [];

async function startExchange(): Promise<{ exchange: SimulatedExchange; url: string }> {
  // Seed 3: both symbols trade within the first 100 ms of market time.
  const exchange = new SimulatedExchange({ symbols: ['SIM-BTC', 'SIM-ETH'], rate: 100, seed: 3, tickMs: 20 });
  exchanges.push(exchange);
  const { url } = await exchange.start();
  return { exchange, url };
}

afterEach(async () => {
  await closeAllClients();
  await Promise.all(exchanges.splice(0).map((e) => e.stop()));
});

interface Frame {
  stream: string;
  data: Record<string, unknown>;
}

describe('SimulatedExchange', () => {
  it('publishes trades to <lowercase symbol>@trade and quotes to @bookTicker, only where subscribed', async () => {
    const { url } = await startExchange();
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const client = await TestClient.connect(`${url}/stream?streams=sim-btc@trade/sim-eth@trade/sim-eth@bookTicker`);
    const frames = (): Frame[] => client.frames.map((t) => JSON.parse(t) as Frame);
    await client.until(() => {
      const f = frames();
      return f.filter((x) => x.stream === 'sim-btc@trade').length >= 10 && f.some((x) => x.stream === 'sim-eth@bookTicker');
    }, 3_000);
    for (const { stream, data } of frames()) {
      expect(['sim-btc@trade', 'sim-eth@trade', 'sim-eth@bookTicker']).toContain(stream);
      expect(data['s']).toBe(stream.startsWith('sim-btc') ? 'SIM-BTC' : 'SIM-ETH');
      if (stream.endsWith('@trade')) expect(data).toMatchObject({ e: 'trade', M: true });
      else expect(Object.keys(data)).toEqual(['u', 's', 'b', 'B', 'a', 'A']);
    }
  });

  it('pauses the market while nobody is connected: the first trades are the seed\'s first trades', async () => {
    const { exchange, url } = await startExchange();
    await new Promise((r) => setTimeout(r, 100)); // idle ticks: skipped, nothing generated
    expect(exchange.market.now).toBeGreaterThan(0);
    const client = await TestClient.connect(`${url}/stream?streams=sim-btc@trade`);
    await client.until(() => client.frames.length >= 5, 3_000);
    const got = client.frames.slice(0, 5).map((t) => (JSON.parse(t) as { data: SimTrade }).data);

    const expected: SimTrade[] = [];
    const ref = new SimulatedMarket({ symbols: ['SIM-BTC', 'SIM-ETH'], rate: 100, seed: 3, onTrade: (s, t) => s === 'SIM-BTC' && expected.push(t) });
    for (let t = 0; expected.length < 5; t += 20) ref.step(t);
    const shape = (t: SimTrade): unknown[] => [t.t, t.p, t.q, t.m];
    expect(got.map(shape)).toEqual(expected.slice(0, 5).map(shape));
    for (let i = 1; i < got.length; i++) expect(got[i]!.t).toBe(got[i - 1]!.t + 1);
  });

  it('serves live SUBSCRIBE requests and stops cleanly', async () => {
    const { exchange, url } = await startExchange();
    const client = await TestClient.connect(`${url}/stream`);
    client.send({ method: 'SUBSCRIBE', params: ['sim-btc@bookTicker'], id: 1 });
    expect(await client.reply(1)).toEqual({ result: null, id: 1 });
    await client.frame((t) => t.startsWith('{"stream":"sim-btc@bookTicker","data":{"u":'), 0, 3_000);
    await exchange.stop();
    expect((await client.closed).code).toBe(1006);
    expect(exchange.server.connections).toBe(0);
  });

  it('rejects bad options', () => {
    expect(() => new SimulatedExchange({ symbols: ['SIM-BTC'], rate: 1, seed: 1, tickMs: 0 })).toThrow(InvalidParameterError);
    expect(() => new SimulatedExchange({ symbols: [], rate: 1, seed: 1 })).toThrow(/symbols/);
  });
});
