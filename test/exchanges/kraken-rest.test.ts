/**
 * Kraken gap recovery over REST (`GET /0/public/Trades`), against a fake of
 * the endpoint on loopback, and once end to end through the worker.
 *
 * The corpus holds no recorded v2 trade traffic (two doc trades of MATIC/USD;
 * the recorded frames are v1, without trade ids), so the tape is synthetic but
 * shaped like the real thing: v2 `trade` frames as in doc_frames_v2.jsonl for
 * BTC/USD, prices around the recorded v1 XBT/USD trade (57126.7), sizes to
 * 8 decimals, µs timestamps, sequential trade ids. The REST fake serves the
 * very trades the frames carry, in the REST shape of the docs' example
 * (`[price, volume, time (s, float), side, type, misc, trade_id]` under the
 * canonical pair name `XXBTZUSD`, with `last` in ns).
 */
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import type { TradeEvent } from '../../src/model/events.ts';
import { callbackHandler, type FeedHandler, type RecoveredTrade } from '../../src/exchanges/adapter.ts';
import { KrakenAdapter, KRAKEN_REST_PAGE, krakenRestPair } from '../../src/exchanges/kraken.ts';
import { adapterFor } from '../../src/exchanges/registry.ts';
import { GapRecovery } from '../../src/feed/gap-recovery.ts';
import { until } from '../support/until.ts';
import { FakeKraken } from '../support/fake-kraken.ts';
import { Prng } from '../support/prng.ts';

interface TapeTrade {
  id: number;
  /** Epoch µs. */
  us: number;
  price: number;
  qty: number;
  side: 'buy' | 'sell';
  ordType: 'limit' | 'market';
}

/** `n` BTC/USD trades from 2023-09-25T07:48:36Z (the doc frame's time), ~60 ms apart, some sharing a µs. */
function makeTape(n: number, seed = 7): TapeTrade[] {
  const rng = new Prng(seed);
  const tape: TapeTrade[] = [];
  let us = Date.UTC(2023, 8, 25, 7, 48, 36) * 1000 + 925_533;
  let tenths = 571_267; // 57126.7
  for (let i = 0; i < n; i++) {
    if (i > 0 && rng.float() > 0.15) us += rng.int(1, 120_000); // 15 %: the same µs as the previous (one taker order, several fills)
    tenths += rng.int(-3, 3);
    tape.push({
      id: 61_044_952 + i, // the docs' example id
      us,
      price: tenths / 10,
      qty: rng.int(1, 50_000_000) / 1e8,
      side: rng.float() < 0.5 ? 'buy' : 'sell',
      ordType: rng.float() < 0.3 ? 'market' : 'limit',
    });
  }
  return tape;
}

function isoUs(us: number): string {
  return `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 23)}${String(us % 1000).padStart(3, '0')}Z`;
}

/** v2 `trade` update frames for the tape, 1–3 trades each (as the doc frame). */
function v2Frames(tape: readonly TapeTrade[], seed = 11): string[] {
  const rng = new Prng(seed);
  const frames: string[] = [];
  for (let i = 0; i < tape.length; ) {
    const n = Math.min(rng.int(1, 3), tape.length - i);
    const data = tape.slice(i, i + n).map((t) => ({
      symbol: 'BTC/USD',
      side: t.side,
      price: t.price,
      qty: t.qty,
      ord_type: t.ordType,
      trade_id: t.id,
      timestamp: isoUs(t.us),
    }));
    frames.push(JSON.stringify({ channel: 'trade', type: 'update', data }));
    i += n;
  }
  return frames;
}

/** What the WebSocket path makes of the frames: the reference for every recovered field. */
function wsTrades(frames: readonly string[]): RecoveredTrade[] {
  const adapter = new KrakenAdapter(['BTC/USD'], ['trades']);
  const out: RecoveredTrade[] = [];
  const handler = callbackHandler({
    trade: (_s, ts, price, size, side, id) => void out.push({ ts, price, size, side, id }),
    quote: () => {},
  });
  for (const f of frames) adapter.parse(f, handler);
  return out;
}

