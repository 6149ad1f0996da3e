/**
 * What each venue lists: its public REST symbol-list endpoint, read into the
 * symbols it trades now, spelled as tickwire's config names them (the
 * spelling each adapter subscribes with). The runtime fetches these at start
 * and daily (src/api/venue-lists.ts) to check live additions and on-demand
 * subscriptions against them (docs/operations.md).
 *
 * Every request goes through `restGet` (src/exchanges/rest.ts), so the
 * venue's adaptive limiter paces it. A parser is pure: a JSON body in, the
 * tradable symbols out, or undefined when the body is not the documented
 * shape (the fetch then throws VenueRestError naming the endpoint). Only
 * symbols in a trading state are kept: a halted or delisted market would
 * subscribe and stay silent.
 *
 * Endpoints and shapes (each venue's docs, as linked):
 *  - binance, simulated: `GET /api/v3/exchangeInfo` → `{symbols:[{symbol, status:"TRADING"}]}`
 *    (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-endpoints)
 *  - binance-usdm: `GET /fapi/v1/exchangeInfo` → the same shape
 *    (https://developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/Exchange-Information)
 *  - coinbase: `GET /products` → `[{id:"BTC-USD", status:"online", trading_disabled:false}]`
 *    (https://docs.cdp.coinbase.com/exchange/reference/exchangerestapi_getproducts)
 *  - kraken: `GET /0/public/AssetPairs` → `{error:[], result:{XXBTZUSD:{wsname:"XBT/USD", status:"online"}}}`;
 *    `wsname` is the v1 spelling: the two assets v2 renamed (XBT → BTC, XDG →
 *    DOGE) are spelled as v2 does (kraken.ts, `krakenRestPair` the other way)
 *    (https://docs.kraken.com/api/docs/rest-api/get-tradable-asset-pairs)
 *  - bybit: `GET /v5/market/instruments-info?category=<the URL's>&limit=1000[&cursor=]`
 *    → `{retCode:0, result:{list:[{symbol, status:"Trading"}], nextPageCursor}}`, paged
 *    (https://bybit-exchange.github.io/docs/v5/market/instrument)
 *  - okx: `GET /api/v5/public/instruments?instType=SPOT|SWAP|FUTURES` →
 *    `{code:"0", data:[{instId, state:"live"}]}`, one request per type (a config
 *    may mix `BTC-USDT` and `BTC-USDT-SWAP`)
 *    (https://www.okx.com/docs-v5/en/#public-data-rest-api-get-instruments)
 *  - bitstamp: `GET /api/v2/trading-pairs-info/` → `[{url_symbol:"btcusd", trading:"Enabled"}]`;
 *    listed upper case (`BTCUSD`), and bitstamp names are compared without
 *    case, as its adapter subscribes them (https://www.bitstamp.net/api/)
 *  - alpaca: `GET /v2/assets?status=active&asset_class=us_equity|crypto` with the
 *    account's key headers → `[{symbol, status:"active", tradable:true}]`
 *    (https://docs.alpaca.markets/reference/get-v2-assets)
 */
import { VenueRestError } from '../errors.ts';
import type { ExchangeConfig } from '../config/types.ts';
import { BybitAdapter } from './bybit.ts';
import { answerError, restGet, type RestRequest } from './rest.ts';

/** Most symbols one venue's list may hold (Alpaca's US equities are about 12,000): a longer answer is refused, memory stays bounded. */
export const MAX_LISTED_SYMBOLS = 100_000;
/** Most pages one paged list (Bybit) is read over. */
const MAX_PAGES = 20;

/** How one venue's symbol list is fetched: the endpoint as logs name it, and the fetch. */
export interface SymbolListSource {
  /** The endpoint, e.g. `GET /api/v3/exchangeInfo`. */
  endpoint: string;
  /** Names compare without case (the adapter lower-cases what it subscribes). */
  caseInsensitive?: boolean;
  /** The venue's tradable symbols at `restUrl`, in the config's spelling; throws VenueRestError. */
  fetch(restUrl: string, config: ExchangeConfig): Promise<string[]>;
}

