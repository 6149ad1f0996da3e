/**
 * Start-up as the log and /health tell it: the backfill announces itself
 * before its first answer, reports per symbol and timeframe how many of the
 * missing bars arrived, and a venue that never answers ends in a warning with
 * the timeout, not in silence; meanwhile health is `starting` with the step
 * it waits for. Loopback only: a fake klines endpoint, a feed URL where
 * nothing listens.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import type { Logger } from '../../src/log/logger.ts';
import { captureLog } from '../support/log-capture.ts';
import { until } from '../support/until.ts';

const M = 60_000;
let rest: Server | undefined;
let tw: Tickwire | undefined;
let dir = '';

afterEach(async () => {
  await tw?.stop();
  rest?.closeAllConnections();
  await new Promise<void>((r) => (rest ? rest.close(() => r()) : r()));
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  tw = rest = undefined;
  dir = '';
});


/** A klines endpoint: 1m bars for any range when `answer`, else requests left hanging. */
async function klines(answer: boolean): Promise<string> {
  rest = createHttpServer((req, res) => {
    if (!answer) return; // never answers
    const u = new URL(req.url ?? '/', 'http://x');
    const start = Math.ceil(Number(u.searchParams.get('startTime')) / M) * M;
    const end = Number(u.searchParams.get('endTime'));
    const page = [];
    for (let t = start; t <= end && page.length < 1000; t += M) page.push([t, '100.00', '101.00', '99.00', '100.50', '2.0', t + M - 1, '200.0', 7, '1.0', '100.0', '0']);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page));
  });
  await new Promise<void>((r) => rest!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(rest.address() as AddressInfo).port}`;
}

/** A runtime on binance whose feed cannot connect (port 9 on loopback: nothing listens) and whose backfill asks `restUrl`. */
function runtime(restUrl: string, logger: Logger, backfillTimeoutMs: number): Tickwire {
  dir = mkdtempSync(path.join(tmpdir(), 'tickwire-startup-'));
  return createTickwire(
    {
      exchanges: { binance: { symbols: ['BTCUSDT'], url: 'ws://127.0.0.1:9', restUrl } },
      timeframes: ['1m'],
      history: 30,
      storage: { path: path.join(dir, 'db'), backfill: true, backfillTimeoutMs },
    },
    { logger, connection: { backoffBaseMs: 50, backoffMaxMs: 200 } },
  );
}

describe('log: start-up', () => {
  it('reports backfill progress per symbol and timeframe, then waits for a feed while health says starting', async () => {
    const { lines, logger } = captureLog('info');
    tw = runtime(await klines(true), logger, 30_000);
    await tw.start();
    const started = lines.find((l) => l['event'] === 'backfill.started')!;
    expect(started).toMatchObject({ exchange: 'binance', series: 1, timeoutMs: 30_000 });
    const progress = lines.filter((l) => l['event'] === 'backfill.progress');
    expect(progress.at(-1)).toMatchObject({ symbol: 'BTCUSDT', timeframe: '1m', fetched: 30, expected: 30, msg: 'backfill BTCUSDT 1m: 30/30 bars' });
    expect(lines.find((l) => l['event'] === 'backfill.done')).toMatchObject({ bars: 30, problems: 0 });
    expect(tw.health()).toMatchObject({ status: 'starting', reasons: ['waiting for a feed to connect'] });
    await until(() => lines.some((l) => l['event'] === 'feed.disconnected'), 60_000, 'the feed failing');
    expect(tw.health().status).toBe('starting'); // not ok: nothing is connected
  });

  it('announces a backfill whose venue never answers, says starting meanwhile, and ends with the timeout', async () => {
    const { lines, logger } = captureLog('info');
    tw = runtime(await klines(false), logger, 1_500);
    const starting = tw.start();
    await until(() => lines.some((l) => l['event'] === 'backfill.started'), 30_000, 'backfill announced');
    expect(tw.health()).toMatchObject({ status: 'starting', reasons: ['backfilling missed bars from the venues'] });
    await starting;
    const incomplete = lines.find((l) => l['event'] === 'backfill.incomplete')!;
    expect(incomplete).toMatchObject({ level: 40, exchange: 'binance' });
    expect(incomplete['msg']).toBe('backfill incomplete: BTCUSDT 1m: timed out after 1500 ms');
    expect(lines.find((l) => l['event'] === 'backfill.done')).toMatchObject({ bars: 0, problems: 1 });
  });
});
