/**
 * Bitstamp gap recovery over REST (`GET /api/v2/transactions/{pair}/?time=`),
 * against a fake of the endpoint on loopback.
 *
 * The tape: the ten recorded ETH/USD trades of ../shared/fixtures/bitstamp/
 * frames.jsonl (2022-01-05, ids 216000477–216000506), and around them
 * synthetic trades in the same frame shape (ids increasing with gaps, as the
 * venue's ids are shared by every pair; prices walking from the recorded
 * ones) reaching back 26 hours, so that every window has something to serve.
 * The fake serves the very trades the frames carry, in the REST shape (all
 * strings, `date` in seconds), newest first, and honours `time`.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { callbackHandler, type FeedHandler, type RecoveredTrade } from '../../src/exchanges/adapter.ts';
import { BITSTAMP_WINDOW_MARGIN_MS, BitstampAdapter } from '../../src/exchanges/bitstamp.ts';
import { adapterFor } from '../../src/exchanges/registry.ts';
import { GapRecovery } from '../../src/feed/gap-recovery.ts';
import { until } from '../support/until.ts';
import { FIXTURES_DIR } from '../support/fixtures.ts';
import { Prng } from '../support/prng.ts';

interface WsTrade {
  id: number;
  timestamp: string;
  amount: number;
  amount_str: string;
  price: number;
  price_str: string;
  type: 0 | 1;
  microtimestamp: string;
  buy_order_id: number;
  sell_order_id: number;
}

const RECORDED: WsTrade[] = readFileSync(path.join(FIXTURES_DIR, 'bitstamp', 'frames.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.includes('"event":"trade"') && l.includes('"live_trades_ethusd"'))
  .map((l) => JSON.parse(l).data as WsTrade);

/** The venue's clock in these tests: 40 s after the last recorded trade. */
const NOW = Math.floor(Number(RECORDED.at(-1)!.microtimestamp) / 1000) + 40_000;

function synthetic(rng: Prng, id: number, ms: number, cents: number): WsTrade {
  const amount = rng.int(1, 800_000_000) / 1e8;
  const type = rng.float() < 0.5 ? 0 : 1;
  return {
    id,
    timestamp: String(Math.floor(ms / 1000)),
    amount,
    amount_str: amount.toFixed(8),
    price: cents / 100,
    price_str: (cents / 100).toFixed(2),
    type,
    microtimestamp: String(ms * 1000),
    buy_order_id: 1_443_875_000_000_000 + rng.int(0, 999_999_999),
    sell_order_id: 1_443_875_000_000_000 + rng.int(0, 999_999_999),
  };
}

/** 26 hours of ETH/USD up to NOW − 1 s, oldest first, the recorded trades among them. */
function makeTape(): WsTrade[] {
  const rng = new Prng(5);
  const before: WsTrade[] = [];
  let id = RECORDED[0]!.id;
  let ms = Math.floor(Number(RECORDED[0]!.microtimestamp) / 1000);
  let cents = Math.round(RECORDED[0]!.price * 100);
  while (ms > NOW - 26 * 3_600_000) {
    id -= rng.int(1, 40);
    ms -= rng.int(5_000, 90_000);
    cents += rng.int(-150, 150);
    before.push(synthetic(rng, id, ms, cents));
  }
  const after: WsTrade[] = [];
  id = RECORDED.at(-1)!.id;
  ms = Math.floor(Number(RECORDED.at(-1)!.microtimestamp) / 1000);
  cents = Math.round(RECORDED.at(-1)!.price * 100);
  for (;;) {
    id += rng.int(1, 20);
    ms += rng.int(200, 6_000);
    cents += rng.int(-50, 50);
    if (ms >= NOW - 1_000) break;
    after.push(synthetic(rng, id, ms, cents));
  }
  return [...before.reverse(), ...RECORDED, ...after];
}

const TAPE = makeTape();
const FRAMES = TAPE.map((d) => JSON.stringify({ data: d, channel: 'live_trades_ethusd', event: 'trade' }));

/** The WebSocket path's reading of the frames: the reference for the recovered fields. */
const WS: RecoveredTrade[] = (() => {
  const a = new BitstampAdapter(['ethusd'], ['trades']);
  const out: RecoveredTrade[] = [];
  const handler = callbackHandler({ trade: (_s, ts, price, size, side, id) => void out.push({ ts, price, size, side, id }), quote: () => {} });
  for (const f of FRAMES) a.parse(f, handler);
  return out;
})();

