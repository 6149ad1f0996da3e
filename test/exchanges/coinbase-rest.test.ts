/**
 * Coinbase gap recovery over the public REST API (`GET /products/{id}/trades`,
 * paging backward with `after=<trade_id>`), against a fake of that endpoint on
 * loopback serving the recorded SKL-USD trades of
 * ../shared/fixtures/coinbase/frames.jsonl (53 consecutive trade ids), and
 * synthetic trades continuing them where a gap must be longer than the
 * recording. Then end to end: the fake ws-feed drops the connection, and the
 * trades it never delivered arrive through REST.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import type { TradeEvent } from '../../src/model/events.ts';
import { CoinbaseAdapter, REST_LIMIT, REST_MAX_PAGES } from '../../src/exchanges/coinbase.ts';
import { until } from '../support/until.ts';
import { coinbaseFrames, FakeCoinbase } from '../support/fake-coinbase.ts';
import { Prng } from '../support/prng.ts';

/** An item of GET /products/{id}/trades: `side` is the maker's. */
interface RestTrade {
  time: string;
  trade_id: number;
  price: string;
  size: string;
  side: 'buy' | 'sell';
}

const PRODUCT = 'SKL-USD';
/** The recorded SKL-USD `last_match` and `match` frames, in order. */
const FRAMES = coinbaseFrames().filter((f) => /"type":"(last_)?match"/.test(f) && f.includes(`"product_id":"${PRODUCT}"`));
/** The same trades as the REST API serves them, oldest first. */
const TRADES: RestTrade[] = FRAMES.map((f) => {
  const m = JSON.parse(f) as RestTrade;
  return { time: m.time, trade_id: m.trade_id, price: m.price, size: m.size, side: m.side };
});

/** `n` realistic trades after the recorded ones: ids consecutive, time and price walking on. */
function continued(n: number, seed = 7): RestTrade[] {
  const rng = new Prng(seed);
  const last = TRADES.at(-1)!;
  let ms = Date.parse(last.time);
  let price = Number(last.price);
  return Array.from({ length: n }, (_, i) => {
    ms += rng.int(0, 900);
    price = Math.max(0.5, Math.round((price + (rng.int(0, 2) - 1) * 0.0001) * 10_000) / 10_000);
    const micros = String(rng.int(0, 999)).padStart(3, '0');
    return {
      time: new Date(ms).toISOString().replace('Z', `${micros}Z`),
      trade_id: last.trade_id + 1 + i,
      price: String(price),
      size: String(rng.int(1, 5_000)),
      side: rng.int(0, 1) === 0 ? 'buy' : 'sell',
    };
  });
}

/** What tradesFrom must make of `t`: the aggressor is the maker's other side. */
const expected = (t: RestTrade) => ({ id: t.trade_id, ts: Date.parse(t.time), price: Number(t.price), size: Number(t.size), side: t.side === 'sell' ? 1 : -1 });

interface RestOptions {
  /** Most trades the fake puts in one page whatever `limit` says (Coinbase: 1000). */
  maxPage?: number;
  /** Answer every request with this status and Coinbase's error body. */
  status?: number;
  /** Rewrite a page before it is sent (malformed answers). */
  mutate?: (page: RestTrade[]) => unknown;
  /** Ignore `after` (a broken venue). */
  ignoreAfter?: boolean;
}

const servers: Server[] = [];

/**
 * A fake of Coinbase's `GET /products/{product_id}/trades?limit=&after=`:
 * newest first; `after` gives the trades older than that trade_id; `limit`
 * 1..1000 (default 1000); CB-BEFORE/CB-AFTER carry the page's newest and
 * oldest ids; unknown products 404 `{"message":"NotFound"}`.
 */
async function startRest(trades: RestTrade[], options: RestOptions = {}): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    requests.push(u.pathname + u.search);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    if (options.status !== undefined) return reply(options.status, { message: options.status === 429 ? 'Public rate limit exceeded' : 'Internal server error' });
    const m = /^\/products\/([^/]+)\/trades$/.exec(u.pathname);
    if (m === null || decodeURIComponent(m[1]!) !== PRODUCT) return reply(404, { message: 'NotFound' });
    const limitText = u.searchParams.get('limit') ?? '1000';
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > 1000) return reply(400, { message: 'Invalid limit' });
    const afterText = u.searchParams.get('after');
    if (afterText !== null && !/^\d+$/.test(afterText)) return reply(400, { message: 'Invalid after' });
    const after = afterText === null || options.ignoreAfter === true ? Infinity : Number(afterText);
    const older = trades.filter((t) => t.trade_id < after);
    const page = older.slice(Math.max(0, older.length - Math.min(limit, options.maxPage ?? 1000))).reverse();
    const headers: Record<string, string> = page.length === 0 ? {} : { 'cb-before': String(page[0]!.trade_id), 'cb-after': String(page.at(-1)!.trade_id) };
    reply(200, options.mutate ? options.mutate(page) : page, headers);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, requests };
}

