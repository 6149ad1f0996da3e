/**
 * Bybit gap recovery over REST (`GET /v5/market/recent-trade`), against a fake
 * of the endpoint on loopback.
 *
 * The tapes: the two recorded v5 frames of ../shared/fixtures/bybit/
 * frames.jsonl (spot BTCUSDT, 6 trades with 19-digit ids; linear BTCUSDT, 49
 * trades with UUID ids, 2025-01-01), and around each synthetic trades in the
 * same shape (spot ids counting on from the recorded ones; UUIDs from a seeded
 * PRNG; several fills per millisecond, as recorded), enough for the spot
 * window of 60 and the linear one of 1000 not to reach back to the start. The
 * fake serves the newest `limit` trades, newest first, in the REST shape of the
 * docs' example, and refuses what the venue refuses (spot limit > 60, a
 * missing category, an unknown symbol).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { callbackHandler, type FeedHandler, type RecoveredTrade } from '../../src/exchanges/adapter.ts';
import { BYBIT_RECENT_TRADES, BybitAdapter, bybitTradeId, type BybitCategory } from '../../src/exchanges/bybit.ts';
import { adapterFor } from '../../src/exchanges/registry.ts';
import { GapRecovery } from '../../src/feed/gap-recovery.ts';
import { until } from '../support/until.ts';
import { FIXTURES_DIR } from '../support/fixtures.ts';
import { Prng } from '../support/prng.ts';

interface WsTrade {
  T: number;
  s: string;
  S: 'Buy' | 'Sell';
  v: string;
  p: string;
  i: string;
  BT: boolean;
  L?: string;
}

const RECORDED: { topic: string; data: WsTrade[] }[] = readFileSync(path.join(FIXTURES_DIR, 'bybit', 'frames.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l));
const SPOT_RECORDED = RECORDED.find((f) => /^[0-9]+$/.test(f.data[0]!.i))!.data;
const LINEAR_RECORDED = RECORDED.find((f) => f.data[0]!.i.includes('-'))!.data;

function uuid(rng: Prng): string {
  const hex = (n: number) => Array.from({ length: n }, () => rng.int(0, 15).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-5${hex(3)}-${'89ab'[rng.int(0, 3)]}${hex(3)}-${hex(12)}`;
}

/** `before` synthetic trades, the recorded ones, then `after` more; oldest first. */
function makeTape(recorded: readonly WsTrade[], before: number, after: number, seed: number, linear: boolean): WsTrade[] {
  const rng = new Prng(seed);
  const decimals = linear ? 1 : 2;
  const sizeDecimals = linear ? 3 : 6;
  const make = (T: number, price: number, id: string): WsTrade => {
    const t: WsTrade = {
      T,
      s: 'BTCUSDT',
      S: rng.float() < 0.5 ? 'Buy' : 'Sell',
      v: (rng.int(1, 200_000) / 10 ** sizeDecimals).toFixed(sizeDecimals),
      p: price.toFixed(decimals),
      i: id,
      BT: false,
    };
    if (linear) t.L = 'ZeroPlusTick';
    return t;
  };
  const spotId = (k: bigint) => String(BigInt(recorded[0]!.i) + k);
  const older: WsTrade[] = [];
  let T = recorded[0]!.T;
  let price = Number(recorded[0]!.p);
  for (let k = 1; k <= before; k++) {
    if (rng.float() > 0.3) T -= rng.int(1, 400); // 30 %: another fill of the same millisecond
    price -= rng.int(-20, 20) / 10 ** decimals;
    older.push(make(T, price, linear ? uuid(rng) : spotId(BigInt(-k))));
  }
  const newer: WsTrade[] = [];
  T = recorded.at(-1)!.T;
  price = Number(recorded.at(-1)!.p);
  for (let k = 1; k <= after; k++) {
    if (rng.float() > 0.3) T += rng.int(1, 400);
    price += rng.int(-20, 20) / 10 ** decimals;
    newer.push(make(T, price, linear ? uuid(rng) : spotId(BigInt(recorded.length - 1 + k))));
  }
  return [...older.reverse(), ...recorded, ...newer];
}

