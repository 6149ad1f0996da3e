/**
 * Slow consumers over real sockets: a client that stops reading has its
 * quotes and bars conflated, then is paused (policy gap) or closed (policy
 * disconnect) before uWS would drop anything, is told exactly which seqs it
 * missed when it catches up, never slows another client, and never holds
 * more than the backpressure limit in server memory.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import type { ServerOptions } from '../../src/server/server.ts';
import { SendBudget, TOPIC_TREE_PENDING, type BudgetSlot } from '../../src/server/backpressure.ts';
import { makeBar } from '../support/fake-tickwire.ts';
import { Client, startServer, tick, waitFor, type Msg, type Running } from './helpers.ts';

const CHANNEL = 'trades:binance:BTCUSDT';
let r: Running;
let clients: Client[];

async function start(options: ServerOptions = {}): Promise<void> {
  await r.server.close();
  r = await startServer(options);
}

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
  // Pongs echo ids of up to 256 characters; they pile up past the whole limit. (Snapshots no longer
  // can: they are cut to the room left, hostile-messages.test.ts.)
  // How much the kernel's loopback buffers absorb before uWS must buffer varies (autotuning), so keep
  // sending in batches until the server closes the client; 40,000 pongs (~11 MB) is far past any of them.
  for (let i = 0; i < 40_000 && r.server.connections === 2; i += 500) {
    for (let j = i; j < i + 500; j++) slow.send({ op: 'ping', id: `${j}:${'x'.repeat(240)}` });
    await tick();
  }
  await waitFor(() => r.server.connections === 1, 5000, 'the slow client to be closed');
  socketOf(slow).resume();
  // 1013 "try again later" when the close frame still fits in its buffer; usually it does not (abnormal close).
  expect([1013, 1006]).toContain((await slow.closed).code);
  await waitFor(() => fast.received.length === 60_000, 5000, 'the reading client');
  r.tw.trade('binance', 'BTCUSDT');
  expect((await fast.sync()).at(-1)).toMatchObject({ seq: 60_001 });
});

/** Per channel: the delivered seqs and the gap ranges must cover first..last exactly once, in order. */
function expectExactCover(msgs: Msg[], channel: string, last: number, first = 1): { delivered: Msg[]; gaps: Msg[] } {
  const mine = msgs.filter((m) => m.channel === channel);
  let next = first;
  for (const m of mine) {
    if (m.type === 'gap') {
      expect(m.fromSeq, `${channel} gap ${JSON.stringify(m)}`).toBe(next);
      expect(m.toSeq).toBeGreaterThanOrEqual(m.fromSeq);
      next = m.toSeq + 1;
    } else {
      expect(m.seq, `${channel} message after ${next - 1}`).toBe(next);
      next++;
    }
  }
  expect(next - 1).toBe(last);
  return { delivered: mine.filter((m) => m.type !== 'gap'), gaps: mine.filter((m) => m.type === 'gap') };
}

