/**
 * A fake of every venue's REST symbol-list endpoint (src/exchanges/venue-symbols.ts)
 * on one loopback HTTP server, answering in each venue's documented shape
 * from the lists a test sets, with a non-trading market beside them (which
 * the parsers must leave out), Bybit paged two at a time, and failures on
 * demand (`fail`: an HTTP status for the next requests).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ListedVenue = 'binance' | 'binance-usdm' | 'coinbase' | 'kraken' | 'bybit' | 'okx' | 'bitstamp' | 'alpaca';

/** The answer body of `venue`'s endpoint for `symbols` (in the config's spelling), plus one halted market; undefined for a path no venue serves. */
function answer(path: string, query: URLSearchParams, listed: ReadonlyMap<ListedVenue, readonly string[]>): unknown {
  const of = (venue: ListedVenue): readonly string[] => listed.get(venue) ?? [];
  switch (path) {
    case '/api/v3/exchangeInfo':
    case '/fapi/v1/exchangeInfo': {
      const symbols = of(path.startsWith('/api') ? 'binance' : 'binance-usdm').map((symbol) => ({ symbol, status: 'TRADING', baseAsset: 'X', quoteAsset: 'Y' }));
      return { timezone: 'UTC', serverTime: Date.now(), symbols: [...symbols, { symbol: 'HALTEDUSDT', status: 'BREAK' }] };
    }
    case '/products':
      return [...of('coinbase').map((id) => ({ id, status: 'online', trading_disabled: false })), { id: 'OLD-USD', status: 'delisted', trading_disabled: true }];
    case '/0/public/AssetPairs': {
      const result: Record<string, unknown> = {};
      for (const s of of('kraken')) {
        const ws = s.replace('BTC', 'XBT').replace('DOGE', 'XDG');
        result[ws.replace('/', '')] = { altname: ws.replace('/', ''), wsname: ws, status: 'online' };
      }
      result['XETHZUSD.d'] = { altname: 'ETHUSD.d' }; // a dark-pool pair: no wsname
      result['HALTUSD'] = { altname: 'HALTUSD', wsname: 'HALT/USD', status: 'cancel_only' };
      return { error: [], result };
    }
    case '/v5/market/instruments-info': {
      const all = [...of('bybit').map((symbol) => ({ symbol, status: 'Trading' })), { symbol: 'PREUSDT', status: 'PreLaunch' }];
      const from = Number(query.get('cursor') ?? 0);
      const next = from + 2 < all.length ? String(from + 2) : '';
      return { retCode: 0, retMsg: 'OK', result: { category: query.get('category'), list: all.slice(from, from + 2), nextPageCursor: next } };
    }
    case '/api/v5/public/instruments': {
      const type = query.get('instType');
      const ids = of('okx').filter((id) => (type === 'SWAP' ? id.endsWith('-SWAP') : type === 'SPOT' ? !id.endsWith('-SWAP') : false));
      return { code: '0', msg: '', data: [...ids.map((instId) => ({ instType: type, instId, state: 'live' })), { instType: type, instId: `SUSP-${type}`, state: 'suspend' }] };
    }
    case '/api/v2/trading-pairs-info/':
      return [...of('bitstamp').map((s) => ({ name: s, url_symbol: s.toLowerCase(), trading: 'Enabled' })), { name: 'OFF/USD', url_symbol: 'offusd', trading: 'Disabled' }];
    case '/v2/assets':
      return [...of('alpaca').map((symbol) => ({ symbol, status: 'active', tradable: true })), { symbol: 'NOTRADE', status: 'active', tradable: false }];
    default:
      return undefined;
  }
}

/** One loopback server for every venue's symbol list. */
export class FakeSymbolLists {
  /** Venue → the symbols it lists (set by the test). */
  readonly listed = new Map<ListedVenue, readonly string[]>();
  /** Every request as `METHOD path?query`, with its headers. */
  readonly requests: { url: string; headers: Record<string, string | string[] | undefined> }[] = [];
  /** Answer the next `failures` requests with `status` instead. */
  fail = { status: 0, failures: 0 };
  #server: Server | undefined;
  #url = '';

  async start(): Promise<string> {
    this.#server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      this.requests.push({ url: `${req.method} ${u.pathname}${u.search}`, headers: req.headers });
      if (this.fail.failures > 0) {
        this.fail.failures--;
        res.writeHead(this.fail.status, { 'content-type': 'application/json' }).end('{"error":"failing on purpose"}');
        return;
      }
      const body = answer(u.pathname, u.searchParams, this.listed);
      if (body === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', () => r()));
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.#url;
  }

  get url(): string {
    return this.#url;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}
