/**
 * Venue symbol lists (src/exchanges/venue-symbols.ts): each built-in venue's
 * list fetched from a loopback fake of its documented endpoint, through the
 * registry entry the runtime uses, keeping only the tradable markets in the
 * config's spelling; bodies off the documented shape and error statuses are
 * VenueRestErrors naming the endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExchangeConfig } from '../../src/config/types.ts';
import { VenueRestError } from '../../src/errors.ts';
import { adapterFor } from '../../src/exchanges/registry.ts';
import {
  MAX_LISTED_SYMBOLS,
  parseBinanceExchangeInfo,
  parseBybitInstruments,
  parseKrakenAssetPairs,
  parseOkxInstruments,
} from '../../src/exchanges/venue-symbols.ts';
import { FakeSymbolLists, type ListedVenue } from '../support/fake-symbol-lists.ts';

const fake = new FakeSymbolLists();

beforeAll(async () => {
  await fake.start();
});
afterAll(async () => {
  await fake.stop();
});

function config(over: Partial<ExchangeConfig> = {}): ExchangeConfig {
  return { url: undefined, symbols: ['X'], channels: ['trades'], rate: 0, seed: 1, restUrl: undefined, key: undefined, secret: undefined, assetClass: 'stocks', feed: undefined, ...over };
}

const CASES: [ListedVenue, string[], Partial<ExchangeConfig>?][] = [
  ['binance', ['BTCUSDT', 'ETHUSDT']],
  ['binance-usdm', ['BTCUSDT', '1000PEPEUSDT']],
  ['coinbase', ['BTC-USD', 'ETH-EUR']],
  ['kraken', ['BTC/USD', 'DOGE/EUR', 'ETH/USD']],
  ['bybit', ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT', 'ADAUSDT'], { url: 'wss://stream.bybit.com/v5/public/linear' }],
  ['okx', ['BTC-USDT', 'ETH-USDT', 'BTC-USDT-SWAP']],
  ['bitstamp', ['BTCUSD', 'ETHEUR']],
  ['alpaca', ['AAPL', 'BRK.B'], { key: 'key-id', secret: 'secret-key' }],
];

describe('venue symbol lists', () => {
  for (const [venue, symbols, over] of CASES) {
    it(`${venue}: the tradable symbols, in the config's spelling`, async () => {
      fake.listed.set(venue, symbols);
      const source = adapterFor(venue)!.symbolList!;
      const got = await source.fetch(fake.url, config(over));
      expect(new Set(got)).toEqual(new Set(symbols));
    });
  }

  it('bybit reads the category from the URL and follows the cursor to the last page', async () => {
    fake.requests.length = 0;
    fake.listed.set('bybit', ['A1', 'A2', 'A3', 'A4', 'A5']);
    await adapterFor('bybit')!.symbolList!.fetch(fake.url, config({ url: 'wss://stream.bybit.com/v5/public/linear' }));
    // 5 tradable + 1 pre-launch, two a page: three pages.
    expect(fake.requests.map((r) => r.url)).toEqual([
      'GET /v5/market/instruments-info?category=linear&limit=1000',
      'GET /v5/market/instruments-info?category=linear&limit=1000&cursor=2',
      'GET /v5/market/instruments-info?category=linear&limit=1000&cursor=4',
    ]);
  });

  it('alpaca asks for the asset class configured, with the account key headers', async () => {
    fake.requests.length = 0;
    fake.listed.set('alpaca', ['BTC/USD']);
    await adapterFor('alpaca')!.symbolList!.fetch(fake.url, config({ assetClass: 'crypto', key: 'kid', secret: 'sec' }));
    expect(fake.requests[0]!.url).toBe('GET /v2/assets?status=active&asset_class=crypto');
    expect(fake.requests[0]!.headers['apca-api-key-id']).toBe('kid');
    expect(fake.requests[0]!.headers['apca-api-secret-key']).toBe('sec');
  });

  it('a base URL with a path (a proxy) keeps its prefix', async () => {
    fake.requests.length = 0;
    await adapterFor('coinbase')!.symbolList!.fetch(`${fake.url}/venue`, config()).catch(() => undefined);
    expect(fake.requests[0]!.url).toBe('GET /venue/products');
  });

  it('an error status is a VenueRestError naming the endpoint and status', async () => {
    fake.fail = { status: 503, failures: 1 };
    const err = await adapterFor('kraken')!.symbolList!.fetch(fake.url, config()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VenueRestError);
    expect((err as VenueRestError).status).toBe(503);
    expect((err as Error).message).toContain('0/public/AssetPairs answered HTTP 503');
  });

  it('an endpoint answering something else (a 200 that is not the list) is refused, naming the endpoint', async () => {
    const err = await adapterFor('binance')!.symbolList!.fetch(`${fake.url}/elsewhere`, config()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VenueRestError);
    expect((err as Error).message).toContain('api/v3/exchangeInfo answered HTTP 404');
  });
});

describe('venue symbol list parsers', () => {
  it('refuse bodies off the documented shape', () => {
    expect(parseBinanceExchangeInfo({ symbols: [{ symbol: 1, status: 'TRADING' }] })).toBeUndefined();
    expect(parseBinanceExchangeInfo([])).toBeUndefined();
    expect(parseKrakenAssetPairs({ error: ['EGeneral:Temporary lockout'], result: {} })).toBeUndefined();
    expect(parseBybitInstruments({ retCode: 10006, retMsg: 'Too many visits!' })).toBeUndefined();
    expect(parseOkxInstruments({ code: '50011', msg: 'Too Many Requests', data: [] })).toBeUndefined();
  });

  it('kraken: v1 asset codes are spelled as v2 subscribes them', () => {
    const body = { error: [], result: { XXBTZUSD: { wsname: 'XBT/USD', status: 'online' }, XDGEUR: { wsname: 'XDG/EUR', status: 'online' } } };
    expect(parseKrakenAssetPairs(body)).toEqual(['BTC/USD', 'DOGE/EUR']);
  });

  it('a list past the bound is refused (memory stays bounded)', async () => {
    fake.listed.set('coinbase', Array.from({ length: MAX_LISTED_SYMBOLS + 1 }, (_, i) => `S${i}-USD`));
    const err = await adapterFor('coinbase')!.symbolList!.fetch(fake.url, config()).catch((e: unknown) => e);
    expect((err as Error).message).toContain(`more than the ${MAX_LISTED_SYMBOLS} accepted`);
  });
});
