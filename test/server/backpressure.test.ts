/**
 * Slow consumers over real sockets: a client that stops reading is paused
 * before uWS would drop anything, told exactly which seqs it missed when it
 * catches up, and never slows another client on the same channel.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { Client, startServer, tick, waitFor, type Msg, type Running } from './helpers.ts';

const CHANNEL = 'trades:binance:BTCUSDT';
let r: Running;
let clients: Client[];

beforeEach(async () => {
  clients = [];
  r = await startServer({ maxBackpressure: 64 * 1024 });
});

afterEach(async () => {
  for (const c of clients) c.ws.terminate();
  await r.server.close();
});

async function connect(): Promise<Client> {
  const c = await Client.connect(r.wsUrl);
  clients.push(c);
  return c;
}

function socketOf(c: Client): Socket {
  return (c.ws as unknown as { _socket: Socket })._socket;
}

/** Publish `n` trades in batches small enough for a reading client to keep up. */
async function publish(n: number, batch = 100): Promise<void> {
  for (let i = 0; i < n; i += batch) {
    for (let j = 0; j < batch && i + j < n; j++) r.tw.trade('binance', 'BTCUSDT', { price: 100 + ((i + j) % 50) });
    await tick();
  }
}

it('a client that stops reading gets an exact gap notice, then live messages again; a reading client misses nothing', async () => {
  const slow = await connect();
  const fast = await connect();
  await slow.subscribe([CHANNEL]);
  await fast.subscribe([CHANNEL]);

  await publish(10);
  await waitFor(() => slow.received.length === 10, 3000, 'the first messages');
  socketOf(slow).pause();
  // Enough to fill the kernel buffers on both sides and then the 64 KiB uWS buffer many times over.
  const during = Number(process.env['TICKWIRE_BP_MESSAGES'] ?? 60_000);
  await publish(during);
  await waitFor(() => fast.received.length === 10 + during, 10_000, 'the reading client to get everything');
  socketOf(slow).resume();
  await waitFor(() => slow.received.some((m: Msg) => m.type === 'gap'), 10_000, 'the gap notice');
  await publish(20);
  const total = 10 + during + 20;
  await waitFor(() => (slow.received.at(-1)?.seq ?? 0) === total, 10_000, 'the slow client to catch up');

  const msgs: Msg[] = slow.received;
  const gapAt = msgs.findIndex((m) => m.type === 'gap');
  const gap = msgs[gapAt];
  expect(msgs.filter((m) => m.type === 'gap')).toHaveLength(1);
  expect(gap).toEqual({ type: 'gap', channel: CHANNEL, fromSeq: expect.any(Number), toSeq: expect.any(Number), reason: 'slow_consumer' });
  const before = msgs.slice(0, gapAt).map((m) => m.seq);
  const after = msgs.slice(gapAt + 1).map((m) => m.seq);
  // Everything up to the gap, contiguous; the gap names exactly what is missing; then contiguous to the end.
  expect(before).toEqual(Array.from({ length: before.length }, (_, i) => i + 1));
  expect(gap.fromSeq).toBe(before.length + 1);
  expect(gap.toSeq).toBeGreaterThanOrEqual(gap.fromSeq);
  expect(after).toEqual(Array.from({ length: total - gap.toSeq }, (_, i) => gap.toSeq + 1 + i));
  expect(before.length).toBeGreaterThan(10); // it was paused by the budget, not at once

  const fastSeqs = fast.received.map((m: Msg) => m.seq);
  expect(fast.received.every((m: Msg) => m.type === 'trade')).toBe(true);
  expect(fastSeqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  if (process.env['TICKWIRE_BP_VERBOSE']) console.log({ delivered: before.length, gap, after: after.length });
});

async function subscribers(): Promise<number> {
  const text = await (await fetch(`${r.base}/metrics`)).text();
  return Number(/^tickwire_subscribers (\d+)$/m.exec(text)?.[1]);
}

async function waitSubscribers(n: number): Promise<void> {
  const deadline = Date.now() + 3000;
  while ((await subscribers()) !== n) {
    if (Date.now() > deadline) throw new Error(`tickwire_subscribers never reached ${n}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

it('a paused client can still subscribe, unsubscribe and ping; on resume it gets one gap per channel that advanced', async () => {
  const KRAKEN = 'trades:kraken:XBT/USD';
  const ETH = 'trades:binance:ETHUSDT';
  const slow = await connect();
  await slow.subscribe([CHANNEL, ETH]);
  socketOf(slow).pause();
  await publish(60_000);
  // Paused now (its buffer is full): replies still go out, behind what is buffered.
  slow.send({ op: 'subscribe', id: 'late', channels: [KRAKEN] });
  await waitSubscribers(3);
  slow.send({ op: 'unsubscribe', id: 'eth', channels: [ETH] });
  await waitSubscribers(2);
  slow.send({ op: 'ping', id: 'p' });
  for (let i = 0; i < 5; i++) r.tw.trade('kraken', 'XBT/USD');
  r.tw.trade('binance', 'ETHUSDT');
  socketOf(slow).resume();
  await waitFor(() => slow.received.some((m: Msg) => m.type === 'gap' && m.channel === KRAKEN), 10_000, 'the gaps');
  r.tw.trade('kraken', 'XBT/USD');
  r.tw.trade('binance', 'ETHUSDT');
  r.tw.trade('binance', 'BTCUSDT');
  const msgs = await slow.sync();

  const types = (t: string): Msg[] => msgs.filter((m) => m.type === t);
  expect(types('subscribed').map((m) => m.id)).toEqual(['late']);
  expect(types('unsubscribed')).toEqual([{ type: 'unsubscribed', id: 'eth', channels: [ETH] }]);
  expect(types('pong')).toEqual([{ type: 'pong', id: 'p' }]);
  expect(msgs.some((m) => m.channel === ETH)).toBe(false);
  const gaps = types('gap');
  expect(gaps).toHaveLength(2);
  const btcBefore = msgs.filter((m, i) => m.channel === CHANNEL && m.type === 'trade' && i < msgs.indexOf(gaps[0]));
  expect(gaps).toContainEqual({ type: 'gap', channel: CHANNEL, fromSeq: btcBefore.length + 1, toSeq: 60_000, reason: 'slow_consumer' });
  expect(gaps).toContainEqual({ type: 'gap', channel: KRAKEN, fromSeq: 1, toSeq: 5, reason: 'slow_consumer' });
  // The replies come in order behind the buffered messages, before the gaps; live resumes after them.
  const at = (m: Msg): number => msgs.indexOf(m);
  expect(at(types('pong')[0])).toBeLessThan(at(gaps[0]));
  expect(msgs.filter((m) => m.type === 'trade').slice(-2).map((m) => [m.channel, m.seq])).toEqual([[KRAKEN, 6], [CHANNEL, 60_001]]);
  expect(btcBefore.map((m) => m.seq)).toEqual(Array.from({ length: btcBefore.length }, (_, i) => i + 1));
});

it('a client that keeps sending while it does not read is closed once its replies pass the limit', async () => {
  const slow = await connect();
  const fast = await connect();
  await slow.subscribe([CHANNEL]);
  await fast.subscribe([CHANNEL]);
  socketOf(slow).pause();
  await publish(60_000);
  // Each subscribe with a snapshot is a large direct reply; they pile up past the whole limit.
  r.tw.seed('binance', 'BTCUSDT', '1m', 150, Date.UTC(2024, 0, 1));
  for (let i = 0; i < 40; i++) slow.send({ op: 'subscribe', id: i, channels: ['bars:binance:BTCUSDT:1m'], snapshot: 150 });
  await waitFor(() => r.server.connections === 1, 5000, 'the slow client to be closed');
  socketOf(slow).resume();
  // 1013 "try again later" when the close frame still fits in its buffer; usually it does not (abnormal close).
  expect([1013, 1006]).toContain((await slow.closed).code);
  await waitFor(() => fast.received.length === 60_000, 5000, 'the reading client');
  r.tw.trade('binance', 'BTCUSDT');
  expect((await fast.sync()).at(-1)).toMatchObject({ seq: 60_001 });
});