/** One trade in the REST shape. */
function restRow(t: TapeTrade): unknown[] {
  return [t.price.toFixed(5), t.qty.toFixed(8), t.us / 1e6, t.side === 'buy' ? 'b' : 's', t.ordType === 'market' ? 'm' : 'l', '', t.id];
}

interface RestOptions {
  /** Trades the venue knows (default: all of `tape`); read on every request. */
  known?: () => number;
  /** Read `since` as exclusive (default inclusive: a trade at `since` comes back). */
  exclusive?: boolean;
  /** Answer every request with this instead. */
  reply?: { status: number; body: string };
  /** Turn the answer's rows into something else (malformed items). */
  mangle?: (rows: unknown[][]) => unknown[];
}

const servers: Server[] = [];

/** A fake `GET /0/public/Trades?pair=&since=&count=` over `tape`, honouring pair, since (s or ns) and count. */
async function startRest(tape: readonly TapeTrade[], options: RestOptions = {}): Promise<{ url: string; requests: URLSearchParams[] }> {
  const requests: URLSearchParams[] = [];
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    // Trade requests only (a running gateway also asks for the venue's symbol list).
    if (u.pathname === '/0/public/Trades') requests.push(u.searchParams);
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));
    if (options.reply !== undefined) return json(options.reply.status, options.reply.body);
    if (u.pathname !== '/0/public/Trades') return json(404, { error: ['EGeneral:Unknown method'] });
    const pair = u.searchParams.get('pair');
    if (pair !== 'XBTUSD' && pair !== 'XXBTZUSD') return json(200, { error: ['EQuery:Unknown asset pair'] });
    const count = Number(u.searchParams.get('count') ?? 1000);
    if (!Number.isInteger(count) || count < 1 || count > 1000) return json(200, { error: ['EGeneral:Invalid arguments:count'] });
    const sinceText = u.searchParams.get('since') ?? '0';
    if (!/^[0-9]+(\.[0-9]+)?$/.test(sinceText)) return json(200, { error: ['EGeneral:Invalid arguments:since'] });
    // A value of nanosecond magnitude is ns, else seconds (the API takes both).
    const sinceNs = sinceText.length > 12 && !sinceText.includes('.') ? BigInt(sinceText) : BigInt(Math.round(Number(sinceText) * 1e6)) * 1000n;
    const known = tape.slice(0, options.known?.() ?? tape.length);
    const page = known.filter((t) => (options.exclusive ? BigInt(t.us) * 1000n > sinceNs : BigInt(t.us) * 1000n >= sinceNs)).slice(0, count);
    const last = page.length > 0 ? BigInt(page.at(-1)!.us) * 1000n : sinceNs;
    const rows = page.map(restRow);
    return json(200, { error: [], result: { XXBTZUSD: options.mangle ? options.mangle(rows) : rows, last: String(last) } });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, requests };
}

let fake: FakeKraken | undefined;
let tickwire: Tickwire | undefined;

