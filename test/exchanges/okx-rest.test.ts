/**
 * OKX gap recovery over the public REST API
 * (`GET /api/v5/market/history-trades?instId=&type=1&after=<tradeId>&limit=`,
 * paging backward), against a fake of that endpoint on loopback serving the
 * recorded BTC-USDT trades of the R1 session in
 * ../shared/fixtures/okx/frames.jsonl (69 consecutive trade ids), and
 * synthetic trades continuing them where a gap must be longer than the
 * recording. Then end to end: the fake WebSocket drops the connection, and
 * the trades it never delivered arrive through REST.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import type { TradeEvent } from '../../src/model/events.ts';
import { OkxAdapter, REST_LIMIT, REST_MAX_PAGES, type OkxTrade } from '../../src/exchanges/okx.ts';
import { until } from '../support/until.ts';
import { FakeOkx } from '../support/fake-okx.ts';
import { FIXTURES_DIR } from '../support/fixtures.ts';
import { Prng } from '../support/prng.ts';

/** An item of history-trades: the `trades` channel's fields (`side` the taker's) and `source`. */
type RestTrade = OkxTrade & { source: string };

const INST = 'BTC-USDT';
/** The R1 session's BTC-USDT trade frames, in order (lines 1–117; one trade each). */
const FRAMES = readFileSync(path.join(FIXTURES_DIR, 'okx/frames.jsonl'), 'utf8')
  .split('\n')
  .slice(0, 117)
  .filter((l) => l.startsWith(`{"arg":{"channel":"trades","instId":"${INST}"}`));
/** The same trades as history-trades serves them, oldest first. */
const TRADES: RestTrade[] = FRAMES.flatMap((f) => (JSON.parse(f) as { data: OkxTrade[] }).data.map((t) => ({ ...t, source: '0' })));
const idOf = (t: RestTrade) => Number(t.tradeId);

/** `n` realistic trades after the recorded ones: ids consecutive, time and price walking on. */
function continued(n: number, seed = 11): RestTrade[] {
  const rng = new Prng(seed);
  const last = TRADES.at(-1)!;
  let ts = Number(last.ts);
  let tenths = Math.round(Number(last.px) * 10);
  return Array.from({ length: n }, (_, i) => {
    ts += rng.int(0, 400);
    tenths += rng.int(-2, 2);
    return {
      instId: INST,
      tradeId: String(idOf(last) + 1 + i),
      px: (tenths / 10).toFixed(1),
      sz: (rng.int(1, 500_000) / 1e8).toFixed(8),
      side: rng.int(0, 1) === 0 ? 'buy' : 'sell',
      ts: String(ts),
      source: '0',
    };
  });
}

/** What tradesFrom must make of `t`. */
const expected = (t: RestTrade) => ({ id: idOf(t), ts: Number(t.ts), price: Number(t.px), size: Number(t.sz), side: t.side === 'buy' ? 1 : -1 });

interface RestOptions {
  /** Most trades the fake puts in one page whatever `limit` says (OKX: 100). */
  maxPage?: number;
  /** Answer every request with this HTTP status and body. */
  status?: [number, string];
  /** Rewrite a page's data before it is sent (malformed answers). */
  mutate?: (data: RestTrade[]) => unknown;
  /** Ignore `after` (a broken venue). */
  ignoreAfter?: boolean;
}

const servers: Server[] = [];

/**
 * A fake of OKX's history-trades: newest first; with `type=1`, `after` gives
 * the trades older than that tradeId; `limit` 1..100 (default 100); answers
 * `{"code":"0","msg":"","data":[..]}`, and a non-zero code for a bad
 * parameter (51000) or an instrument it does not list (51001).
 */
async function startRest(trades: RestTrade[], options: RestOptions = {}): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    requests.push(u.pathname + u.search);
    const reply = (status: number, body: string) => res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    const answer = (code: string, msg: string, data: unknown = []) => reply(200, JSON.stringify({ code, msg, data }));
    if (options.status !== undefined) return reply(...options.status);
    if (u.pathname !== '/api/v5/market/history-trades') return reply(404, '{"msg":"Not Found","code":"404"}');
    const q = u.searchParams;
    if (q.get('instId') !== INST) return answer('51001', "Instrument ID doesn't exist.");
    if (q.get('type') !== '1') return answer('51000', 'Parameter type error');
    const limitText = q.get('limit') ?? '100';
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > 100) return answer('51000', 'Parameter limit error');
    const afterText = q.get('after');
    if (afterText !== null && !/^\d+$/.test(afterText)) return answer('51000', 'Parameter after error');
    const after = afterText === null || options.ignoreAfter === true ? Infinity : Number(afterText);
    const older = trades.filter((t) => idOf(t) < after);
    const page = older.slice(Math.max(0, older.length - Math.min(limit, options.maxPage ?? 100))).reverse();
    answer('0', '', options.mutate ? options.mutate(page) : page);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, requests };
}

