/**
 * The adaptive outbound REST limiter (src/exchanges/rest-limiter.ts) against
 * a fake venue on loopback that answers 429 with Retry-After, 418, and
 * Binance's used-weight header; plus the header readers (rest-usage.ts) and
 * a real worker thread sharing one limiter's memory. Timings are asserted as lower
 * bounds only (a loaded machine is late, never early).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, VenueRestError } from '../../src/errors.ts';
import { restGet } from '../../src/exchanges/rest.ts';
import { installRestLimiter, RestLimiter, SLOWDOWN_FLOOR_MS } from '../../src/exchanges/rest-limiter.ts';
import { BINANCE_WEIGHT_PER_MINUTE, readUsage, retryAfterMs } from '../../src/exchanges/rest-usage.ts';
import { firstMessage, startWorker } from '../support/worker.ts';

/** How the fake venue answers its n-th request (0-based). */
type Script = (n: number) => { status: number; headers?: Record<string, string> };

interface FakeVenue {
  url: string;
  /** Arrival time of each request, ms (performance.now). */
  arrivals: number[];
  close(): Promise<void>;
}

const servers: Server[] = [];

async function fakeVenue(script: Script): Promise<FakeVenue> {
  const arrivals: number[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const n = arrivals.push(performance.now()) - 1;
    const { status, headers = {} } = script(n);
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(status === 200 ? '[]' : '{"code":-1003,"msg":"Too many requests"}');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/api/v3/historicalTrades`,
    arrivals,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** A fresh limiter for a venue name of its own, installed for this thread's restGet. */
function limiterFor(venue: string, pacing = { minIntervalMs: 0, maxIntervalMs: 60_000 }, maxWaitMs?: number): RestLimiter {
  const limiter = new RestLimiter(venue, RestLimiter.allocate(pacing), { maxWaitMs });
  installRestLimiter(limiter);
  return limiter;
}

describe('adaptive REST limiter against a fake venue', () => {
  it('429 with Retry-After: the next request waits for it, the spacing widens, and both show in status', async () => {
    const venue = await fakeVenue((n) => (n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    const limiter = limiterFor('fake-429');
    const first = await restGet('fake-429', venue.url);
    expect(first.status).toBe(429);
    const after429 = limiter.status();
    expect(after429).toMatchObject({ throttled: 1, requests: 1, intervalMs: SLOWDOWN_FLOOR_MS });
    expect(after429.pausedUntil).toBeGreaterThan(Date.now());

    expect((await restGet('fake-429', venue.url)).status).toBe(200);
    expect(venue.arrivals).toHaveLength(2);
    expect(venue.arrivals[1]! - venue.arrivals[0]!).toBeGreaterThanOrEqual(950); // Retry-After: 1 s
    const later = limiter.status();
    expect(later.requests).toBe(2);
    expect(later.waitedMs).toBeGreaterThanOrEqual(900);
    expect(later.pausedUntil).toBeNull();
    expect(later.intervalMs).toBeLessThan(SLOWDOWN_FLOOR_MS); // a success relaxes it
  });

  it('repeated 429s without Retry-After: the spacing doubles each time and requests arrive at least that far apart', async () => {
    const venue = await fakeVenue((n) => (n < 3 ? { status: 429 } : { status: 200 }));
    const limiter = limiterFor('fake-429s');
    const intervals: number[] = [];
    for (let i = 0; i < 4; i++) {
      await restGet('fake-429s', venue.url);
      intervals.push(limiter.status().intervalMs);
    }
    expect(intervals.slice(0, 3)).toEqual([500, 1000, 2000]);
    expect(intervals[3]).toBe(1500); // relaxed by a quarter after the first success
    const gaps = venue.arrivals.slice(1).map((t, i) => t - venue.arrivals[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(450);
    expect(gaps[1]).toBeGreaterThanOrEqual(950);
    expect(gaps[2]).toBeGreaterThanOrEqual(1950);
    expect(limiter.status().throttled).toBe(3);
  });

  it('418 (banned) with a Retry-After longer than the limiter waits: refused at once with RATE_LIMITED, nothing sent', async () => {
    const venue = await fakeVenue(() => ({ status: 418, headers: { 'retry-after': '600' } }));
    limiterFor('fake-418', undefined, 5_000);
    expect((await restGet('fake-418', venue.url)).status).toBe(418);
    const started = performance.now();
    const err = await restGet('fake-418', venue.url).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(VenueRestError);
    expect(err).toMatchObject({ code: ErrorCode.RATE_LIMITED, venue: 'fake-418' });
    expect((err as Error).message).toMatch(/next request allowed in (59\d|600) s/);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(venue.arrivals).toHaveLength(1);
  });

  it("Binance's used-weight header near the budget spreads the requests left over the minute", async () => {
    // Each request costs 25 weight; the venue reports 5800 then 5825 of 6000 used.
    const venue = await fakeVenue((n) => ({ status: 200, headers: { 'x-mbx-used-weight-1m': String(5800 + 25 * n) } }));
    const limiter = limiterFor('fake-weight');
    const minute = Math.floor(Date.now() / 60_000);
    await restGet('fake-weight', venue.url);
    await restGet('fake-weight', venue.url);
    const status = limiter.status();
    expect(status.usage).toEqual({ used: 5825, limit: BINANCE_WEIGHT_PER_MINUTE });
    expect(status.intervalMs).toBeGreaterThan(0);
    // 175 weight left = 7 requests of 25 over what remains of the minute (the cost is measured within one minute: skipped if the pair straddled two).
    const msLeft = 60_000 - (Date.now() % 60_000);
    if (Math.floor(Date.now() / 60_000) === minute) expect(status.intervalMs).toBeGreaterThanOrEqual(Math.floor(msLeft / 7) - 1_000);
    expect(status.throttled).toBe(0);
  });

  it('a spent budget pauses every request until the window resets', async () => {
    const venue = await fakeVenue(() => ({ status: 200, headers: { 'ratelimit-remaining': '0', 'ratelimit-limit': '10', 'ratelimit-reset': '1' } }));
    const limiter = limiterFor('fake-spent');
    await restGet('fake-spent', venue.url);
    expect(limiter.status().pausedUntil).toBeGreaterThan(Date.now());
    await restGet('fake-spent', venue.url);
    expect(venue.arrivals[1]! - venue.arrivals[0]!).toBeGreaterThanOrEqual(900);
  });

  it('the configured minimum spacing holds between requests and is never relaxed below', async () => {
    const venue = await fakeVenue(() => ({ status: 200 }));
    const limiter = limiterFor('fake-min', { minIntervalMs: 300, maxIntervalMs: 1_000 });
    for (let i = 0; i < 4; i++) await restGet('fake-min', venue.url);
    // Turns are spaced from their starts: the first request's connection set-up delays its arrival, so count from the second.
    const gaps = venue.arrivals.slice(2).map((t, i) => t - venue.arrivals[i + 1]!);
    expect(gaps).toHaveLength(2);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(280);
    expect(limiter.status().intervalMs).toBe(300);
  });

  it('two threads share one limiter: after a 429 in the main thread, a worker\'s request waits for its Retry-After', async () => {
    const venue = await fakeVenue((n) => (n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    const limiter = limiterFor('fake-shared');
    expect((await restGet('fake-shared', venue.url)).status).toBe(429);
    // A worker with a view of the same memory, as a feed worker has, asking the same venue at once.
    const worker = startWorker(new URL('../workers/rest-caller.ts', import.meta.url), { venue: 'fake-shared', buffer: limiter.buffer, url: venue.url });
    try {
      expect(await firstMessage<number>(worker)).toBe(200);
    } finally {
      await worker.terminate();
    }
    expect(venue.arrivals).toHaveLength(2);
    expect(venue.arrivals[1]! - venue.arrivals[0]!).toBeGreaterThanOrEqual(950);
    expect(limiter.status()).toMatchObject({ requests: 2, throttled: 1 }); // the worker's request counted in the shared memory
  });
});

describe('usage headers and Retry-After', () => {
  const headers = (h: Record<string, string>) => new Headers(h);
  const NOW = Date.UTC(2025, 11, 5, 8, 0, 30);

  it('reads Binance, Bybit and RateLimit-* conventions', () => {
    expect(readUsage(headers({ 'X-MBX-USED-WEIGHT-1M': '1200' }), NOW)).toEqual({ used: 1200, limit: 6000, resetAt: Date.UTC(2025, 11, 5, 8, 1) });
    expect(readUsage(headers({ 'X-Bapi-Limit-Status': '15', 'X-Bapi-Limit': '20', 'X-Bapi-Limit-Reset-Timestamp': String(NOW + 400) }), NOW))
      .toEqual({ used: 5, limit: 20, resetAt: NOW + 400 });
    expect(readUsage(headers({ 'RateLimit-Remaining': '3', 'RateLimit-Limit': '10', 'RateLimit-Reset': '7' }), NOW)).toEqual({ used: 7, limit: 10, resetAt: NOW + 7000 });
    expect(readUsage(headers({ 'X-RateLimit-Remaining': '0', 'X-RateLimit-Limit': '10', 'X-RateLimit-Reset': String(NOW / 1000 + 5) }), NOW))
      .toEqual({ used: 10, limit: 10, resetAt: NOW + 5000 });
    expect(readUsage(headers({}), NOW)).toBeUndefined();
    expect(readUsage(headers({ 'x-mbx-used-weight-1m': 'lots' }), NOW)).toBeUndefined();
  });

  it('Retry-After in seconds or as an HTTP date, at most a day', () => {
    expect(retryAfterMs('2', NOW)).toBe(2000);
    expect(retryAfterMs(new Date(NOW + 5000).toUTCString(), NOW)).toBe(5000);
    expect(retryAfterMs('999999999', NOW)).toBe(86_400_000);
    expect(retryAfterMs('soon', NOW)).toBeUndefined();
    expect(retryAfterMs(null, NOW)).toBeUndefined();
  });
});