describe('conflation and policies', () => {
  const QUOTES = 'quotes:binance:BTCUSDT';
  const BARS = 'bars:binance:BTCUSDT:1m';

  it('while congested, quotes and forming bars are conflated to the latest, closed bars all arrive, trades skip ahead with a gap', async () => {
    await start({ maxBackpressure: 64 * 1024, resumeHistory: 100_000 });
    const slow = await connect();
    const observer = await connect();
    for (const c of [slow, observer]) await c.subscribe([CHANNEL, QUOTES, BARS]);
    socketOf(slow).pause();
    const T0 = Date.UTC(2024, 0, 1);
    let open = T0;
    let n = 0;
    const publish = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i += 100) {
        for (let j = 0; j < 100; j++, n++) {
          r.tw.quote('binance', 'BTCUSDT', { bidPrice: 100 + (n % 97), askPrice: 101 + (n % 97) });
          r.tw.trade('binance', 'BTCUSDT', { price: 100 + (n % 89) });
          const closes = n % 700 === 699;
          r.tw.bar('binance', 'BTCUSDT', '1m', makeBar(open, 60_000, 100, closes, { trades: n }));
          if (closes) open += 60_000;
        }
        await tick();
      }
    };
    await publish(Number(process.env['TICKWIRE_BP_MESSAGES'] ?? 20_000));
    await waitFor(() => observer.received.length >= 3 * n, 20_000, 'the observer');
    socketOf(slow).resume();
    await waitFor(() => slow.received.some((m: Msg) => m.type === 'gap' && m.channel === CHANNEL), 10_000, 'the catch-up');
    await publish(100); // live again after the catch-up
    await waitFor(() => slow.received.filter((m: Msg) => m.seq === n && m.type !== 'gap').length === 3, 10_000, 'the last messages');

    const seen = new Map<string, Msg>(observer.received.filter((m: Msg) => m.seq !== undefined).map((m: Msg) => [`${m.channel}#${m.seq}`, m]));
    const msgs: Msg[] = slow.received; // (the ack was taken by subscribe())
    const trades = expectExactCover(msgs, CHANNEL, n);
    const quotes = expectExactCover(msgs, QUOTES, n);
    const bars = expectExactCover(msgs, BARS, n);
    // Whatever arrived is exactly what was published under that seq.
    for (const m of [...trades.delivered, ...quotes.delivered, ...bars.delivered]) expect(m).toEqual(seen.get(`${m.channel}#${m.seq}`));
    // Quotes: conflated, and each gap is followed by the latest quote at catch-up time.
    expect(quotes.gaps.length).toBeGreaterThan(0);
    expect(quotes.gaps.every((g) => g.reason === 'slow_consumer')).toBe(true);
    // Bars: every closed bar arrived (history holds them); forming updates were superseded.
    const closedSeqs = observer.received.filter((m: Msg) => m.channel === BARS && m.closed).map((m: Msg) => m.seq);
    const gotSeqs = new Set(bars.delivered.map((m) => m.seq));
    expect(closedSeqs.length).toBeGreaterThan(20);
    expect(closedSeqs.filter((s: number) => !gotSeqs.has(s))).toEqual([]);
    expect(bars.gaps.length).toBeGreaterThan(0);
    // Trades: never conflated: contiguous runs with gaps, no lone "latest" trade.
    expect(trades.gaps.length).toBeGreaterThan(0);
    const text = await (await fetch(`${r.base}/metrics`)).text();
    expect(text).toMatch(/tickwire_ws_slow_consumer_total\{action="conflating"\} [1-9]/);
    expect(text).toMatch(/tickwire_ws_slow_consumer_total\{action="paused"\} [1-9]/);
    if (process.env['TICKWIRE_BP_VERBOSE']) {
      console.log({ trades: [trades.delivered.length, trades.gaps.length], quotes: [quotes.delivered.length, quotes.gaps.length], bars: [bars.delivered.length, bars.gaps.length] });
    }
  });

  it('policy disconnect: a client that stops reading is closed (1013) once past its limit; the others get everything', async () => {
    await start({ maxBackpressure: 64 * 1024, slowConsumer: 'disconnect' });
    const slow = await connect();
    const fast = await connect();
    await slow.subscribe([CHANNEL]);
    await fast.subscribe([CHANNEL]);
    socketOf(slow).pause();
    await publish(60_000);
    await waitFor(() => r.server.connections === 1, 10_000, 'the slow client to be closed');
    await waitFor(() => fast.received.length === 60_000, 10_000, 'the reading client');
    socketOf(slow).resume();
    // 1013 when the close frame still fitted in its buffer; else the TCP close shows as 1006.
    expect([1013, 1006]).toContain((await slow.closed).code);
    expect(fast.received.map((m: Msg) => m.seq)).toEqual(Array.from({ length: 60_000 }, (_, i) => i + 1));
    const text = await (await fetch(`${r.base}/metrics`)).text();
    expect(text).toMatch(/tickwire_ws_slow_consumer_total\{action="disconnected"\} 1/);
    expect(text).toMatch(/tickwire_ws_slow_consumer_total\{action="conflating"\} 1/);
    expect(text).not.toMatch(/action="paused"/);
  });
});

