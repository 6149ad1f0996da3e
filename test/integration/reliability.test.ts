/**
 * The per-exchange reliability knobs reach the exchange's worker: a venue
 * that accepts the connection and then says nothing is replaced after the
 * configured `staleAfterMs` (1 s here; the default is 60 s), with the
 * configured reconnect delays.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import { until } from '../support/until.ts';

let venue: WebSocketServer | undefined;
let tickwire: Tickwire | undefined;

afterEach(async () => {
  await tickwire?.stop();
  for (const c of venue?.clients ?? []) c.terminate();
  await new Promise<void>((r) => (venue ? venue.close(() => r()) : r()));
  tickwire = venue = undefined;
});

describe('reliability knobs in the running feed', () => {
  it('a silent venue is replaced after the configured staleness window', async () => {
    const connectedAt: number[] = [];
    venue = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    venue.on('connection', () => connectedAt.push(performance.now())); // accepts, then never sends a frame or a ping
    await new Promise<void>((r) => venue!.once('listening', () => r()));
    const { port } = venue.address() as { port: number };
    tickwire = createTickwire(
      {
        timeframes: ['1m'],
        exchanges: { binance: { url: `ws://127.0.0.1:${port}`, symbols: ['BTCUSDT'], reliability: { staleAfterMs: 1_000, reconnect: { initialMs: 10, maxMs: 100 } } } },
      },
      { tickMs: 50, statusMs: 100 },
    );
    await tickwire.start();
    // The venue never closes a connection: only the staleness check replaces one (well before the default 60 s).
    await until(() => connectedAt.length >= 3, 30_000, 'the venue to see three connections');
    await until(() => tickwire!.status().exchanges['binance']!.reconnects >= 2, 10_000, 'two reconnects in status');
    for (let i = 1; i < 3; i++) expect(connectedAt[i]! - connectedAt[i - 1]!).toBeGreaterThanOrEqual(950); // not before the window
  });
});
