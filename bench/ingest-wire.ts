/**
 * Ingest as a user pays it: the recorded Binance trades arriving over a
 * loopback WebSocket at a fixed rate, and the CPU time of the whole process
 * that takes them (every thread: the socket's receive, the parse, the bars,
 * for tickwire also its main thread's ring drain and publish), per trade.
 *
 * - The exchange: the load harness's fake Binance (exchange-worker.ts) in a
 *   worker thread of this process, playing @trade frames of one symbol (the
 *   recorded tape's prices, sizes and sides; fresh ids, trade time = send
 *   time) at `rate` trades/s.
 * - tickwire: a child process running it as a user does (gateway-tickwire.ts:
 *   `createTickwire` + `createServer`), the 6 ingest timeframes, no
 *   subscribers.
 * - The peer: a child process running tardis-dev's normalizer and trade bars
 *   for the same timeframes behind a `ws` client (ingest-tardis-process.ts).
 * - The floor: the same `ws` client in a child process that only counts the
 *   frames (ingest-tardis-process.ts --receive-only): the receive every
 *   process pays, tickwire's feed worker included.
 *
 * All three processes are subscribed to the same stream, so the exchange sends
 * each frame to each at the same moment: they see the same frames under the
 * same machine load. A warm-up phase (not counted) lets both compile their
 * hot paths; then each process's CPU time (/proc/<pid>/stat, 10 ms ticks) is
 * read before the timed phase and again, for all at the same instant, once
 * all are seen to have taken every trade of it (tickwire's trade count from
 * /v1/status, which its worker reports every second; the peer's over IPC).
 * So both are charged the same wall-clock window, including up to a second
 * of idling after the last frame (tickwire's timers cost a little there; a
 * user pays that too). Unpinned: each process uses the cores as the
 * scheduler gives them.
 */
import type { ChildProcess } from 'node:child_process';
import type { Worker } from 'node:worker_threads';
import type { ExchangeCommand, ExchangeReply, ExchangeWorkerData } from './exchange-worker.ts';
import { INGEST_TIMEFRAMES } from './ingest.ts';
import type { TardisCount } from './ingest-tardis-process.ts';
import { nowUs } from './load/clock.ts';
import { nextMessage, ofType, startChild, startWorker, stopChild } from './load/peers.ts';
import { SendTimes } from './load/send-times.ts';
import type { Profile } from './profile.ts';
import { figure, type Figure } from './report.ts';
import { cpuSeconds, threadCpuSeconds } from './threads.ts';

const SYMBOL = 'BTCUSDT';
/** How often the processes' trade counts are read while waiting for them to catch up, ms. */
const POLL_MS = 100;

/** One process's timed phase. */
export interface WireResult {
  trades: number;
  cpuSeconds: number;
  /** CPU time per trade, ns. */
  cpuPerTradeNs: number;
  /** Last frame sent → seen to have taken every trade, ms (bounded below by the count's report period). */
  catchUpMs: number;
}

/** What each side says it has taken so far. */
interface Counted {
  readonly name: string;
  readonly pid: number;
  trades(): Promise<number>;
}