let fake: FakeCoinbase | undefined;
let tickwire: Tickwire | undefined;

afterEach(async () => {
  await tickwire?.stop();
  await fake?.close();
  tickwire = undefined;
  fake = undefined;
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

const adapter = new CoinbaseAdapter([PRODUCT], ['trades']);

describe('coinbase tradesFrom', () => {
  it('a gap in the middle: exactly the trades from fromId on, oldest first, with price, size, aggressor side and time', async () => {
    expect(TRADES).toHaveLength(53);
    const api = await startRest(TRADES);
    const from = TRADES[20]!;
    const got = await adapter.tradesFrom(api.url, 'skl-usd', from.trade_id, Date.parse(TRADES[19]!.time));
    expect(got).toEqual(TRADES.slice(20).map(expected));
    // Recorded: {"trade_id":1568287,"side":"buy","size":"294.3","price":"0.7909","time":"2021-04-17T16:43:59.325463Z"}: the maker bought, the aggressor sold.
    expect(got[0]).toEqual({ id: 1568287, ts: Date.UTC(2021, 3, 17, 16, 43, 59, 325), price: 0.7909, size: 294.3, side: -1 });
    expect(got.some((t) => t.side === 1)).toBe(true);
    expect(api.requests).toEqual([`/products/SKL-USD/trades?limit=${REST_LIMIT}`]); // one page held it all
  });

  it('pages backward with after=<oldest id seen> until it passes fromId, also when the venue serves fewer than asked', async () => {
    const api = await startRest(TRADES, { maxPage: 7 });
    const got = await adapter.tradesFrom(api.url, PRODUCT, TRADES[20]!.trade_id, 0);
    expect(got).toEqual(TRADES.slice(20).map(expected));
    // 53 trades, newest first by 7: ids ≥ trade 20 end in the 5th page (trades 18–24).
    const cursors = api.requests.map((r) => new URL(r, 'http://x').searchParams.get('after'));
    expect(cursors).toEqual([null, ...[46, 39, 32, 25].map((i) => String(TRADES[i]!.trade_id))]);
  });

  it('a gap of 2 500 trades takes three full pages and comes back complete and in order', async () => {
    const trades = [...TRADES, ...continued(2_500)];
    const api = await startRest(trades);
    const from = trades[40]!.trade_id;
    const got = await adapter.tradesFrom(api.url, PRODUCT, from, 0);
    expect(got).toEqual(trades.slice(40).map(expected));
    expect(api.requests).toHaveLength(3);
    expect(api.requests[2]).toBe(`/products/SKL-USD/trades?limit=1000&after=${trades.at(-2_000)!.trade_id}`);
  });

  it('stops at the trade before the gap without asking for more', async () => {
    const api = await startRest(TRADES, { maxPage: 10 });
    const got = await adapter.tradesFrom(api.url, PRODUCT, TRADES[43]!.trade_id, 0);
    expect(got.map((t) => t.id)).toEqual(TRADES.slice(43).map((t) => t.trade_id));
    expect(api.requests).toHaveLength(1); // trades 43–52: fromId itself is on the first page
  });

  it('an empty gap (nothing since the last trade seen) is an empty list', async () => {
    const api = await startRest(TRADES);
    expect(await adapter.tradesFrom(api.url, PRODUCT, TRADES.at(-1)!.trade_id + 1, 0)).toEqual([]);
    expect(api.requests).toHaveLength(1);
  });

  it('an empty page ends the history: whatever was found is the answer', async () => {
    const api = await startRest(TRADES, { maxPage: 7 });
    const got = await adapter.tradesFrom(api.url, PRODUCT, TRADES[0]!.trade_id - 10, 0);
    expect(got).toEqual(TRADES.map(expected));
    expect(api.requests.at(-1)).toBe(`/products/SKL-USD/trades?limit=1000&after=${TRADES[0]!.trade_id}`);
    expect(api.requests).toHaveLength(9); // 8 pages of at most 7, then the empty one
  });

  it(`a gap longer than ${REST_MAX_PAGES} pages throws, after ${REST_MAX_PAGES} requests`, async () => {
    const trades = [...TRADES, ...continued(REST_MAX_PAGES * REST_LIMIT)];
    const api = await startRest(trades);
    await expect(adapter.tradesFrom(api.url, PRODUCT, TRADES[10]!.trade_id, 0)).rejects.toThrow(
      /coinbase REST: gap longer than 20 pages of 1000 trades \(trade 1568277 not reached\)/,
    );
    expect(api.requests).toHaveLength(REST_MAX_PAGES);
  });

  it('an error status throws with the status and the venue message', async () => {
    const down = await startRest(TRADES, { status: 500 });
    await expect(adapter.tradesFrom(down.url, PRODUCT, 1, 0)).rejects.toThrow(/^coinbase REST 500 for \/products\/SKL-USD\/trades: Internal server error$/);
    const limited = await startRest(TRADES, { status: 429 });
    await expect(adapter.tradesFrom(limited.url, PRODUCT, 1, 0)).rejects.toThrow(/coinbase REST 429 .*Public rate limit exceeded/);
    const api = await startRest(TRADES);
    await expect(adapter.tradesFrom(api.url, 'NOPE-USD', 1, 0)).rejects.toThrow(/coinbase REST 404 for \/products\/NOPE-USD\/trades: NotFound/);
  });

  it('an answer that is not a list of trades throws', async () => {
    const object = await startRest(TRADES, { mutate: () => ({ message: 'maintenance' }) });
    await expect(adapter.tradesFrom(object.url, PRODUCT, 1, 0)).rejects.toThrow(/did not answer a list: maintenance/);
  });

  it.each<[string, (t: RestTrade) => unknown]>([
    ['price not a decimal', (t) => ({ ...t, price: 'abc' })],
    ['price zero', (t) => ({ ...t, price: '0' })],
    ['size negative', (t) => ({ ...t, size: '-1' })],
    ['size a number', (t) => ({ ...t, size: 1 })],
    ['side unknown', (t) => ({ ...t, side: 'up' })],
    ['trade_id a string', (t) => ({ ...t, trade_id: String(t.trade_id) })],
    ['trade_id fractional', (t) => ({ ...t, trade_id: t.trade_id + 0.5 })],
    ['time not RFC 3339', (t) => ({ ...t, time: 'yesterday' })],
    ['time missing', ({ time: _time, ...rest }) => rest],
    ['null item', () => null],
  ])('a malformed trade (%s) throws, and nothing is passed on', async (_what, spoil) => {
    const api = await startRest(TRADES, { mutate: (page) => page.map((t, i) => (i === 3 ? spoil(t) : t)) });
    await expect(adapter.tradesFrom(api.url, PRODUCT, TRADES[30]!.trade_id, 0)).rejects.toThrow(/coinbase REST: malformed trade in \/products\/SKL-USD\/trades/);
  });

  it('a venue that ignores the cursor throws rather than loop', async () => {
    const api = await startRest(TRADES, { maxPage: 5, ignoreAfter: true });
    await expect(adapter.tradesFrom(api.url, PRODUCT, TRADES[0]!.trade_id, 0)).rejects.toThrow(/after=1568315 answered trade 1568319, not an older one/);
    expect(api.requests).toHaveLength(2);
  });

  it('returns everything in one answer, so GapRecovery never asks for a second page', () => {
    expect(adapter.restPageSize).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('coinbase gap recovery end to end', () => {
  it('trades missed while the feed was down arrive via REST, once each and in order', async () => {
    const api = await startRest(TRADES);
    fake = await new FakeCoinbase({ heartbeatIntervalMs: 100 }).start();
    const f = fake;
    tickwire = createTickwire(
      { timeframes: ['1m'], exchanges: { coinbase: { url: f.url, restUrl: api.url, symbols: [PRODUCT] } } },
      { statusMs: 100, tickMs: 50, connection: { backoffBaseMs: 20, backoffMaxMs: 100 } },
    );
    const trades: TradeEvent[] = [];
    tickwire.on('trade', (t) => trades.push(t));
    await tickwire.start();
    const tw = tickwire;
    await until(() => f.subscribers('matches', PRODUCT) === 1, 5_000, 'subscription');
    for (const frame of FRAMES.slice(0, 15)) f.publish(frame);
    await until(() => trades.length === 15, 5_000, 'the first trades');
    f.drop();
    await until(() => f.connections === 2 && f.subscribers('matches', PRODUCT) === 1, 5_000, 're-subscription');
    // Trades 15–34 happened during the outage; the feed only carries the later ones.
    for (const frame of FRAMES.slice(35)) f.publish(frame);
    await until(() => trades.length === TRADES.length, 5_000, 'every trade, recovered or live');
    expect(trades.map((t) => t.tradeId)).toEqual(TRADES.map((t) => t.trade_id));
    for (const [i, t] of trades.entries()) {
      const want = expected(TRADES[i]!);
      expect(t, `trade ${want.id}`).toMatchObject({ exchange: 'coinbase', symbol: PRODUCT, price: want.price, size: want.size, ts: want.ts, side: want.side === 1 ? 'buy' : 'sell' });
    }
    // Gap recovery's requests only: the gateway also asks for the venue's symbol list (docs/on-demand.md).
    expect(api.requests.filter((r) => r.includes('/trades'))).toEqual([`/products/SKL-USD/trades?limit=${REST_LIMIT}`]);
    // The one answer runs from the first missed trade to the newest: the 20
    // missed and the 18 also carried live (the aggregator drops those by id).
    await until(() => tw.status().exchanges['coinbase']!.recoveredTrades === TRADES.length - 15, 5_000, 'recovery counted');
    expect(tw.status().exchanges['coinbase']).toMatchObject({ reconnects: 1, unrecoveredGaps: 0 });
  });
});