const SPOT = makeTape(SPOT_RECORDED, 150, 40, 3, false);
const LINEAR = makeTape(LINEAR_RECORDED, 1_500, 200, 4, true);

/** publicTrade frames, one per millisecond (as the venue groups them), read by the WebSocket path. */
function wsTrades(tape: readonly WsTrade[]): RecoveredTrade[] {
  const adapter = new BybitAdapter(['BTCUSDT'], ['trades']);
  const out: RecoveredTrade[] = [];
  const handler = callbackHandler({ trade: (_s, ts, price, size, side, id) => void out.push({ ts, price, size, side, id }), quote: () => {} });
  for (let k = 0; k < tape.length; ) {
    let n = 1;
    while (k + n < tape.length && tape[k + n]!.T === tape[k]!.T) n++;
    adapter.parse(JSON.stringify({ topic: 'publicTrade.BTCUSDT', ts: tape[k]!.T + 2, type: 'snapshot', data: tape.slice(k, k + n) }), handler);
    k += n;
  }
  return out;
}
const SPOT_WS = wsTrades(SPOT);
const LINEAR_WS = wsTrades(LINEAR);

interface RestOptions {
  /** Trades the venue knows: the first n of the tape (default all). */
  known?: number;
  reply?: { status: number; body: string };
  mangle?: (items: Record<string, unknown>[]) => unknown;
}

const servers: Server[] = [];

/** A fake `GET /v5/market/recent-trade?category=&symbol=&limit=`: spot serves SPOT, linear LINEAR. */
async function startRest(options: RestOptions = {}): Promise<{ url: string; requests: URLSearchParams[] }> {
  const requests: URLSearchParams[] = [];
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    // Trade requests only (a running gateway also asks for the venue's symbol list).
    if (u.pathname === '/v5/market/recent-trade') requests.push(u.searchParams);
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));
    if (options.reply !== undefined) return json(options.reply.status, options.reply.body);
    if (u.pathname !== '/v5/market/recent-trade') return json(404, '');
    const error = (retMsg: string) => json(200, { retCode: 10001, retMsg, result: {}, retExtInfo: {}, time: Date.now() });
    const category = u.searchParams.get('category');
    const tape = category === 'spot' ? SPOT : category === 'linear' ? LINEAR : undefined;
    if (tape === undefined) return error('params error: category is invalid');
    if (u.searchParams.get('symbol') !== 'BTCUSDT') return error('params error: Symbol Invalid');
    const max = category === 'spot' ? 60 : 1000;
    const limit = Number(u.searchParams.get('limit') ?? (category === 'spot' ? 60 : 500));
    if (!Number.isInteger(limit) || limit < 1 || limit > max) return error(`params error: limit must be in [1, ${max}]`);
    const known = tape.slice(0, options.known ?? tape.length);
    const list = known
      .slice(-limit)
      .reverse()
      .map((t) => ({ execId: t.i, symbol: t.s, price: t.p, size: t.v, side: t.S, time: String(t.T), isBlockTrade: t.BT }));
    return json(200, { retCode: 0, retMsg: 'OK', result: { category, list: options.mangle ? options.mangle(list) : list }, retExtInfo: {}, time: Date.now() });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, requests };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

const spot = new BybitAdapter(['BTCUSDT'], ['trades']);
const linear = new BybitAdapter(['BTCUSDT'], ['trades'], { category: BybitAdapter.categoryOf('wss://stream.bybit.com/v5/public/linear') });

/** Index of a trade at least `fromEnd` from the end that is the last of its millisecond (and not alone in the tape's window). */
function lastOfItsMs(ws: readonly RecoveredTrade[], fromEnd: number): number {
  for (let i = ws.length - fromEnd; i > 0; i--) if (ws[i + 1]!.ts > ws[i]!.ts) return i;
  throw new Error('no such trade');
}

