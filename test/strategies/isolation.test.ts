/**
 * A slow strategy changes nothing for the gateway: with a model burning
 * 800 ms of CPU per call on every 1 s bar, the main thread (which serves the
 * stream and HTTP) never stalls for anything near that, trades keep flowing
 * to subscribers, and HTTP answers. Were user code run on the main thread,
 * its event-loop delay would reach the 800 ms of each call.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTickwire, type TickwireRuntime } from '../../src/api/tickwire.ts';
import { createServer, type TickwireServer } from '../../src/server/server.ts';
import { Client } from '../server/helpers.ts';
import { until } from '../support/until.ts';

const BURN_MS = 800;
let tickwire: TickwireRuntime | undefined;
let server: TickwireServer | undefined;
let client: Client | undefined;
afterEach(async () => {
  client?.ws.terminate();
  await server?.close();
  await tickwire?.stop();
  client = undefined;
  server = undefined;
  tickwire = undefined;
});

describe('strategies: isolation from subscribers', () => {
  it('keeps the main thread free while a strategy burns 800 ms per call', async () => {
    tickwire = createTickwire({
      timeframes: ['1s'],
      exchanges: { simulated: { symbols: ['SIM-BTC'], rate: 50 } },
      strategies: {
        slow: {
          module: path.join(import.meta.dirname, 'fixtures/burn.mjs'), exchange: 'simulated', symbol: 'SIM-BTC', timeframe: '1s',
          lookback: 1, params: { burnMs: BURN_MS }, timeoutMs: 5_000,
        },
      },
      pool: { threads: 1 },
    }) as TickwireRuntime;
    server = createServer(tickwire, { host: '127.0.0.1', port: 0 });
    const { port } = await server.listen();
    await tickwire.start();
    client = await Client.connect(`ws://127.0.0.1:${port}/v1/stream`);
    await client.subscribe(['trades:simulated:SIM-BTC']);
    const started = client.received.length;

    await until(() => tickwire!.strategies()[0]!.predictions >= 4, 60_000, 'four slow predictions');
    const s = tickwire.strategies()[0]!;
    // Every judgment (one call: predict, then decide) includes a burning predict: the p99 shows it.
    expect(s.latencyUs.p99!).toBeGreaterThanOrEqual(BURN_MS * 1000);
    // Meanwhile: trades kept reaching the subscriber, HTTP answers, and the main loop never stalled near 800 ms.
    expect(client.received.length - started).toBeGreaterThan(50);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    const loop = tickwire.latency().event_loop_delay['main']!;
    expect(loop.count).toBeGreaterThan(0);
    expect(loop.max).toBeLessThan((BURN_MS * 1000) / 2);
    const metrics = await tickwire.metrics();
    expect(metrics).toMatch(/^tickwire_strategy_predictions_total\{strategy="slow"\} ([4-9]|\d\d+)$/m);
    expect(metrics).toMatch(/^tickwire_strategy_paused\{strategy="slow"\} 0$/m);
  });
});