/** A WebSocket trade as REST gives it: the same, to the whole second. */
const asRest = (t: RecoveredTrade): RecoveredTrade => ({ ...t, ts: Math.floor(t.ts / 1000) * 1000 });

const WINDOWS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

interface RestOptions {
  reply?: { status: number; body: string };
  mangle?: (items: Record<string, unknown>[]) => unknown;
}

const servers: Server[] = [];

/** A fake `GET /api/v2/transactions/{pair}/?time=minute|hour|day` over the tape, at NOW. */
async function startRest(options: RestOptions = {}): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    // Trade requests only (a running gateway also asks for the venue's symbol list).
    if (u.pathname.startsWith('/api/v2/transactions/')) requests.push(req.url ?? '');
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));
    if (options.reply !== undefined) return json(options.reply.status, options.reply.body);
    const m = /^\/api\/v2\/transactions\/([a-z0-9]+)\/$/.exec(u.pathname);
    if (m === null || m[1] !== 'ethusd') return json(404, { status: 'error', reason: 'Not found', code: '404' });
    const time = u.searchParams.get('time') ?? 'hour';
    const window = WINDOWS[time];
    if (window === undefined) return json(400, { status: 'error', reason: { time: ['Select a valid choice.'] }, code: 'API0001' });
    const items = TAPE.filter((t) => Number(t.timestamp) * 1000 > NOW - window)
      .reverse() // newest first
      .map((t) => ({ date: t.timestamp, tid: String(t.id), amount: t.amount_str, type: String(t.type), price: t.price_str }));
    return json(200, options.mangle ? options.mangle(items) : items);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, requests };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

const adapter = new BitstampAdapter(['ethusd'], ['trades'], { now: () => NOW });

/** Index of the last trade at or before `ms`. */
const lastAtOrBefore = (ms: number) => WS.findLastIndex((t) => t.ts <= ms);