/** Run the whole-process comparison at the profile's rate. */
export async function ingestWireBench(profile: Profile, log: (line: string) => void): Promise<{ figures: Figure[]; details: unknown }> {
  const { rate, seconds, warmupSeconds } = profile.ingestWire;
  const children: ChildProcess[] = [];
  const exchange = startWorker(new URL('./exchange-worker.ts', import.meta.url), { sendTimes: SendTimes.allocate(), symbol: SYMBOL } satisfies ExchangeWorkerData);
  try {
    const { url } = await nextMessage(exchange, ofType<Extract<ExchangeReply, { type: 'listening' }>>('listening'), 30_000, 'fake exchange');
    // tickwire first, alone on the exchange, so "subscribed" is its subscription; then the peer, ready once acked.
    const tw = startChild(new URL('./gateway-tickwire.ts', import.meta.url), [url, ...INGEST_TIMEFRAMES]);
    children.push(tw);
    const { port } = await nextMessage(tw, ofType<{ type: 'ready'; port: number }>('ready'), 60_000, 'tickwire process');
    await command(exchange, { type: 'waitSubscribed', timeoutMs: 30_000 }, 'subscribed');
    const tardis = startChild(new URL('./ingest-tardis-process.ts', import.meta.url), [url, SYMBOL, ...INGEST_TIMEFRAMES]);
    children.push(tardis);
    await nextMessage(tardis, ofType('ready'), 60_000, 'tardis-dev process');
    const floor = startChild(new URL('./ingest-tardis-process.ts', import.meta.url), [url, SYMBOL, '--receive-only']);
    children.push(floor);
    await nextMessage(floor, ofType('ready'), 60_000, 'receive-only process');

    const sides: Counted[] = [
      { name: 'tickwire', pid: tw.pid!, trades: async () => (await status(port)).trades },
      { name: 'tardis-dev', pid: tardis.pid!, trades: async () => (await tardisCount(tardis)).trades },
      { name: 'receive-only', pid: floor.pid!, trades: async () => (await tardisCount(floor)).trades },
    ];
    const warmup = Math.round(rate * warmupSeconds);
    const timed = Math.round(rate * seconds);
    let nextId = 1;
    await command(exchange, { type: 'play', firstId: nextId, count: warmup, rate }, 'played');
    nextId += warmup;
    await Promise.all(sides.map((s) => caughtUp(s, warmup, 60_000)));
    log(`ingest wire: warm-up of ${warmup.toLocaleString('en')} trades taken by both`);

    const wakeups0 = await wakeups(port);
    const threads0 = threadCpuSeconds(tw.pid!);
    const cpu0 = sides.map((s) => cpuSeconds(s.pid));
    const played = await command(exchange, { type: 'play', firstId: nextId, count: timed, rate }, 'played');
    const seen = await Promise.all(sides.map((s) => caughtUp(s, warmup + timed, 120_000)));
    // Both read at the same instant: the same wall-clock window for each, idle tail included.
    const results = sides.map((s, i): WireResult => {
      const cpu = cpuSeconds(s.pid) - cpu0[i]!;
      return { trades: timed, cpuSeconds: cpu, cpuPerTradeNs: (cpu * 1e9) / timed, catchUpMs: (seen[i]! - played.lastSendUs) / 1000 };
    });
    const threads = threadSplit(tw.pid!, threads0, threadCpuSeconds(tw.pid!), timed);
    const wakeupsPerTrade = ((await wakeups(port)) - wakeups0) / timed;
    const overflow = (await status(port)).ringOverflow;
    const ringWait = await ringWaitUs(port);
    const [twR, tdR, floorR] = results as [WireResult, WireResult, WireResult];
    log(
      `ingest wire: tickwire ${fmtUs(twR.cpuPerTradeNs)} µs CPU/trade (main thread ${fmtUs(threads.mainNs)}, feed worker ${fmtUs(threads.busiestOtherNs)}, ` +
        `other threads ${fmtUs(threads.restNs)}; ${wakeupsPerTrade.toFixed(3)} main-thread wake-ups per trade, ring_wait p99 ${ringWait.p99} µs max ${ringWait.max} µs), tardis-dev ${fmtUs(tdR.cpuPerTradeNs)} µs, ` +
        `receive only ${fmtUs(floorR.cpuPerTradeNs)} µs, at ${rate.toLocaleString('en')} trades/s (sent at ${Math.round(played.sent / (played.ms / 1000)).toLocaleString('en')}/s)`);
    const peerBars = (await tardisCount(tardis)).bars;
    return {
      figures: [
        figure({
          id: 'ingest.wire.cpu_per_trade',
          group: 'ingest',
          name: `ingest over a loopback WebSocket, whole-process CPU time per trade (${INGEST_TIMEFRAMES.length} timeframes, no subscribers)`,
          value: twR.cpuPerTradeNs,
          unit: 'ns',
          better: 'lower',
          peer: { name: 'a process running tardis-dev normalizeTrades + computeTradeBars behind a ws client', value: tdR.cpuPerTradeNs },
          goals: [{ text: '≤ ½ of the tardis-dev process’s CPU per trade', on: 'ratio', op: '>=', threshold: 2 }],
          floor: {
            name: 'receive-only process',
            value: floorR.cpuPerTradeNs,
            why: 'the same ws client on the same frames in the same run, only counting them (no parsing, no aggregation, no ring): the receive every process pays, tickwire’s feed worker included',
          },
          note: `${timed.toLocaleString('en')} trades of ${SYMBOL} at ${rate.toLocaleString('en')}/s after ${warmup.toLocaleString('en')} warm-up trades, both processes fed the same frames at once; every thread of each process counted (/proc/<pid>/stat); tickwire ring overflow ${overflow}`,
        }),
        figure({
          id: 'ingest.wire.receive_floor_cpu_per_trade',
          group: 'ingest',
          name: 'ingest over a loopback WebSocket, the floor: whole-process CPU per trade of a ws client that only counts the frames',
          value: floorR.cpuPerTradeNs,
          unit: 'ns',
          better: 'lower',
          note: 'same frames, same run as the figure above; what any Node process reading this stream with ws pays before parsing: tickwire’s feed worker pays it too, so tickwire’s figure cannot go below it; when ½ of the tardis-dev process is below it, that goal cannot be met with this client',
        }),
        figure({
          id: 'ingest.wire.wakeups_per_trade',
          group: 'ingest',
          name: 'ingest over a loopback WebSocket, main-thread wake-ups per trade (the doorbell: at most one per socket read)',
          value: wakeupsPerTrade,
          unit: 'wake-ups',
          better: 'lower',
          note: `tickwire_doorbell_wakeups_total over the timed phase ÷ trades; each wake-up costs both threads tens of µs on this machine class; ring_wait since start (a batch's first receipt → the drain): p50 ${ringWait.p50} µs, p99 ${ringWait.p99} µs, max ${ringWait.max} µs`,
        }),
        figure({
          id: 'ingest.wire.ring_overflow',
          group: 'ingest',
          name: 'ingest over a loopback WebSocket, tick/bar-event ring overflow',
          value: overflow,
          unit: 'records',
          better: 'lower',
          goals: [{ text: 'zero ring overflow', on: 'value', op: '==', threshold: 0 }],
        }),
      ],
      details: { symbol: SYMBOL, timeframes: INGEST_TIMEFRAMES, rate, played, tickwire: { ...twR, wakeupsPerTrade, threadsNsPerTrade: threads, ringWaitUs: ringWait }, tardis: { ...tdR, bars: peerBars }, receiveOnly: floorR },
    };
  } finally {
    await Promise.allSettled(children.map((c) => stopChild(c)));
    exchange.postMessage({ type: 'stop' } satisfies ExchangeCommand);
    await nextMessage(exchange, ofType('stopped'), 5_000, 'fake exchange stop').catch(() => undefined);
    await exchange.terminate();
  }
}