afterEach(async () => {
  await tickwire?.stop();
  await fake?.close();
  tickwire = undefined;
  fake = undefined;
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

const TAPE = makeTape(3_000);
const FRAMES = v2Frames(TAPE);
const WS = wsTrades(FRAMES);
const adapter = new KrakenAdapter(['BTC/USD'], ['trades']);

/** Recovered trades against the WebSocket's own reading of the same trades. */
function expectSameTrades(got: readonly RecoveredTrade[], want: readonly RecoveredTrade[]): void {
  expect(got.map((t) => t.id)).toEqual(want.map((t) => t.id));
  got.forEach((t, i) => {
    const w = want[i]!;
    expect({ price: t.price, size: t.size, side: t.side }, `trade ${t.id}`).toEqual({ price: w.price, size: w.size, side: w.side });
    expect(t.ts, `ts of trade ${t.id}`).toBeCloseTo(w.ts, 3); // to the µs
  });
}

describe('kraken REST gap recovery', () => {
  it('the test tape is what the WebSocket path reads: every trade once, ids sequential, µs times', () => {
    expect(WS.map((t) => t.id)).toEqual(TAPE.map((t) => t.id));
    WS.forEach((t, i) => expect(t.ts).toBeCloseTo(TAPE[i]!.us / 1000, 3));
    expect(TAPE.some((t, i) => i > 0 && t.us === TAPE[i - 1]!.us)).toBe(true); // fills sharing a time exist
  });

  it('REST pair names: the slash dropped, BTC and DOGE under their Kraken codes', () => {
    expect(krakenRestPair('BTC/USD')).toBe('XBTUSD');
    expect(krakenRestPair('eth/usd')).toBe('ETHUSD');
    expect(krakenRestPair('DOGE/USD')).toBe('XDGUSD');
    expect(krakenRestPair('ETH/BTC')).toBe('ETHXBT');
    expect(adapter.restPageSize).toBe(KRAKEN_REST_PAGE);
  });

  it('a gap returns the trades after the last one seen, oldest first, with the fields the WebSocket gives', async () => {
    const api = await startRest(TAPE);
    const last = WS[2_099]!;
    const got = await adapter.tradesFrom(api.url, 'BTC/USD', last.id + 1, last.ts);
    expectSameTrades(got, WS.slice(2_100));
    expect(got).toHaveLength(900);
    expect(api.requests).toHaveLength(1); // a short page: the venue has no more
  });

  it('a full page shortened by the trade already seen is topped up, so a short page still means "no more"', async () => {
    const api = await startRest(TAPE);
    const last = WS[299]!;
    const got = await adapter.tradesFrom(api.url, 'BTC/USD', last.id + 1, last.ts);
    // since = 1 µs before the last seen: it comes back (inclusive), is dropped, and the 999 others are topped up from `last`.
    expect(api.requests.map((q) => [q.get('pair'), q.get('count')])).toEqual([
      ['XBTUSD', '1000'],
      ['XBTUSD', '1000'],
    ]);
    expect(api.requests[0]!.get('since')).toBe(String((BigInt(TAPE[299]!.us) - 1n) * 1000n));
    expect(api.requests[1]!.get('since')).toBe(String(BigInt(TAPE[1_298]!.us) * 1000n)); // the first page's `last`
    expect(got.length).toBeGreaterThanOrEqual(KRAKEN_REST_PAGE);
    expectSameTrades(got, WS.slice(300, 300 + got.length));
  });

  it('GapRecovery pages through a 2,500-trade gap with it: every missed trade once, in order', async () => {
    for (const exclusive of [false, true]) {
      const api = await startRest(TAPE, { exclusive });
      const delivered: RecoveredTrade[] = [];
      const errors: (string | undefined)[] = [];
      const recovery = new GapRecovery(
        1,
        {
          fetchPage: (_s, fromId, fromTs) => adapter.tradesFrom(api.url, 'BTC/USD', fromId, fromTs),
          deliver: (_s, t) => delivered.push(t),
          done: (_s, _n, error) => errors.push(error),
        },
        { pageSize: adapter.restPageSize },
      );
      recovery.lastId[0] = WS[299]!.id;
      recovery.lastTs[0] = WS[299]!.ts;
      recovery.disconnected([0]);
      recovery.reconnected([0]);
      const live = WS[2_800]!;
      recovery.hold(0, live.ts, live.price, live.size, live.side, live.id);
      await until(() => errors.length === 1, 4_000, 'the recovery');
      expect(errors).toEqual([undefined]);
      const fetched = delivered.slice(0, -1); // the held live trade comes last
      expectSameTrades(fetched, WS.slice(300, 300 + fetched.length));
      expect(fetched.at(-1)!.id).toBeGreaterThanOrEqual(live.id - 1); // reached the first live trade
      expect(delivered.at(-1)!.id).toBe(live.id);
      expect(api.requests.length).toBeLessThanOrEqual(4);
      recovery.stop();
    }
  });

  it('since honoured as exclusive as well: the trades at the last one seen\'s µs after it still come back', async () => {
    const i = TAPE.findIndex((t, k) => k > 100 && TAPE[k + 1]!.us === t.us); // a fill followed by another at the same µs
    const api = await startRest(TAPE, { exclusive: true });
    const got = await adapter.tradesFrom(api.url, 'BTC/USD', WS[i]!.id + 1, WS[i]!.ts);
    expect(got[0]!.id).toBe(WS[i + 1]!.id);
    expectSameTrades(got, WS.slice(i + 1, i + 1 + got.length));
  });

  it('nothing new since the last trade seen: an empty list', async () => {
    const api = await startRest(TAPE);
    const last = WS.at(-1)!;
    expect(await adapter.tradesFrom(api.url, 'BTC/USD', last.id + 1, last.ts)).toEqual([]);
  });

  it('an HTTP error throws with its status', async () => {
    const api = await startRest(TAPE, { reply: { status: 500, body: '{"error":["EService:Unavailable"]}' } });
    await expect(adapter.tradesFrom(api.url, 'BTC/USD', WS[10]!.id + 1, WS[10]!.ts)).rejects.toThrow(/kraken REST 500 for Trades/);
  });

  it('a venue error throws with its code', async () => {
    const api = await startRest(TAPE);
    await expect(adapter.tradesFrom(api.url, 'FOO/USD', WS[10]!.id + 1, WS[10]!.ts)).rejects.toThrow(/kraken REST error: EQuery:Unknown asset pair/);
    const busy = await startRest(TAPE, { reply: { status: 200, body: '{"error":["EGeneral:Too many requests"]}' } });
    await expect(adapter.tradesFrom(busy.url, 'BTC/USD', WS[10]!.id + 1, WS[10]!.ts)).rejects.toThrow(/EGeneral:Too many requests/);
  });

  it.each<[string, (rows: unknown[][]) => unknown[]]>([
    ['a side other than b/s', (rows) => rows.map((r, i) => (i === 3 ? [...r.slice(0, 3), 'buy', ...r.slice(4)] : r))],
    ['a price as a number', (rows) => rows.map((r, i) => (i === 0 ? [Number(r[0]), ...r.slice(1)] : r))],
    ['a zero volume', (rows) => rows.map((r, i) => (i === 5 ? [r[0], '0.00000000', ...r.slice(2)] : r))],
    ['a time as a string', (rows) => rows.map((r, i) => (i === 2 ? [r[0], r[1], String(r[2]), ...r.slice(3)] : r))],
    ['no trade id (the 6-field form)', (rows) => rows.map((r, i) => (i === 7 ? r.slice(0, 6) : r))],
    ['a fractional trade id', (rows) => rows.map((r, i) => (i === 1 ? [...r.slice(0, 6), 1.5] : r))],
    ['an object instead of a row', (rows) => rows.map((r, i) => (i === 4 ? { price: r[0] } : r))],
    ['ids out of order', (rows) => [rows[1]!, rows[0]!, ...rows.slice(2)]],
  ])('a malformed trade throws: %s', async (_name, mangle) => {
    const api = await startRest(TAPE, { mangle });
    await expect(adapter.tradesFrom(api.url, 'BTC/USD', WS[10]!.id + 1, WS[10]!.ts)).rejects.toThrow(/kraken REST: (malformed trade|Trades not in trade id order)/);
  });

  it('a malformed answer throws', async () => {
    for (const body of ['[]', '{"error":[],"result":{"XXBTZUSD":[]}}', '{"error":[],"result":{"XXBTZUSD":[],"XBTUSD":[],"last":"1"}}', 'not json', '{"result":{}}']) {
      const api = await startRest(TAPE, { reply: { status: 200, body } });
      await expect(adapter.tradesFrom(api.url, 'BTC/USD', WS[10]!.id + 1, WS[10]!.ts), body).rejects.toThrow(/kraken REST/);
    }
  });

  it('the registry accepts restUrl for kraken and knows the public API', () => {
    const entry = adapterFor('kraken')!;
    expect(entry.extraKeys).toContain('restUrl');
    expect(entry.defaultRestUrl).toBe('https://api.kraken.com');
  });
});

describe('kraken gap recovery end to end', () => {
  it('trades, a drop, the re-subscription and later trades: the 1,200 in between come over REST, once each and in order', async () => {
    fake = await FakeKraken.start();
    // The venue's REST history: what happened up to now (the WebSocket's trades and those it missed).
    let happened = 300;
    const api = await startRest(TAPE, { known: () => happened });
    tickwire = createTickwire(
      { timeframes: ['1m'], exchanges: { kraken: { url: fake.url, restUrl: api.url, symbols: ['BTC/USD'] } } },
      { statusMs: 100, tickMs: 50, connection: { backoffBaseMs: 20, backoffMaxMs: 100 } },
    );
    const trades: TradeEvent[] = [];
    tickwire.on('trade', (t) => trades.push(t));
    await tickwire.start();
    const f = fake;
    const subscribed = (n: number) => f.requests().filter((r) => r.params?.channel === 'trade' && r.params.symbol.includes('BTC/USD')).length === n;
    await until(() => subscribed(1), 10_000, 'subscription');

    // Trades 0–299 on the wire, the drop, trades 300–1,499 happen unseen, then the live stream resumes.
    const before = v2Frames(TAPE.slice(0, 300));
    const after = v2Frames(TAPE.slice(1_500));
    for (const fr of before) f.send(fr);
    await until(() => trades.length === 300, 10_000, 'the first trades');
    f.drop();
    await until(() => f.connections === 2 && subscribed(2), 10_000, 're-subscription');
    happened = 1_500;
    f.send(after[0]!); // the first live trade starts the recovery
    await until(() => tickwire!.status().exchanges['kraken']!.recoveredTrades > 0, 5_000, 'the recovery');
    happened = TAPE.length;
    for (const fr of after.slice(1)) f.send(fr);
    await until(() => trades.length === TAPE.length, 10_000, 'every trade, recovered or live');

    expect(trades.map((t) => t.tradeId)).toEqual(TAPE.map((t) => t.id)); // in order, once each
    const recovered = trades.slice(300, 1_500);
    recovered.forEach((t, k) => {
      const w = WS[300 + k]!;
      expect(t).toMatchObject({ exchange: 'kraken', symbol: 'BTC/USD', price: w.price, size: w.size, side: w.side === 1 ? 'buy' : 'sell' });
      expect(t.ts).toBeCloseTo(w.ts, 3);
    });
    expect(api.requests.every((q) => q.get('pair') === 'XBTUSD')).toBe(true);
    expect(api.requests[0]!.get('since')).toBe(String((BigInt(TAPE[299]!.us) - 1n) * 1000n));
    await until(() => tickwire!.status().exchanges['kraken']!.recoveredTrades === 1_200, 5_000, 'recovery counted');
    expect(tickwire.status().exchanges['kraken']).toMatchObject({ reconnects: 1, unrecoveredGaps: 0, recoveredTrades: 1_200 });
    const bars = tickwire.bars('kraken', 'BTC/USD', '1m');
    expect(bars.reduce((n, b) => n + b.trades, 0)).toBe(TAPE.length);
    expect(bars.some((b) => b.gapped === true)).toBe(false);
  });
});