let fake: FakeOkx | undefined;
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

const adapter = new OkxAdapter([INST], ['trades']);
const first = `/api/v5/market/history-trades?instId=${INST}&type=1&limit=${REST_LIMIT}`;

describe('okx tradesFrom', () => {
  it('a gap in the middle: exactly the trades from fromId on, oldest first, with price, size, taker side and time', async () => {
    expect(TRADES).toHaveLength(69);
    const api = await startRest(TRADES);
    const got = await adapter.tradesFrom(api.url, 'btc-usdt', idOf(TRADES[20]!), Number(TRADES[19]!.ts));
    expect(got).toEqual(TRADES.slice(20).map(expected));
    // Recorded: {"tradeId":"338476327","px":"30247.4","sz":"0.00143753","side":"sell","ts":"1652459228398"}.
    expect(got[0]).toEqual({ id: 338476327, ts: 1652459228398, price: 30247.4, size: 0.00143753, side: -1 });
    expect(got.some((t) => t.side === 1)).toBe(true);
    expect(api.requests).toEqual([first]); // one page held it all
  });

  it('pages backward with after=<oldest id seen> until it passes fromId, also when the venue serves fewer than asked', async () => {
    const api = await startRest(TRADES, { maxPage: 10 });
    const got = await adapter.tradesFrom(api.url, INST, idOf(TRADES[20]!), 0);
    expect(got).toEqual(TRADES.slice(20).map(expected));
    // 69 trades, newest first by 10: ids ≥ trade 20 end in the 5th page (trades 19–28).
    const cursors = api.requests.map((r) => new URL(r, 'http://x').searchParams.get('after'));
    expect(cursors).toEqual([null, ...[59, 49, 39, 29].map((i) => TRADES[i]!.tradeId)]);
    expect(api.requests[1]).toBe(`/api/v5/market/history-trades?instId=${INST}&type=1&after=${TRADES[59]!.tradeId}&limit=100`);
  });

  it('a gap of 350 trades takes four full pages and comes back complete and in order', async () => {
    const trades = [...TRADES, ...continued(350)];
    const api = await startRest(trades);
    const got = await adapter.tradesFrom(api.url, INST, idOf(trades[50]!), 0);
    expect(got).toEqual(trades.slice(50).map(expected));
    expect(api.requests).toHaveLength(4); // 419 trades: 319–418, 219–318, 119–218, 19–118
  });

  it('stops at the trade before the gap without asking for more', async () => {
    const api = await startRest(TRADES, { maxPage: 10 });
    const got = await adapter.tradesFrom(api.url, INST, idOf(TRADES[59]!), 0);
    expect(got.map((t) => t.id)).toEqual(TRADES.slice(59).map(idOf));
    expect(api.requests).toHaveLength(1);
  });

  it('an empty gap (nothing since the last trade seen) is an empty list', async () => {
    const api = await startRest(TRADES);
    expect(await adapter.tradesFrom(api.url, INST, idOf(TRADES.at(-1)!) + 1, 0)).toEqual([]);
    expect(api.requests).toEqual([first]);
  });

  it('an empty page ends the history: whatever was found is the answer', async () => {
    const api = await startRest(TRADES, { maxPage: 30 });
    const got = await adapter.tradesFrom(api.url, INST, idOf(TRADES[0]!) - 5, 0);
    expect(got).toEqual(TRADES.map(expected));
    expect(api.requests).toHaveLength(4); // 30, 30, 9, then the empty one
  });

  it(`a gap longer than ${REST_MAX_PAGES} pages throws, after ${REST_MAX_PAGES} requests`, async () => {
    const trades = [...TRADES, ...continued(REST_MAX_PAGES * REST_LIMIT)];
    const api = await startRest(trades);
    await expect(adapter.tradesFrom(api.url, INST, idOf(TRADES[10]!), 0)).rejects.toThrow(
      /okx REST: gap longer than 20 pages of 100 trades \(trade 338476317 not reached\)/,
    );
    expect(api.requests).toHaveLength(REST_MAX_PAGES);
  });

  it('an error status or a venue error code throws with it', async () => {
    const down = await startRest(TRADES, { status: [500, 'Internal Server Error'] });
    await expect(adapter.tradesFrom(down.url, INST, 1, 0)).rejects.toThrow(/^okx REST 500 for history-trades$/);
    const limited = await startRest(TRADES, { status: [429, '{"msg":"Too Many Requests","code":"50011"}'] });
    await expect(adapter.tradesFrom(limited.url, INST, 1, 0)).rejects.toThrow(/^okx REST 429 for history-trades \(code 50011: Too Many Requests\)$/);
    const api = await startRest(TRADES);
    await expect(adapter.tradesFrom(api.url, 'NOPE-USDT', 1, 0)).rejects.toThrow(/^okx REST: history-trades failed \(code 51001: Instrument ID doesn't exist.\)$/);
    const html = await startRest(TRADES, { status: [200, '<html>maintenance</html>'] });
    await expect(adapter.tradesFrom(html.url, INST, 1, 0)).rejects.toThrow(/did not answer a JSON object/);
    const noData = await startRest(TRADES, { mutate: () => ({}) });
    await expect(adapter.tradesFrom(noData.url, INST, 1, 0)).rejects.toThrow(/answered no data list/);
  });

  it.each<[string, (t: RestTrade) => unknown]>([
    ['px not a decimal', (t) => ({ ...t, px: 'abc' })],
    ['px zero', (t) => ({ ...t, px: '0' })],
    ['px a number', (t) => ({ ...t, px: Number(t.px) })],
    ['sz negative', (t) => ({ ...t, sz: '-0.1' })],
    ['side unknown', (t) => ({ ...t, side: 'long' })],
    ['tradeId not digits', (t) => ({ ...t, tradeId: 'x1' })],
    ['tradeId beyond safe integers', (t) => ({ ...t, tradeId: '99999999999999999' })],
    ['ts missing', ({ ts: _ts, ...rest }) => rest],
    ['ts not digits', (t) => ({ ...t, ts: '2022-05-13' })],
    ['another instrument', (t) => ({ ...t, instId: 'ETH-USDT' })],
    ['null item', () => null],
  ])('a malformed trade (%s) throws, and nothing is passed on', async (_what, spoil) => {
    const api = await startRest(TRADES, { mutate: (data) => data.map((t, i) => (i === 3 ? spoil(t) : t)) });
    await expect(adapter.tradesFrom(api.url, INST, idOf(TRADES[30]!), 0)).rejects.toThrow(/okx REST: malformed trade in history-trades/);
  });

  it('a venue that ignores the cursor throws rather than loop', async () => {
    const api = await startRest(TRADES, { maxPage: 5, ignoreAfter: true });
    await expect(adapter.tradesFrom(api.url, INST, idOf(TRADES[0]!), 0)).rejects.toThrow(/after=338476371 answered trade 338476375, not an older one/);
    expect(api.requests).toHaveLength(2);
  });

  it('returns everything in one answer, so GapRecovery never asks for a second page', () => {
    expect(adapter.restPageSize).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('okx gap recovery end to end', () => {
  it('trades missed while the feed was down arrive via REST, once each and in order', async () => {
    const api = await startRest(TRADES);
    fake = await FakeOkx.start({ instIds: [INST] });
    const f = fake;
    tickwire = createTickwire(
      { timeframes: ['1m'], exchanges: { okx: { url: f.url, restUrl: api.url, symbols: [INST] } } },
      { statusMs: 100, tickMs: 50, connection: { backoffBaseMs: 20, backoffMaxMs: 100 } },
    );
    const trades: TradeEvent[] = [];
    tickwire.on('trade', (t) => trades.push(t));
    await tickwire.start();
    const tw = tickwire;
    await until(() => f.subscribes().length === 1, 5_000, 'subscription');
    for (const frame of FRAMES.slice(0, 20)) f.send(frame);
    await until(() => trades.length === 20, 5_000, 'the first trades');
    f.drop();
    await until(() => f.connections === 2 && f.subscribes().length === 2, 5_000, 're-subscription');
    // Trades 20–39 happened during the outage; the feed only carries the later ones.
    for (const frame of FRAMES.slice(40)) f.send(frame);
    await until(() => trades.length === TRADES.length, 5_000, 'every trade, recovered or live');
    expect(trades.map((t) => t.tradeId)).toEqual(TRADES.map(idOf));
    for (const [i, t] of trades.entries()) {
      const want = expected(TRADES[i]!);
      expect(t, `trade ${want.id}`).toMatchObject({ exchange: 'okx', symbol: INST, price: want.price, size: want.size, ts: want.ts, side: want.side === 1 ? 'buy' : 'sell' });
    }
    // Gap recovery's requests only: the gateway also asks for the venue's symbol list (docs/on-demand.md).
    expect(api.requests.filter((r) => r.includes('/history-trades'))).toEqual([first]);
    // The one answer runs from the first missed trade to the newest: the 20
    // missed and the 29 also carried live (the aggregator drops those by id).
    await until(() => tw.status().exchanges['okx']!.recoveredTrades === TRADES.length - 20, 5_000, 'recovery counted');
    expect(tw.status().exchanges['okx']).toMatchObject({ reconnects: 1, unrecoveredGaps: 0 });
  });
});