/**
 * tickwire's CPU per trade by thread over the timed phase, ns: its main
 * thread, its busiest other thread (the feed worker: Node 20 names no
 * thread, so it is told by its CPU), and every other thread together (GC
 * helpers, the libuv pool, tsx's loader).
 */
function threadSplit(pid: number, before: Map<number, number>, after: Map<number, number>, trades: number): { mainNs: number; busiestOtherNs: number; restNs: number } {
  const used = [...after].map(([tid, s]) => ({ tid, ns: ((s - (before.get(tid) ?? 0)) * 1e9) / trades }));
  const mainNs = used.find((u) => u.tid === pid)?.ns ?? NaN;
  const others = used.filter((u) => u.tid !== pid).sort((a, b) => b.ns - a.ns);
  const busiestOtherNs = others[0]?.ns ?? 0;
  const restNs = others.slice(1).reduce((sum, u) => sum + u.ns, 0);
  return { mainNs, busiestOtherNs, restNs };
}

/** Wait until `side` has taken `expected` trades; resolves with when it was seen (clock.ts µs). Taking more is an error. */
async function caughtUp(side: Counted, expected: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const n = await side.trades();
    if (n === expected) return nowUs();
    if (n > expected) throw new Error(`ingest wire: ${side.name} took ${n} trades, ${expected} were sent`);
    if (performance.now() > deadline) throw new Error(`ingest wire: ${side.name} took ${n} of ${expected} trades within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** tickwire's counters for the exchange, from its public /v1/status. */
async function status(port: number): Promise<{ trades: number; ringOverflow: number }> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/status`);
  if (!res.ok) throw new Error(`ingest wire: tickwire /v1/status answered ${res.status}`);
  const body = (await res.json()) as { exchanges: Record<string, { trades: number; ringOverflow: number }> };
  return body.exchanges['binance']!;
}

/** tickwire's ring_wait stage since start (µs), from its public /v1/latency. */
async function ringWaitUs(port: number): Promise<{ p50: number; p99: number; max: number }> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/latency`);
  if (!res.ok) throw new Error(`ingest wire: tickwire /v1/latency answered ${res.status}`);
  const { p50, p99, max } = ((await res.json()) as { ring_wait: { main: { p50: number; p99: number; max: number } } }).ring_wait.main;
  return { p50, p99, max };
}

/** tickwire's main-thread wake-ups so far, from its public /metrics. */
async function wakeups(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`ingest wire: tickwire /metrics answered ${res.status}`);
  const line = (await res.text()).split('\n').find((l) => l.startsWith('tickwire_doorbell_wakeups_total '));
  if (line === undefined) throw new Error('ingest wire: tickwire /metrics has no tickwire_doorbell_wakeups_total');
  return Number(line.slice(line.indexOf(' ') + 1));
}

function tardisCount(child: ChildProcess): Promise<TardisCount> {
  const answer = nextMessage(child, ofType<TardisCount>('count'), 10_000, 'tardis-dev process count');
  child.send({ type: 'count' });
  return answer;
}

/** Send `cmd` to the fake exchange and wait for its `reply` (an `error` reply rejects). */
async function command<T extends ExchangeReply['type']>(exchange: Worker, cmd: ExchangeCommand, reply: T): Promise<Extract<ExchangeReply, { type: T }>> {
  const answer = nextMessage(exchange, (m: unknown): m is ExchangeReply => ofType<ExchangeReply>(reply)(m) || ofType<ExchangeReply>('error')(m), 120_000, `fake exchange ${cmd.type}`);
  exchange.postMessage(cmd);
  const m = await answer;
  if (m.type === 'error') throw new Error(`fake exchange ${cmd.type}: ${m.message}`);
  return m as Extract<ExchangeReply, { type: T }>;
}

const fmtUs = (ns: number) => (ns / 1000).toFixed(2);