describe('one client that never reads among normal ones, under load', () => {
  const NORMAL = 4;
  const RATE = Number(process.env['TICKWIRE_LOAD_RATE'] ?? 5000); // trades per second
  const SECONDS = Number(process.env['TICKWIRE_LOAD_SECONDS'] ?? 3);
  const LIMIT = 256 * 1024;

  interface Phase {
    latenciesMs: number[];
    maxBufferedSampled: number;
  }

  /** Publish RATE trades/s for SECONDS (publish time in `ts`), sampling the server's largest socket buffer; wait for every normal client. */
  async function phase(normal: Client[], lat: number[][], seconds = SECONDS): Promise<Phase> {
    const total = RATE * seconds;
    const before = normal.map((c) => c.received.length);
    for (const l of lat) l.length = 0;
    let maxBuffered = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const text = await (await fetch(`${r.base}/metrics`)).text();
        maxBuffered = Math.max(maxBuffered, Number(/^tickwire_ws_max_buffered_bytes (\d+)$/m.exec(text)?.[1] ?? NaN));
        await new Promise((res) => setTimeout(res, 250));
      }
    })();
    const t0 = performance.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
      for (; sent < due; sent++) r.tw.trade('binance', 'BTCUSDT', { price: sent, ts: performance.timeOrigin + performance.now() });
      await new Promise((res) => setTimeout(res, 2));
    }
    await waitFor(() => normal.every((c, i) => c.received.length === before[i]! + total), 20_000, 'the normal clients');
    sampling = false;
    await sampler;
    return { latenciesMs: lat.flat(), maxBufferedSampled: maxBuffered };
  }

  async function maxBuffered(): Promise<number> {
    const text = await (await fetch(`${r.base}/metrics`)).text();
    return Number(/^tickwire_ws_max_buffered_bytes (\d+)$/m.exec(text)?.[1]);
  }

  function pct(xs: number[], p: number): number {
    const s = [...xs].sort((a, b) => a - b);
    return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 1000) / 1000;
  }

  it('normal clients lose nothing; the slow one is paused then told its gap; server memory stays bounded', async () => {
    await start({ maxBackpressure: LIMIT });
    const normal: Client[] = [];
    const lat: number[][] = [];
    for (let i = 0; i < NORMAL; i++) {
      const c = await connect();
      const l: number[] = [];
      c.ws.on('message', (data) => {
        const m = JSON.parse(data.toString());
        if (m.type === 'trade') l.push(performance.timeOrigin + performance.now() - m.ts);
      });
      await c.subscribe([CHANNEL]);
      normal.push(c);
      lat.push(l);
    }
    await phase(normal, lat, 1); // warm-up (JIT, socket buffers), not measured
    const solo = await phase(normal, lat);

    // The slow client stops reading; first fill the kernel's socket buffers (several MB on loopback) with
    // another channel, so that the load below lands in uWS's buffer for it, where the limit applies.
    const slow = await connect();
    await slow.subscribe([CHANNEL, 'trades:binance:ETHUSDT']);
    socketOf(slow).pause();
    for (let i = 0; i < 200 && (await maxBuffered()) === 0; i++) {
      for (let j = 0; j < 1000; j++) r.tw.trade('binance', 'ETHUSDT');
      await tick();
    }
    expect(await maxBuffered()).toBeGreaterThan(0);
    const withSlow = await phase(normal, lat);

    // Normal clients: every seq once, in order, nothing but trades.
    const total = RATE + 2 * RATE * SECONDS;
    for (const c of normal) {
      const msgs: Msg[] = c.received;
      expect(msgs.every((m: Msg) => m.type === 'trade')).toBe(true);
      expect(msgs.map((m: Msg) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    }
    // The slow one: paused by the policy, its buffer never past the limit, the server's memory for it bounded.
    const text = await (await fetch(`${r.base}/metrics`)).text();
    expect(text).toMatch(/tickwire_ws_slow_consumer_total\{action="paused"\} 1/);
    expect(Math.max(solo.maxBufferedSampled, withSlow.maxBufferedSampled)).toBeLessThanOrEqual(LIMIT);
    expect(withSlow.maxBufferedSampled).toBeGreaterThan(0);
    const historyBytes = Number(/^tickwire_ws_history_bytes (\d+)$/m.exec(text)?.[1]);
    expect(historyBytes).toBeLessThanOrEqual(2 * 1024 * 300); // 2 channels × resumeHistory (1024) × a trade message (< 300 bytes)
    // When it reads again: everything before the pause, exact gaps, then live.
    socketOf(slow).resume();
    await waitFor(() => slow.received.some((m: Msg) => m.type === 'gap' && m.channel === CHANNEL), 10_000, 'the gap notice');
    r.tw.trade('binance', 'BTCUSDT');
    await waitFor(() => slow.received.at(-1)?.seq === total + 1, 10_000, 'the slow client to catch up');
    const slowFrom = RATE + RATE * SECONDS + 1; // its first seq: it subscribed after the warm-up and the solo phase
    const { delivered, gaps } = expectExactCover(slow.received, CHANNEL, total + 1, slowFrom);
    expect(gaps.length).toBeGreaterThan(0);
    expect(gaps.every((g) => g.reason === 'slow_consumer')).toBe(true);
    console.log(`[backpressure] slow client: ${delivered.length} of ${total + 2 - slowFrom} trades delivered, ${gaps.length} gap notice(s)`);

    const summary = (p: Phase) => ({
      n: p.latenciesMs.length, p50: pct(p.latenciesMs, 50), p90: pct(p.latenciesMs, 90), p99: pct(p.latenciesMs, 99), max: pct(p.latenciesMs, 100),
      maxBufferedBytes: p.maxBufferedSampled,
    });
    // Measured, not asserted (timing on a shared 2-core machine): reported by the stream helper.
    console.log(`[backpressure] ${NORMAL} normal clients, ${RATE} trades/s for ${SECONDS} s, latency ms (publish → client receive):`);
    console.log(`[backpressure]   solo:            ${JSON.stringify(summary(solo))}`);
    console.log(`[backpressure]   with slow client: ${JSON.stringify(summary(withSlow))}`);
  }, 60_000);
});

