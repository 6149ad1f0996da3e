/** The SDK against a server at its connection cap: the 503 TOO_MANY_CONNECTIONS upgrade is reported by code and retried with backoff until a slot frees. */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { TickwireClient, type StateChange } from '../../src/client/index.ts';
import { ErrorCode, TickwireError } from '../../src/errors.ts';
import { until } from '../support/until.ts';
import { Client, startServer, type Running } from '../server/helpers.ts';
import { Recorder } from './support.ts';

let r: Running;
let holder: Client | undefined;
let c: TickwireClient | undefined;

beforeEach(async () => {
  r = await startServer({ maxConnections: 1 });
  holder = await Client.connect(r.wsUrl); // takes the only slot
});

afterEach(async () => {
  await c?.close();
  holder?.ws.terminate();
  await r.server.close();
});

it('503 TOO_MANY_CONNECTIONS: reported on error and in the reconnecting state, retried with backoff, connects once a slot frees', async () => {
  c = new TickwireClient({ url: r.base, reconnect: { initialMs: 20, maxMs: 100 } });
  const errors: Error[] = [];
  const reconnecting: StateChange[] = [];
  c.on('error', (e) => errors.push(e));
  c.on('state', (s) => {
    if (s.state === 'reconnecting') reconnecting.push(s);
  });
  const rec = new Recorder();
  c.subscribe('trades:binance:BTCUSDT', rec.handlers());
  await until(() => errors.length >= 2, 5000, 'two refused attempts');
  expect(errors.every((e) => e instanceof TickwireError && e.code === ErrorCode.TOO_MANY_CONNECTIONS)).toBe(true);
  expect(errors[0]!.message).toContain('503');
  expect(reconnecting.slice(0, 2).map((s) => [s.attempt, s.error])).toEqual([
    [1, ErrorCode.TOO_MANY_CONNECTIONS],
    [2, ErrorCode.TOO_MANY_CONNECTIONS],
  ]);
  expect(c.state).not.toBe('open');

  holder!.ws.terminate();
  holder = undefined;
  await until(() => rec.count('subscribed') === 1, 5000, 'subscribed once a slot freed');
  expect(c.state).toBe('open');
});