describe('bybit REST gap recovery', () => {
  it('the test tapes: the recorded trades among synthetic ones, several fills per millisecond', () => {
    expect(SPOT_WS).toHaveLength(SPOT.length);
    expect(LINEAR_WS).toHaveLength(LINEAR.length);
    expect(SPOT_WS.map((t) => t.id)).toEqual(SPOT.map((t) => bybitTradeId(t.i)));
    expect(SPOT.filter((t) => t.T === SPOT_RECORDED[0]!.T)).toHaveLength(6);
    expect(new Set(LINEAR_WS.map((t) => t.id)).size).toBe(LINEAR.length);
  });

  it('spot: asks for the 60 most recent and returns the trades after the last one seen, oldest first, as the WebSocket gives them', async () => {
    const api = await startRest();
    const i = lastOfItsMs(SPOT_WS, 30);
    const last = SPOT_WS[i]!;
    const got = await spot.tradesFrom(api.url, 'btcusdt', last.id + 1, last.ts);
    expect([...api.requests[0]!.entries()]).toEqual([
      ['category', 'spot'],
      ['symbol', 'BTCUSDT'],
      ['limit', '60'],
    ]);
    expect(got).toEqual(SPOT_WS.slice(i + 1));
    expect(got.length).toBeGreaterThan(20);
  });

  it('the recorded trades come back with their fields: six Buy fills of one millisecond', async () => {
    const api = await startRest({ known: SPOT.findIndex((t) => t.i === SPOT_RECORDED[5]!.i) + 1 });
    const before = SPOT_WS[SPOT.findIndex((t) => t.i === SPOT_RECORDED[0]!.i) - 1]!;
    const got = await spot.tradesFrom(api.url, 'BTCUSDT', before.id + 1, before.ts);
    const recorded = got.filter((t) => t.ts === SPOT_RECORDED[0]!.T);
    expect(recorded).toEqual(
      SPOT_RECORDED.map((r) => ({ ts: 1_735_689_653_898, price: Number(r.p), size: Number(r.v), side: 1, id: bybitTradeId(r.i) })),
    );
    expect(recorded[0]).toEqual({ ts: 1_735_689_653_898, price: 93611.04, size: 0.000725, side: 1, id: bybitTradeId('2290000000587387108') });
  });

  it('fills of the last seen trade\'s millisecond come back, all but that trade (the aggregator drops those it saw by id)', async () => {
    const api = await startRest();
    const i = SPOT_WS.findIndex((t, k) => k >= SPOT_WS.length - 50 && SPOT_WS[k - 1]!.ts === t.ts && SPOT_WS[k + 1]!.ts === t.ts);
    expect(i).toBeGreaterThan(0);
    const last = SPOT_WS[i]!;
    const got = await spot.tradesFrom(api.url, 'BTCUSDT', last.id + 1, last.ts);
    expect(got).toEqual(SPOT_WS.filter((t) => t.ts >= last.ts && t.id !== last.id));
    expect(got[0]!.ts).toBe(last.ts);
  });

  it('nothing new since the last trade seen: an empty list', async () => {
    const api = await startRest();
    const last = SPOT_WS.at(-1)!;
    expect(SPOT_WS.at(-2)!.ts).toBeLessThan(last.ts);
    expect(await spot.tradesFrom(api.url, 'BTCUSDT', last.id + 1, last.ts)).toEqual([]);
  });

  it('a full window that does not reach back to the last trade seen throws', async () => {
    const api = await startRest();
    const last = SPOT_WS[SPOT_WS.length - 100]!;
    await expect(spot.tradesFrom(api.url, 'BTCUSDT', last.id + 1, last.ts)).rejects.toThrow(/bybit REST: gap longer than the venue's recent-trades window/);
  });

  it('a full window whose oldest trade shares the last seen trade\'s millisecond, without it, throws too (fills in between may be missing)', async () => {
    const j = SPOT_WS.findIndex((t, k) => k > 20 && SPOT_WS[k + 1]!.ts === t.ts); // j and j + 1 share a millisecond
    const api = await startRest({ known: j + 1 + 60 }); // the window: j + 1 … j + 60
    const last = SPOT_WS[j]!;
    await expect(spot.tradesFrom(api.url, 'BTCUSDT', last.id + 1, last.ts)).rejects.toThrow(/gap longer than the venue's recent-trades window/);
    // One trade earlier in the window, it is there: covered.
    const covered = await startRest({ known: j + 60 });
    expect(await spot.tradesFrom(covered.url, 'BTCUSDT', last.id + 1, last.ts)).toEqual(SPOT_WS.slice(j + 1, j + 60).filter((t) => t.ts >= last.ts));
  });

  it('a window that is not full holds everything the venue has: no throw', async () => {
    const api = await startRest({ known: 40 });
    const last = SPOT_WS[5]!;
    const got = await spot.tradesFrom(api.url, 'BTCUSDT', last.id + 1, last.ts);
    expect(got).toEqual(SPOT_WS.slice(0, 40).filter((t) => t.ts >= last.ts && t.id !== last.id));
  });

  it('linear: the category follows the adapter, up to 1000 trades back', async () => {
    expect(linear.category).toBe('linear');
    const api = await startRest();
    const i = lastOfItsMs(LINEAR_WS, 700);
    const last = LINEAR_WS[i]!;
    const got = await linear.tradesFrom(api.url, 'BTCUSDT', last.id + 1, last.ts);
    expect(api.requests[0]!.get('category')).toBe('linear');
    expect(api.requests[0]!.get('limit')).toBe(String(BYBIT_RECENT_TRADES.linear));
    expect(got).toEqual(LINEAR_WS.slice(i + 1));
    const recorded = got.filter((t) => t.ts === LINEAR_RECORDED[0]!.T);
    expect(recorded.map((t) => t.id)).toEqual(LINEAR_RECORDED.map((r) => bybitTradeId(r.i)));
    // 1,300 back is beyond the window.
    const old = LINEAR_WS[LINEAR_WS.length - 1_300]!;
    await expect(linear.tradesFrom(api.url, 'BTCUSDT', old.id + 1, old.ts)).rejects.toThrow(/recent-trades window/);
  });

  it('GapRecovery stops after the one call (restPageSize is out of reach)', async () => {
    const api = await startRest();
    const i = lastOfItsMs(SPOT_WS, 30);
    const delivered: number[] = [];
    const done: (string | undefined)[] = [];
    const recovery = new GapRecovery(
      1,
      { fetchPage: (_s, fromId, fromTs) => spot.tradesFrom(api.url, 'BTCUSDT', fromId, fromTs), deliver: (_s, t) => delivered.push(t.id), done: (_s, _n, e) => done.push(e) },
      { pageSize: spot.restPageSize },
    );
    recovery.lastId[0] = SPOT_WS[i]!.id;
    recovery.lastTs[0] = SPOT_WS[i]!.ts;
    recovery.disconnected([0]);
    recovery.reconnected([0]);
    const live = SPOT_WS.at(-1)!;
    recovery.hold(0, live.ts, live.price, live.size, live.side, live.id);
    await until(() => done.length === 1, 4_000, 'the recovery');
    expect(done).toEqual([undefined]);
    expect(api.requests).toHaveLength(1);
    expect(delivered).toEqual([...SPOT_WS.slice(i + 1).map((t) => t.id), live.id]);
    recovery.stop();
  });

  it('an HTTP error throws with its status; a venue error with its retCode', async () => {
    const failing = await startRest({ reply: { status: 500, body: 'Internal Server Error' } });
    await expect(spot.tradesFrom(failing.url, 'BTCUSDT', 1, SPOT_WS[0]!.ts)).rejects.toThrow(/bybit REST 500 for recent-trade/);
    const api = await startRest();
    await expect(spot.tradesFrom(api.url, 'FOOUSDT', 1, SPOT_WS[0]!.ts)).rejects.toThrow(/bybit REST error 10001: params error: Symbol Invalid/);
    const limited = await startRest({ reply: { status: 200, body: '{"retCode":10006,"retMsg":"Too many visits!","result":{},"time":1}' } });
    await expect(spot.tradesFrom(limited.url, 'BTCUSDT', 1, SPOT_WS[0]!.ts)).rejects.toThrow(/bybit REST error 10006: Too many visits!/);
  });

  it.each<[string, (items: Record<string, unknown>[]) => unknown]>([
    ['a side other than Buy/Sell', (items) => items.map((t, i) => (i === 3 ? { ...t, side: 'buy' } : t))],
    ['a price as a number', (items) => items.map((t, i) => (i === 0 ? { ...t, price: Number(t['price']) } : t))],
    ['a zero size', (items) => items.map((t, i) => (i === 2 ? { ...t, size: '0' } : t))],
    ['a time as a number', (items) => items.map((t, i) => (i === 1 ? { ...t, time: Number(t['time']) } : t))],
    ['an empty execId', (items) => items.map((t, i) => (i === 4 ? { ...t, execId: '' } : t))],
    ['another symbol', (items) => items.map((t, i) => (i === 0 ? { ...t, symbol: 'ETHUSDT' } : t))],
    ['isBlockTrade not a boolean', (items) => items.map((t, i) => (i === 0 ? { ...t, isBlockTrade: 'false' } : t))],
    ['a null item', (items) => items.map((t, i) => (i === 7 ? null : t))],
    ['no list', () => undefined],
  ])('a malformed answer throws: %s', async (_name, mangle) => {
    const api = await startRest({ mangle });
    await expect(spot.tradesFrom(api.url, 'BTCUSDT', SPOT_WS.at(-10)!.id + 1, SPOT_WS.at(-10)!.ts)).rejects.toThrow(/bybit REST: (malformed trade|recent-trade answer without result\.list)/);
  });

  it('an answer without retCode throws', async () => {
    const api = await startRest({ reply: { status: 200, body: '{"result":{"list":[]}}' } });
    await expect(spot.tradesFrom(api.url, 'BTCUSDT', 1, 1)).rejects.toThrow(/bybit REST: recent-trade answer without retCode/);
  });

  it.each<[string | undefined, BybitCategory]>([
    [undefined, 'spot'],
    ['wss://stream.bybit.com', 'spot'],
    ['wss://stream.bybit.com/v5/public/spot', 'spot'],
    ['wss://stream.bybit.com/v5/public/linear', 'linear'],
    ['wss://stream-testnet.bybit.com/v5/public/inverse/', 'inverse'],
    ['ws://127.0.0.1:9000/v5/public/option', 'option'],
  ])('the category of %s is %s, as connectUrl picks it', (url, category) => {
    expect(BybitAdapter.categoryOf(url)).toBe(category);
  });

  it('the registry accepts restUrl for bybit, knows the public API, and gives the adapter its URL\'s category', () => {
    const entry = adapterFor('bybit')!;
    expect(entry.extraKeys).toContain('restUrl');
    expect(entry.defaultRestUrl).toBe('https://api.bybit.com');
    const config = (url: string | undefined) => ({ url }) as never;
    expect((entry.create(['BTCUSDT'], ['trades'], config('wss://stream.bybit.com/v5/public/linear')) as BybitAdapter).category).toBe('linear');
    expect((entry.create(['BTCUSDT'], ['trades'], config(undefined)) as BybitAdapter).category).toBe('spot');
  });
});