/** `GET base + path` and its parsed list; throws VenueRestError for no answer, an error status or an unreadable body. */
async function getList(venue: string, restUrl: string, path: string, parse: (body: unknown) => string[] | undefined, request?: RestRequest): Promise<string[]> {
  const answer = await restGet(venue, new URL(path, withSlash(restUrl)), request);
  if (!answer.ok) throw answerError(answer, `${venue} REST: ${path} answered HTTP ${answer.status}: ${answer.text.slice(0, 200)}`);
  const symbols = parse(answer.body);
  if (symbols === undefined) throw answerError(answer, `${venue} REST: ${path} answered a body that is not its documented symbol list: ${answer.text.slice(0, 200)}`);
  if (symbols.length > MAX_LISTED_SYMBOLS) throw answerError(answer, `${venue} REST: ${path} listed ${symbols.length} symbols, more than the ${MAX_LISTED_SYMBOLS} accepted`);
  return symbols;
}

/** A base URL with a trailing slash, so a relative path keeps the base's own path (a proxy's prefix). */
function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The `name` of each item whose `keep` holds; undefined when `items` is not an array or an item is not an object with a string name. */
function names(items: unknown, name: string, keep: (item: Record<string, unknown>) => boolean): string[] | undefined {
  if (!Array.isArray(items)) return undefined;
  const out: string[] = [];
  for (const item of items) {
    if (!isRecord(item) || typeof item[name] !== 'string') return undefined;
    if (keep(item)) out.push(item[name]);
  }
  return out;
}

// ── parsers (pure) ─────────────────────────────────────────────────────────

/** Binance spot and USDⓈ-M `exchangeInfo`: the symbols whose status is TRADING. */
export function parseBinanceExchangeInfo(body: unknown): string[] | undefined {
  return isRecord(body) ? names(body['symbols'], 'symbol', (s) => s['status'] === 'TRADING') : undefined;
}

/** Coinbase `/products`: the products online and not trading-disabled. */
export function parseCoinbaseProducts(body: unknown): string[] | undefined {
  return names(body, 'id', (p) => p['status'] === 'online' && p['trading_disabled'] !== true);
}

/** Kraken `AssetPairs`: the online pairs, by `wsname` in v2 spelling (XBT → BTC, XDG → DOGE). */
export function parseKrakenAssetPairs(body: unknown): string[] | undefined {
  if (!isRecord(body) || !Array.isArray(body['error']) || body['error'].length > 0 || !isRecord(body['result'])) return undefined;
  const out: string[] = [];
  for (const pair of Object.values(body['result'])) {
    if (!isRecord(pair)) return undefined;
    const ws = pair['wsname'];
    // Dark-pool pairs (`.d`) have no wsname: not streamable.
    if (typeof ws !== 'string' || (pair['status'] !== undefined && pair['status'] !== 'online')) continue;
    out.push(ws.split('/').map((asset) => (asset === 'XBT' ? 'BTC' : asset === 'XDG' ? 'DOGE' : asset)).join('/'));
  }
  return out;
}

/** One page of Bybit `instruments-info`: the Trading symbols and the next page's cursor ('' at the end). */
export function parseBybitInstruments(body: unknown): { symbols: string[]; cursor: string } | undefined {
  if (!isRecord(body) || body['retCode'] !== 0 || !isRecord(body['result'])) return undefined;
  const symbols = names(body['result']['list'], 'symbol', (s) => s['status'] === 'Trading');
  const cursor = body['result']['nextPageCursor'];
  return symbols === undefined ? undefined : { symbols, cursor: typeof cursor === 'string' ? cursor : '' };
}

/** OKX `public/instruments`: the live instIds. */
export function parseOkxInstruments(body: unknown): string[] | undefined {
  return isRecord(body) && body['code'] === '0' ? names(body['data'], 'instId', (i) => i['state'] === 'live') : undefined;
}