describe('SendBudget per-socket limits', () => {
  it('a socket\'s own limit and largest message replace the budget\'s', () => {
    const at = new Map<string, number>();
    const buffered = new Map<string, number>();
    const budget = new SendBudget<BudgetSlot & { name: string }>(
      10_000,
      (s) => buffered.get(s.name)!,
      (s) => at.set(s.name, buffered.get(s.name)!),
    );
    const plain = { name: 'plain', heapIndex: -1, checkAt: 0 };
    const raised = { name: 'raised', heapIndex: -1, checkAt: 0, limit: 100_000, largest: 100 };
    const huge = { name: 'huge-largest', heapIndex: -1, checkAt: 0, limit: 100_000, largest: 2_000 };
    budget.reserve(100); // the budget's largest so far: 100 (plain has no `largest` of its own)
    for (const s of [plain, raised, huge]) {
      buffered.set(s.name, 0);
      budget.track(s);
    }
    // All subscribed to everything, nobody reads: every publish lands in each live socket's buffer.
    for (let i = 0; i < 2000; i++) {
      budget.reserve(100);
      for (const s of [plain, raised, huge]) if (!at.has(s.name)) buffered.set(s.name, buffered.get(s.name)! + 100);
    }
    // Each is congested before its buffer plus 32 of its largest messages could pass its limit, and not
    // much earlier (within the limit / 8 hysteresis).
    for (const [name, limit, largest] of [['plain', 10_000, 100], ['raised', 100_000, 100], ['huge-largest', 100_000, 2_000]] as const) {
      const bound = limit - TOPIC_TREE_PENDING * largest;
      expect(at.get(name), name).toBeLessThanOrEqual(bound);
      expect(at.get(name), name).toBeGreaterThanOrEqual(bound - limit / 8 - 100);
    }
    expect(budget.size).toBe(0);
  });
});