describe('bitstamp REST gap recovery', () => {
  it('the test tape: the recorded trades inside 26 h of synthetic ones, ids increasing', () => {
    expect(RECORDED).toHaveLength(10);
    expect(WS).toHaveLength(TAPE.length);
    expect(WS.every((t, i) => i === 0 || t.id > WS[i - 1]!.id)).toBe(true);
    expect(WS[0]!.ts).toBeLessThan(NOW - 25 * 3_600_000);
  });

  it('a 40-second gap asks for the last minute and returns the trades after the last one seen, oldest first', async () => {
    const api = await startRest();
    const i = WS.findIndex((t) => t.id === 216_000_500); // a recorded trade; the five after it share its time
    const last = WS[i]!;
    const got = await adapter.tradesFrom(api.url, 'ETHUSD', last.id + 1, last.ts);
    expect(api.requests).toEqual(['/api/v2/transactions/ethusd/?time=minute']);
    expect(got).toEqual(WS.slice(i + 1).map(asRest));
    expect(got.slice(0, 6).map((t) => t.id)).toEqual([216_000_501, 216_000_502, 216_000_503, 216_000_504, 216_000_505, 216_000_506]);
    expect(got[0]).toEqual({ ts: 1_641_343_721_000, price: 3800.74, size: 7.56178113, side: -1, id: 216_000_501 }); // recorded: type 1 (sell)
  });

  it.each([
    ['20 minutes', 20 * 60_000, 'hour'],
    ['50 seconds (the margin takes it past the minute)', 50_000, 'hour'],
    ['5 hours', 5 * 3_600_000, 'day'],
    ['23 hours', 23 * 3_600_000, 'day'],
  ])('a gap of %s asks for the smallest window covering it', async (_name, ago, window) => {
    const api = await startRest();
    const i = lastAtOrBefore(NOW - ago);
    const last = WS[i]!;
    const got = await adapter.tradesFrom(api.url, 'ethusd', last.id + 1, last.ts);
    expect(api.requests).toEqual([`/api/v2/transactions/ethusd/?time=${window}`]);
    expect(got).toEqual(WS.slice(i + 1).map(asRest));
    expect(got.length).toBeGreaterThan(0);
  });

  it('a gap older than a day (with the margin) throws without asking', async () => {
    const api = await startRest();
    const i = lastAtOrBefore(NOW - 86_400_000 + BITSTAMP_WINDOW_MARGIN_MS / 2);
    await expect(adapter.tradesFrom(api.url, 'ethusd', WS[i]!.id + 1, WS[i]!.ts)).rejects.toThrow(/bitstamp REST: the gap began \d+ min ago, before the last day/);
    expect(api.requests).toEqual([]);
  });

  it('nothing new since the last trade seen: an empty list', async () => {
    const api = await startRest();
    const last = WS.at(-1)!;
    expect(await adapter.tradesFrom(api.url, 'ethusd', last.id + 1, last.ts)).toEqual([]);
  });

  it('GapRecovery stops after the one call (restPageSize is out of reach) and delivers the gap, then the held trades', async () => {
    const api = await startRest();
    const i = lastAtOrBefore(NOW - 30 * 60_000);
    const delivered: number[] = [];
    const done: (string | undefined)[] = [];
    const recovery = new GapRecovery(
      1,
      { fetchPage: (_s, fromId, fromTs) => adapter.tradesFrom(api.url, 'ethusd', fromId, fromTs), deliver: (_s, t) => delivered.push(t.id), done: (_s, _n, e) => done.push(e) },
      { pageSize: adapter.restPageSize },
    );
    recovery.lastId[0] = WS[i]!.id;
    recovery.lastTs[0] = WS[i]!.ts;
    recovery.disconnected([0]);
    recovery.reconnected([0]);
    const live = WS.at(-1)!;
    recovery.hold(0, live.ts, live.price, live.size, live.side, live.id);
    await until(() => done.length === 1, 4_000, 'the recovery');
    expect(done).toEqual([undefined]);
    expect(api.requests).toHaveLength(1);
    expect(delivered).toEqual([...WS.slice(i + 1).map((t) => t.id), live.id]); // the overlap is the aggregator's to drop
    recovery.stop();
  });

  it('an HTTP error throws with its status (and the code and reason when the body has them)', async () => {
    const failing = await startRest({ reply: { status: 500, body: '<html>Internal Server Error</html>' } });
    await expect(adapter.tradesFrom(failing.url, 'ethusd', WS[5]!.id + 1, NOW - 10_000)).rejects.toThrow(/bitstamp REST 500 for transactions/);
    const api = await startRest();
    await expect(adapter.tradesFrom(api.url, 'foousd', 1, NOW - 10_000)).rejects.toThrow(/bitstamp REST 404 \(404\) for transactions: Not found/);
  });

  it('a bad request throws with the venue\'s code and reason', async () => {
    const failing = await startRest({ reply: { status: 400, body: '{"status":"error","reason":{"time":["Select a valid choice."]},"code":"API0001"}' } });
    await expect(adapter.tradesFrom(failing.url, 'ethusd', 1, NOW - 10_000)).rejects.toThrow(/bitstamp REST 400 \(API0001\) for transactions: \{"time":\["Select a valid choice\."\]\}/);
  });

  it('a venue error body throws with its code', async () => {
    const api = await startRest({ reply: { status: 200, body: '{"status":"error","reason":"Rate limit exceeded","code":"API0013"}' } });
    await expect(adapter.tradesFrom(api.url, 'ethusd', 1, NOW - 10_000)).rejects.toThrow(/bitstamp REST error API0013: Rate limit exceeded/);
  });

  it.each<[string, (items: Record<string, unknown>[]) => unknown]>([
    ['a type other than 0/1', (items) => items.map((t, i) => (i === 1 ? { ...t, type: '2' } : t))],
    ['a price that is not a decimal', (items) => items.map((t, i) => (i === 0 ? { ...t, price: 'abc' } : t))],
    ['a zero amount', (items) => items.map((t, i) => (i === 2 ? { ...t, amount: '0.00000000' } : t))],
    ['no tid', (items) => items.map((t, i) => (i === 0 ? { ...t, tid: undefined } : t))],
    ['a date that is not a number', (items) => items.map((t, i) => (i === 3 ? { ...t, date: '2022-01-05' } : t))],
    ['a null item', (items) => items.map((t, i) => (i === 0 ? null : t))],
    ['an object instead of the list', () => ({ transactions: [] })],
  ])('a malformed answer throws: %s', async (_name, mangle) => {
    const api = await startRest({ mangle });
    await expect(adapter.tradesFrom(api.url, 'ethusd', WS.at(-5)!.id, WS.at(-6)!.ts)).rejects.toThrow(/bitstamp REST: (malformed trade in transactions|transactions did not answer a list)/);
  });

  it('the registry accepts restUrl for bitstamp and knows the public API', () => {
    const entry = adapterFor('bitstamp')!;
    expect(entry.extraKeys).toContain('restUrl');
    expect(entry.defaultRestUrl).toBe('https://www.bitstamp.net');
    expect(entry.create(['btcusd'], ['trades'], {} as never).restPageSize).toBe(Number.MAX_SAFE_INTEGER);
  });
});