/** Bitstamp `trading-pairs-info`: the enabled pairs, upper case (`BTCUSD`). */
export function parseBitstampPairs(body: unknown): string[] | undefined {
  return names(body, 'url_symbol', (p) => p['trading'] === 'Enabled')?.map((s) => s.toUpperCase());
}

/** Alpaca `/v2/assets`: the active, tradable assets. */
export function parseAlpacaAssets(body: unknown): string[] | undefined {
  return names(body, 'symbol', (a) => a['status'] === 'active' && a['tradable'] === true);
}

// ── the venues ─────────────────────────────────────────────────────────────

/** Binance spot (and the simulated exchange, which serves the same endpoint). */
export const binanceSymbolList: SymbolListSource = {
  endpoint: 'GET /api/v3/exchangeInfo',
  fetch: (restUrl) => getList('binance', restUrl, 'api/v3/exchangeInfo', parseBinanceExchangeInfo),
};

export const binanceUsdmSymbolList: SymbolListSource = {
  endpoint: 'GET /fapi/v1/exchangeInfo',
  fetch: (restUrl) => getList('binance-usdm', restUrl, 'fapi/v1/exchangeInfo', parseBinanceExchangeInfo),
};

export const coinbaseSymbolList: SymbolListSource = {
  endpoint: 'GET /products',
  // Coinbase refuses requests without a User-Agent.
  fetch: (restUrl) => getList('coinbase', restUrl, 'products', parseCoinbaseProducts, { headers: { 'user-agent': 'tickwire', accept: 'application/json' } }),
};

export const krakenSymbolList: SymbolListSource = {
  endpoint: 'GET /0/public/AssetPairs',
  fetch: (restUrl) => getList('kraken', restUrl, '0/public/AssetPairs', parseKrakenAssetPairs),
};

export const bybitSymbolList: SymbolListSource = {
  endpoint: 'GET /v5/market/instruments-info',
  async fetch(restUrl, config) {
    const category = BybitAdapter.categoryOf(config.url);
    const out: string[] = [];
    let cursor = '';
    for (let page = 0; page < MAX_PAGES; page++) {
      const query = `v5/market/instruments-info?category=${category}&limit=1000${cursor === '' ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      let next = '';
      out.push(
        ...(await getList('bybit', restUrl, query, (body) => {
          const parsed = parseBybitInstruments(body);
          next = parsed?.cursor ?? '';
          return parsed?.symbols;
        })),
      );
      if (next === '' || out.length > MAX_LISTED_SYMBOLS) return out;
      cursor = next;
    }
    throw new VenueRestError('bybit', `bybit REST: instruments-info still had more pages after ${MAX_PAGES}`);
  },
};

export const okxSymbolList: SymbolListSource = {
  endpoint: 'GET /api/v5/public/instruments',
  async fetch(restUrl) {
    const out: string[] = [];
    for (const type of ['SPOT', 'SWAP', 'FUTURES']) out.push(...(await getList('okx', restUrl, `api/v5/public/instruments?instType=${type}`, parseOkxInstruments)));
    return out;
  },
};

export const bitstampSymbolList: SymbolListSource = {
  endpoint: 'GET /api/v2/trading-pairs-info/',
  caseInsensitive: true,
  fetch: (restUrl) => getList('bitstamp', restUrl, 'api/v2/trading-pairs-info/', parseBitstampPairs),
};

export const alpacaSymbolList: SymbolListSource = {
  endpoint: 'GET /v2/assets',
  fetch: (restUrl, config) =>
    getList('alpaca', restUrl, `v2/assets?status=active&asset_class=${config.assetClass === 'crypto' ? 'crypto' : 'us_equity'}`, parseAlpacaAssets, {
      headers: { 'APCA-API-KEY-ID': config.key ?? '', 'APCA-API-SECRET-KEY': config.secret ?? '', accept: 'application/json' },
    }),
};
