/**
 * The venue's REST limiter in the running gateway: start-up backfill meets a
 * fake Binance klines endpoint that answers its first request 429 with
 * Retry-After and the others with Binance's used-weight header; the limiter
 * the runtime built from `reliability.rest` shows it in /v1/status and
 * /metrics, and the throttled series is reported as a backfill problem
 * while the others are filled.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import type { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import { startFakeBinance } from '../support/fake-binance.ts';

const M = 60_000;
let dir = '';
let rest: Server | undefined;
let fake: BinanceProtocolServer | undefined;
let tickwire: Tickwire | undefined;

afterEach(async () => {
  await tickwire?.stop();
  await fake?.stop();
  rest?.closeAllConnections();
  await new Promise<void>((r) => (rest ? rest.close(() => r()) : r()));
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  tickwire = fake = rest = undefined;
  dir = '';
});

/** Klines for any symbol (1m): the first request is refused 429 (Retry-After: 1), the rest answer with a used weight. */
async function startKlines(): Promise<{ url: string; statuses: number[] }> {
  const statuses: number[] = [];
  rest = createHttpServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (statuses.length === 0) {
      statuses.push(429);
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"code":-1003,"msg":"Too many requests"}');
      return;
    }
    statuses.push(200);
    const start = Math.ceil(Number(u.searchParams.get('startTime')) / M) * M;
    const end = Number(u.searchParams.get('endTime'));
    const page = [];
    for (let t = start; t <= end && page.length < 1000; t += M) page.push([t, '100.00', '101.00', '99.00', '100.50', '2.0', t + M - 1, '200.0', 7, '1.5', '150.0', '0']);
    const weight = String(2 * statuses.length);
    res.writeHead(200, { 'content-type': 'application/json', 'x-mbx-used-weight-1m': weight }).end(JSON.stringify(page));
  });
  await new Promise<void>((r) => rest!.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(rest.address() as { port: number }).port}`, statuses };
}

describe('REST limiter in the runtime', () => {
  it('a 429 during backfill is counted in status and metrics, with the venue usage it reported', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tickwire-rest-limiter-'));
    const klines = await startKlines();
    fake = await startFakeBinance();
    tickwire = createTickwire(
      {
        timeframes: ['1m'],
        history: 30,
        exchanges: {
          binance: { url: fake.url, restUrl: klines.url, symbols: ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'], reliability: { rest: { minIntervalMs: 50, maxIntervalMs: 5_000 } } },
        },
        storage: { path: dir, flushMs: 100 },
      },
      { tickMs: 50, statusMs: 100 },
    );
    await tickwire.start();

    expect(klines.statuses[0]).toBe(429);
    expect(klines.statuses.filter((s) => s === 200)).toHaveLength(2);
    const rest = tickwire.status().exchanges['binance']!.rest!;
    expect(rest).toMatchObject({ requests: 3, throttled: 1, usage: { limit: 6000 } });
    expect([4, 6]).toContain(rest.usage!.used); // the weight of whichever answer was read last
    expect(rest.intervalMs).toBeGreaterThanOrEqual(50); // never below the configured minimum
    expect(rest.intervalMs).toBeLessThanOrEqual(5_000);
    const storage = tickwire.status().storage!;
    expect(storage.problems).toHaveLength(1);
    expect(storage.problems[0]).toMatch(/429/);
    expect(storage.backfilledBars).toBe(2 * 30);

    const metrics = await tickwire.metrics();
    expect(metrics).toContain('tickwire_rest_throttled_total{exchange="binance"} 1\n');
    expect(metrics).toContain('tickwire_rest_requests_total{exchange="binance"} 3\n');
    expect(metrics).toMatch(/tickwire_rest_usage_ratio\{exchange="binance"\} 0\.00(1|0666)/);
  });
});
