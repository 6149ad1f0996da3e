/**
 * The strategy figure (issue 13): closed bar → signal on the stream, p50/p99,
 * at `count` strategies on 1 s bars; and what strategies cost subscribers:
 * the stream's trade latency (the gateway's receipt of the frame → a
 * subscriber's receipt) with the strategies judging and without, then with
 * one strategy burning 200 ms per call.
 *
 * One gateway (createTickwire + createServer on loopback, the simulated
 * exchange at 200 trades/s, `count` strategies of bench/strategies/hold.mjs)
 * is measured in short slices, in rounds of three, after one warm-up:
 *  - none: every strategy paused (tw.pauseStrategy: nothing is judged; their
 *    windows and features still follow the bars, a few µs per strategy and
 *    close);
 *  - strategies: every strategy resumed, judging each close;
 *  - floor: strategies paused, the floor worker (strategy-floor-worker.ts:
 *    the same judging in one plain worker, no runtime) judging each close,
 *    its decisions published on the `alerts` room.
 * Rounds alternate their order (none, strategies, floor; then floor,
 * strategies, none), so a drift of the machine's load falls on both sides of
 * the strategies' slice alike. Before each slice the gateway settles
 * (after a pause the judgments under way finish; then SETTLE_MS) so no
 * slice measures the previous one's tail. A slice lasts its planned time
 * and until it holds MIN_TRADES trades (the market has quiet spells). The goal, p99 unchanged within noise, is a row of the
 * report's Goals table: the paired test of bench/noise.ts over the rounds
 * (each round's strategies p99 against its none p99), the floor's the same
 * way against the same none slices.
 *
 * The subscriber, one WebSocket client taking the trades, every strategy's
 * signals and the alerts, runs in a worker thread of its own
 * (strategy-client-worker.ts), so what it costs to parse what it receives
 * is not charged to the gateway's main thread nor delays the trades it
 * measures. CPU per 1 s bar close: the main thread's (its schedstat), and
 * the rest of the process without the subscriber's thread (feed worker,
 * strategy pool, floor worker, GC and I/O threads). BENCH_STRATEGIES,
 * BENCH_STRATEGY_ROUNDS and BENCH_STRATEGY_SECONDS (one slice) override the
 * profile; BENCH_POOL_NICE sets `pool.nice` (default 19, as a gateway has it).
 */
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { createTickwire, type TickwireRuntime } from '../src/api/tickwire.ts';
import { createServer } from '../src/server/server.ts';
import { nextMessage, ofType, startWorker } from './load/peers.ts';
import { latencyHistogram } from './load/latency.ts';
import { pairedWithinNoise } from './noise.ts';
import type { Profile } from './profile.ts';
import { figure, type Figure } from './report.ts';
import type { ClientReport } from './strategy-client-worker.ts';
import { mainThreadCpuMs } from './threads.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MODULE = path.join(HERE, 'strategies/hold.mjs');
const CLIENT = new URL('./strategy-client-worker.ts', import.meta.url);
const FLOOR = new URL('./strategy-floor-worker.ts', import.meta.url);
/** The pool threads' nice value (pool.nice; BENCH_POOL_NICE=0 measures them at the gateway's priority). */
const POOL_NICE = Number(process.env['BENCH_POOL_NICE'] ?? 19);
/** Warm-up before the first slice: workers up, strategies past their lookback (5 closes of 1 s), JIT warm. */
const WARM_UP_MS = 7_000;
/** After a switch and its judgments under way, before a slice measures: the switch's own messages (status on the system room) are out. */
const SETTLE_MS = 500;

/** Trades a slice holds at least (its p99 is then its 3rd slowest), unless it reaches MAX_SLICE_FACTOR × its time first. */
const MIN_TRADES = 300;
/** A slice ends at this many times its planned length whatever it holds (a long quiet spell). */
const MAX_SLICE_FACTOR = 4;
/** A round whose slices hold fewer trades than this is left out of the goal's test (noted): its p99 is hardly one. */
const MIN_ROUND_TRADES = 100;

/** What a slice runs. */
type Mode = 'none' | 'strategies' | 'floor';

interface Slice {
  mode: Mode;
  round: number;
  trade: { p50: number; p99: number; count: number };
  /** How long the slice lasted, s (at least the planned length; longer while it held too few trades). */
  seconds: number;
  /** The main thread's busy time (event-loop utilization) per second, i.e. per 1 s bar close, ms (on a loaded machine it includes time the thread waited for a core). */
  mainBusyMsPerClose: number;
  /** The main thread's CPU time per 1 s bar close, ms (null off Linux). */
  mainCpuMsPerClose: number | null;
  /** CPU time per 1 s bar close of every other thread of the process but the subscriber's (feed worker, strategy pool, floor worker, GC, I/O), ms (null off Linux). */
  restCpuMsPerClose: number | null;
  /** The main thread's event-loop delay (1 ms timer), µs: how long the trade path can be held up. */
  loopDelay: { p99: number; max: number };
  /** 1-minute load average at the end of the slice. */
  loadAverage: number;
}

