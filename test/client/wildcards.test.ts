/** TickwireClient: subscriptions with more wildcards than one message may carry are split, never refused (MAX_WILDCARDS_PER_MESSAGE). */
import { afterEach, expect, it } from 'vitest';
import { TickwireClient } from '../../src/client/index.ts';
import { MAX_CHANNELS_PER_MESSAGE, MAX_WILDCARDS_PER_MESSAGE, messageChunks } from '../../src/wire/protocol.ts';
import { FakeTickwire, fakeConfig } from '../support/fake-tickwire.ts';
import { until } from '../support/until.ts';
import { startServer, type Running } from '../server/helpers.ts';
import { Recorder } from './support.ts';

const SYMBOLS = 130;
let r: Running | undefined;
let c: TickwireClient | undefined;

afterEach(async () => {
  await c?.close();
  await r?.server.close();
  c = r = undefined;
});

it('messageChunks cuts at the wildcard cap and at the name cap, keeping order', () => {
  const names = [...Array.from({ length: 120 }, (_, i) => `trades:*:S${i}`), ...Array.from({ length: 600 }, (_, i) => `trades:binance:S${i}`)];
  const chunks = messageChunks(names, (n) => n);
  expect(chunks.flat()).toEqual(names);
  for (const ch of chunks) {
    expect(ch.length).toBeLessThanOrEqual(MAX_CHANNELS_PER_MESSAGE);
    expect(ch.filter((n) => n.includes('*')).length).toBeLessThanOrEqual(MAX_WILDCARDS_PER_MESSAGE);
  }
  expect(chunks.map((ch) => ch.length)).toEqual([50, 50, 500, 120]);
});

it(`a subscription with ${SYMBOLS} wildcards is sent in messages of at most ${MAX_WILDCARDS_PER_MESSAGE}: every channel joined, no refusal; unsubscribing leaves them all`, async () => {
  const cfg = fakeConfig();
  cfg.exchanges = { binance: { ...cfg.exchanges['binance']!, symbols: Array.from({ length: SYMBOLS }, (_, i) => `S${i}USDT`) } };
  r = await startServer({}, new FakeTickwire(cfg));
  c = new TickwireClient({ url: r.base, reconnect: { initialMs: 20, maxMs: 200 } });
  const rec = new Recorder();
  const errors: unknown[] = [];
  c.on('error', (e) => errors.push(e));
  const off = c.subscribe(Array.from({ length: SYMBOLS }, (_, i) => `trades:*:S${i}USDT`), rec.handlers());
  const joined = (): number => new Set(rec.of('subscribed').flatMap((m) => m.channels as string[])).size;
  await until(() => joined() === SYMBOLS, 5000, 'every channel acknowledged');
  expect(rec.count('error')).toBe(0);
  expect(errors).toEqual([]);
  r.tw.trade('binance', `S${SYMBOLS - 1}USDT`, { price: 1, side: 'buy' });
  await until(() => rec.count('trade') === 1, 5000, 'a trade on the last wildcard\'s channel');
  off();
  const text = async (): Promise<string> => (await fetch(`${r!.base}/metrics`)).text();
  await until(async () => /^tickwire_subscribers 0$/m.test(await text()), 5000, 'every channel left');
  expect(rec.count('error')).toBe(0);
});