/** One gateway, its subscriber and the floor worker, measured slice by slice. */
class Session {
  readonly #tw: TickwireRuntime;
  readonly #names: string[];
  readonly #server: ReturnType<typeof createServer>;
  readonly #client: ReturnType<typeof startWorker>;
  readonly #floor: ReturnType<typeof startWorker>;
  /** The floor worker judges the closes (floor slices) or only keeps its window. */
  #floorJudges = false;
  #mode: Mode = 'strategies';
  /** Every slice's bar → signal latencies (strategies slices), µs. */
  readonly barToSignal = latencyHistogram();

  private constructor(tw: TickwireRuntime, server: ReturnType<typeof createServer>, client: ReturnType<typeof startWorker>, floor: ReturnType<typeof startWorker>) {
    this.#tw = tw;
    this.#names = tw.strategies().map((s) => s.name);
    this.#server = server;
    this.#client = client;
    this.#floor = floor;
  }

  /** A gateway with `count` strategies (each burning `burnMs` per call), its subscriber and floor worker, warmed up. */
  static async open(count: number, burnMs: number): Promise<Session> {
    const strategies = Object.fromEntries(Array.from({ length: count }, (_, i) => [`s${i}`, {
      module: MODULE, exchange: 'simulated', symbol: 'SIM-BTC', timeframe: '1s', lookback: 5,
      params: { burnMs }, features: { sma5: { sma: 5 } }, timeoutMs: burnMs > 0 ? burnMs * 5 : 250,
    }]));
    const tw = createTickwire({
      timeframes: ['1s'],
      exchanges: { simulated: { symbols: ['SIM-BTC'], rate: 200 } },
      strategies, pool: { threads: 1, nice: POOL_NICE },
    }) as TickwireRuntime;
    const server = createServer(tw, { host: '127.0.0.1', port: 0 });
    const { port } = await server.listen();
    await tw.start();
    const floor = startWorker(FLOOR, { count, module: MODULE });
    const channels = ['trades:simulated:SIM-BTC', 'alerts', ...Object.keys(strategies).map((n) => `signals:${n}`)];
    const client = startWorker(CLIENT, { url: `ws://127.0.0.1:${port}/v1/stream`, channels });
    const session = new Session(tw, server, client, floor);
    tw.on('barClose', (u) => floor.postMessage({ bar: u.bar, judge: session.#floorJudges }));
    floor.on('message', (m: { openTime: number; actions: string[] }) => {
      for (let i = 0; i < m.actions.length; i++) server.publishAlert({ id: `s${i}:${m.openTime}`, level: 'info', source: `s${i}`, message: m.actions[i]! });
    });
    await nextMessage(client, ofType('ready'), 30_000, 'strategies bench client');
    await new Promise((r) => setTimeout(r, WARM_UP_MS));
    return session;
  }

  /** Switch to `mode`, let the gateway settle, then measure at least `seconds` and MIN_TRADES trades. */
  async slice(mode: Mode, round: number, seconds: number): Promise<Slice> {
    await this.#switch(mode);
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const busy0 = performance.eventLoopUtilization();
    const cpu0 = mainThreadCpuMs();
    const process0 = process.cpuUsage();
    const report = nextMessage(this.#client, ofType<ClientReport>('report'), MAX_SLICE_FACTOR * seconds * 1000 + 30_000, 'strategies bench client report');
    const t0 = performance.now();
    this.#client.postMessage({ type: 'measure', minMs: seconds * 1000, minTrades: MIN_TRADES, maxMs: MAX_SLICE_FACTOR * seconds * 1000 });
    const r = await report;
    const lasted = (performance.now() - t0) / 1000;
    const busy = performance.eventLoopUtilization(busy0);
    const cpu1 = mainThreadCpuMs();
    const processUs = process.cpuUsage(process0);
    loop.disable();
    const trade = hdr.decodeFromCompressedBase64(r.trade);
    if (mode === 'strategies') this.barToSignal.add(hdr.decodeFromCompressedBase64(r.signal));
    const perClose = (ms: number) => Math.round((ms / lasted) * 10) / 10;
    const mainMs = cpu0 === null || cpu1 === null ? null : cpu1 - cpu0;
    return {
      mode, round, trade: { p50: trade.getValueAtPercentile(50), p99: trade.getValueAtPercentile(99), count: trade.totalCount }, seconds: Math.round(lasted * 10) / 10,
      mainBusyMsPerClose: perClose(busy.active),
      mainCpuMsPerClose: mainMs === null ? null : perClose(mainMs),
      restCpuMsPerClose: mainMs === null || Number.isNaN(r.cpuMs) ? null : perClose((processUs.user + processUs.system) / 1000 - mainMs - r.cpuMs),
      loopDelay: { p99: Math.round(loop.percentile(99) / 1000), max: Math.round(loop.max / 1000) },
      loadAverage: Number(os.loadavg()[0]!.toFixed(2)),
    };
  }

  /** Timeouts and errors of the strategies so far. */
  failures(): { timeouts: number; errors: number } {
    const s = this.#tw.strategies();
    return { timeouts: s.reduce((n, x) => n + x.timeouts, 0), errors: s.reduce((n, x) => n + x.errors, 0) };
  }

  async close(): Promise<void> {
    this.#client.postMessage({ type: 'close' });
    await this.#floor.terminate();
    await this.#client.terminate();
    await this.#server.close();
    await this.#tw.stop();
  }

  async #switch(mode: Mode): Promise<void> {
    if (mode !== this.#mode) {
      const judging = mode === 'strategies';
      if (judging !== (this.#mode === 'strategies')) {
        for (const name of this.#names) {
          if (judging) this.#tw.resumeStrategy(name);
          else this.#tw.pauseStrategy(name);
        }
        // Paused: the judgments under way finish (or meet their deadline) before the slice; nothing new is queued.
        if (!judging) await this.#tw.strategiesIdle();
      }
      this.#floorJudges = mode === 'floor';
      this.#mode = mode;
    }
    await new Promise((r) => setTimeout(r, SETTLE_MS));
  }
}

/** The order of round `round`'s slices: alternating, so a drift of load falls on both sides of the strategies' slice. */
function order(round: number): Mode[] {
  return round % 2 === 1 ? ['none', 'strategies', 'floor'] : ['floor', 'strategies', 'none'];
}

function describeSlice(s: Slice, barToSignal?: string): string {
  return `strategies round ${s.round}, ${s.mode} (${s.seconds} s): trade p50 ${s.trade.p50} µs p99 ${s.trade.p99} µs (${s.trade.count}); CPU per close: main thread ${s.mainCpuMsPerClose ?? '–'} ms (busy ${s.mainBusyMsPerClose} ms), ` +
    `rest of the process ${s.restCpuMsPerClose ?? '–'} ms; loop delay p99 ${s.loopDelay.p99} µs max ${s.loopDelay.max} µs; load average ${s.loadAverage}${barToSignal ?? ''}`;
}

/** Rounds of none / strategies / floor slices on one gateway, then the slow strategy on its own; their figures. */
export async function strategiesBench(profile: Profile, log: (line: string) => void): Promise<{ figures: Figure[]; details: unknown }> {
  const count = Number(process.env['BENCH_STRATEGIES'] ?? 100);
  const rounds = Number(process.env['BENCH_STRATEGY_ROUNDS'] ?? (profile.name === 'quick' ? 10 : 14));
  const seconds = Number(process.env['BENCH_STRATEGY_SECONDS'] ?? (profile.name === 'quick' ? 3 : 5));
  const slices: Slice[] = [];
  const session = await Session.open(count, 0);
  let failures: { timeouts: number; errors: number };
  let barToSignal: { p50: number; p99: number; count: number };
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const mode of order(round)) {
        const s = await session.slice(mode, round, seconds);
        slices.push(s);
        log(describeSlice(s));
      }
    }
    failures = session.failures();
    const h = session.barToSignal;
    barToSignal = { p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), count: h.totalCount };
  } finally {
    log('strategies: closing the gateway');
    await session.close();
  }
  log('strategies: one strategy at 200 ms per call, on a gateway of its own');
  // The slow strategy, alone on a gateway of its own: two slices' worth of judging.
  const slowSession = await Session.open(1, 200);
  let slow: Slice;
  try {
    slow = await slowSession.slice('strategies', 1, 2 * seconds);
    log(describeSlice(slow, ' (one strategy at 200 ms per call)'));
  } finally {
    await slowSession.close();
  }
  // Rounds where a slice caught next to no trades (a quiet spell past the slice's longest) cannot say anything of p99.
  const thin = new Set(slices.filter((s) => s.trade.count < MIN_ROUND_TRADES).map((s) => s.round));
  if (thin.size > 0) log(`strategies: rounds ${[...thin].join(', ')} left out of the p99 test: a slice held fewer than ${MIN_ROUND_TRADES} trades`);
  const of = (mode: Mode) => slices.filter((s) => s.mode === mode && !thin.has(s.round)).sort((a, b) => a.round - b.round);
  const none = of('none');
  const many = of('strategies');
  const floors = of('floor');
  const p99 = pairedWithinNoise(none.map((s) => s.trade.p99), many.map((s) => s.trade.p99));
  const floorP99 = pairedWithinNoise(none.map((s) => s.trade.p99), floors.map((s) => s.trade.p99));
  const ms = (us: number) => `${(us / 1000).toFixed(2)} ms`;
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const perClose = (runs: Slice[], key: 'mainCpuMsPerClose' | 'restCpuMsPerClose' | 'mainBusyMsPerClose'): number | null =>
    runs.some((r) => r[key] === null) ? null : Math.round(avg(runs.map((r) => r[key]!)) * 10) / 10;
  const used = none.length;
  const across = `mean of ${used} slices of ${seconds} s or more`;
  const cpuFigure = (key: 'mainCpuMsPerClose' | 'restCpuMsPerClose', id: string, what: string): Figure[] => {
    const a = perClose(many, key);
    const b = perClose(none, key);
    return a === null || b === null ? [] : [figure({ id, group: 'strategies', name: `${what} per 1 s bar close with ${count} strategies (${across})`, value: a, unit: 'ms', better: 'lower', peer: { name: 'strategies paused', value: b } })];
  };
  const figures: Figure[] = [
    figure({ id: 'strategies.bar_to_signal.p50', group: 'strategies', name: `closed bar → signal on the stream, p50 (${count} strategies, 1 s bars; ${rounds} slices)`, value: barToSignal.p50 / 1000, unit: 'ms', better: 'lower' }),
    figure({ id: 'strategies.bar_to_signal.p99', group: 'strategies', name: `closed bar → signal on the stream, p99 (${count} strategies, 1 s bars; ${rounds} slices)`, value: barToSignal.p99 / 1000, unit: 'ms', better: 'lower' }),
    figure({
      id: 'strategies.fanout.p99', group: 'strategies', name: `stream trade latency p99 with ${count} strategies (geometric mean of ${used} slices)`, value: p99.treatedMean, unit: 'µs', better: 'lower',
      peer: { name: 'strategies paused', value: p99.baselineMean },
    }),
    figure({
      id: 'strategies.fanout.p99_added', group: 'strategies', name: `stream trade latency p99 that ${count} strategies add (paired over ${used} rounds)`,
      value: p99.added, unit: 'µs', better: 'lower',
      goals: [{ text: `p99 unchanged within noise (added ≤ ${ms(p99.allowance)}: a one-sided paired t-test at 5 % over ${used} rounds, bench/noise.ts)`, on: 'value', op: '<=', threshold: p99.allowance }],
      floor: {
        name: `${count} judged in one plain worker`, value: floorP99.added,
        why: `the judging alone (bench/strategies/hold.mjs for each strategy in one worker at nice 19, one message a close each way, each decision published as one stream message), in slices of the same rounds: trade p99 ${ms(floorP99.treatedMean)} (geometric mean), allowance ${ms(floorP99.allowance)}`,
      },
      note: `trade p99 per round, strategies paused: ${none.map((s) => ms(s.trade.p99)).join(', ')}; judging: ${many.map((s) => ms(s.trade.p99)).join(', ')}; ` +
        `log ratio sd ${p99.sd.toFixed(2)} (the per-round noise the test allowed for), t ${p99.t.toFixed(2)}`,
    }),
    ...cpuFigure('mainCpuMsPerClose', 'strategies.main_cpu_per_close', 'main thread CPU time'),
    ...cpuFigure('restCpuMsPerClose', 'strategies.rest_cpu_per_close', 'CPU time of the other threads (feed worker, strategy pool, floor worker, GC; not the subscriber)'),
    figure({
      id: 'strategies.main_busy_per_close', group: 'strategies', name: `main thread busy time per 1 s bar close with ${count} strategies (event-loop utilization, ${across})`, value: perClose(many, 'mainBusyMsPerClose')!, unit: 'ms', better: 'lower',
      peer: { name: 'strategies paused', value: perClose(none, 'mainBusyMsPerClose')! },
    }),
    figure({
      id: 'strategies.fanout_slow.p99', group: 'strategies', name: 'stream trade latency p99 with a strategy burning 200 ms per call', value: slow.trade.p99, unit: 'µs', better: 'lower',
      peer: { name: `strategies paused (geometric mean of ${used} slices)`, value: p99.baselineMean },
    }),
  ];
  log(`strategies: trade p99 ${count} strategies add ${ms(p99.added)}, the floor ${ms(floorP99.added)} (allowance ${ms(p99.allowance)}, ${used} rounds): ${p99.withinNoise ? 'within noise' : 'NOT within noise'}; ` +
    `bar → signal p50 ${ms(barToSignal.p50)} p99 ${ms(barToSignal.p99)}; timeouts ${failures.timeouts}, errors ${failures.errors}`);
  return { figures, details: { slices, slow, p99, floorP99, barToSignal, failures } };
}
