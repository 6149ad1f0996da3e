/**
 * The strategy figure (issue 13): closed bar → signal on the stream, p50/p99,
 * at `count` strategies on 1 s bars; and what strategies cost subscribers:
 * the stream's trade latency (the gateway's receipt of the frame → a
 * subscriber's receipt) with no strategy and with `count` strategies, in
 * alternating runs (none, strategies, floor, twice: bench/noise.ts says
 * why), then with one strategy burning 200 ms per call. The goal, p99
 * unchanged within noise, is a row of the report's Goals table: the mean of
 * the two with-strategies p99s against the mean of the two without, allowed
 * the spread between the two runs without (noise.ts); the floor
 * (strategy-floor-worker.ts: the same judging in one plain worker, no
 * runtime) is measured against the same runs.
 *
 * Each run: the simulated exchange feeds a gateway (createTickwire +
 * createServer on loopback) in this process; the subscriber, one WebSocket
 * client taking the trades and every strategy's signals, runs in a worker
 * thread of its own (strategy-client-worker.ts), so what it costs to parse
 * what it receives is not charged to the gateway's main thread nor delays
 * the trades it measures. CPU per 1 s bar close: the main thread's (its
 * schedstat), and the rest of the process without the subscriber's thread
 * (feed worker, strategy pool, GC and I/O threads). BENCH_STRATEGIES and
 * BENCH_STRATEGY_SECONDS override the profile (for a quick check);
 * BENCH_POOL_NICE sets `pool.nice` (default 19, as a gateway has it).
 */
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { createTickwire, type TickwireRuntime } from '../src/api/tickwire.ts';
import { createServer } from '../src/server/server.ts';
import { nextMessage, ofType, startWorker } from './load/peers.ts';
import { withinNoise } from './noise.ts';
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

interface Run {
  label: string;
  strategies: number;
  burnMs: number;
  trade: { p50: number; p99: number; count: number };
  barToSignal: { p50: number; p99: number; count: number } | null;
  /** The main thread's busy time (event-loop utilization) per second, i.e. per 1 s bar close, ms (on a loaded machine it includes time the thread waited for a core). */
  mainBusyMsPerClose: number;
  /** The main thread's CPU time per 1 s bar close, ms (null off Linux). */
  mainCpuMsPerClose: number | null;
  /** CPU time per 1 s bar close of every other thread of the process but the subscriber's (feed worker, strategy pool, GC, I/O), ms (null off Linux). */
  restCpuMsPerClose: number | null;
  /** The main thread's event-loop delay (1 ms timer), µs: how long the trade path can be held up. */
  loopDelay: { p99: number; max: number };
  /** 1-minute load average at the end of the run. */
  loadAverage: number;
  timeouts: number;
  errors: number;
}

/**
 * One run. `floor`: no strategy runtime; the floor worker (strategy-floor-worker.ts)
 * judges `count` strategies per close and each decision is published on the
 * stream as one message (the `alerts` room, which the subscriber takes instead of signals).
 */
async function measure(label: string, count: number, burnMs: number, seconds: number, log: (line: string) => void, floor = false): Promise<Run> {
  const configured = floor ? 0 : count;
  const strategies = Object.fromEntries(Array.from({ length: configured }, (_, i) => [`s${i}`, {
    module: MODULE, exchange: 'simulated', symbol: 'SIM-BTC', timeframe: '1s', lookback: 5,
    params: { burnMs }, features: { sma5: { sma: 5 } }, timeoutMs: burnMs > 0 ? burnMs * 5 : 250,
  }]));
  const tw = createTickwire({
    timeframes: ['1s'],
    exchanges: { simulated: { symbols: ['SIM-BTC'], rate: 200 } },
    ...(configured > 0 ? { strategies, pool: { threads: 1, nice: POOL_NICE } } : {}),
  }) as TickwireRuntime;
  const server = createServer(tw, { host: '127.0.0.1', port: 0 });
  const { port } = await server.listen();
  await tw.start();
  const judge = floor ? startWorker(FLOOR, { count, module: MODULE }) : undefined;
  if (judge !== undefined) {
    tw.on('barClose', (u) => judge.postMessage(u.bar));
    judge.on('message', (m: { openTime: number; actions: string[] }) => {
      for (let i = 0; i < m.actions.length; i++) server.publishAlert({ id: `s${i}:${m.openTime}`, level: 'info', source: `s${i}`, message: m.actions[i]! });
    });
  }
  const channels = ['trades:simulated:SIM-BTC', ...(floor ? ['alerts'] : Object.keys(strategies).map((n) => `signals:${n}`))];
  const client = startWorker(CLIENT, { url: `ws://127.0.0.1:${port}/v1/stream`, channels });
  try {
    await nextMessage(client, ofType('ready'), 30_000, 'strategies bench client');
    await new Promise((r) => setTimeout(r, 7_000)); // warm-up: workers up, strategies past their lookback
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const busy0 = performance.eventLoopUtilization();
    const cpu0 = mainThreadCpuMs();
    const process0 = process.cpuUsage();
    client.postMessage({ type: 'measure' });
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const busy = performance.eventLoopUtilization(busy0);
    const cpu1 = mainThreadCpuMs();
    const processUs = process.cpuUsage(process0);
    loop.disable();
    const report = nextMessage(client, ofType<ClientReport>('report'), 30_000, 'strategies bench client report');
    client.postMessage({ type: 'report' });
    const r = await report;
    const s = tw.strategies();
    const summary = (encoded: string) => {
      const h = hdr.decodeFromCompressedBase64(encoded);
      return { p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), count: h.totalCount };
    };
    const perClose = (ms: number) => Math.round((ms / seconds) * 10) / 10;
    const mainMs = cpu0 === null || cpu1 === null ? null : cpu1 - cpu0;
    const run: Run = {
      label, strategies: count, burnMs, trade: summary(r.trade), barToSignal: configured > 0 ? summary(r.signal) : null,
      mainBusyMsPerClose: perClose(busy.active),
      mainCpuMsPerClose: mainMs === null ? null : perClose(mainMs),
      restCpuMsPerClose: mainMs === null || Number.isNaN(r.cpuMs) ? null : perClose((processUs.user + processUs.system) / 1000 - mainMs - r.cpuMs),
      loopDelay: { p99: Math.round(loop.percentile(99) / 1000), max: Math.round(loop.max / 1000) },
      loadAverage: Number(os.loadavg()[0]!.toFixed(2)),
      timeouts: s.reduce((n, x) => n + x.timeouts, 0), errors: s.reduce((n, x) => n + x.errors, 0),
    };
    log(`strategies ${label}: trade p50 ${run.trade.p50} µs p99 ${run.trade.p99} µs (${run.trade.count}); CPU per close: main thread ${run.mainCpuMsPerClose ?? '–'} ms (busy ${run.mainBusyMsPerClose} ms), ` +
      `rest of the process ${run.restCpuMsPerClose ?? '–'} ms; loop delay p99 ${run.loopDelay.p99} µs max ${run.loopDelay.max} µs; load average ${run.loadAverage}` +
      (run.barToSignal === null ? '' : `; bar → signal p50 ${run.barToSignal.p50} µs p99 ${run.barToSignal.p99} µs (${run.barToSignal.count})`));
    return run;
  } finally {
    await judge?.terminate();
    await client.terminate();
    await server.close();
    await tw.stop();
  }
}

/** Run none and `count` strategies alternately (twice each), then the slow one; turn them into figures. */
export async function strategiesBench(profile: Profile, log: (line: string) => void): Promise<{ figures: Figure[]; details: unknown }> {
  const count = Number(process.env['BENCH_STRATEGIES'] ?? 100);
  const seconds = Number(process.env['BENCH_STRATEGY_SECONDS'] ?? (profile.name === 'quick' ? 8 : 20));
  const none: Run[] = [];
  const many: Run[] = [];
  const floors: Run[] = [];
  for (let round = 1; round <= 2; round++) {
    none.push(await measure(`none #${round}`, 0, 0, seconds, log));
    many.push(await measure(`${count} strategies #${round}`, count, 0, seconds, log));
    floors.push(await measure(`floor, ${count} judged in one plain worker #${round}`, count, 0, seconds, log, true));
  }
  const slow = await measure('one at 200 ms per call', 1, 200, seconds, log);
  const p99 = withinNoise(none.map((r) => r.trade.p99), many.map((r) => r.trade.p99));
  const floorP99 = withinNoise(none.map((r) => r.trade.p99), floors.map((r) => r.trade.p99));
  const ms = (us: number) => `${(us / 1000).toFixed(2)} ms`;
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const perClose = (runs: Run[], key: 'mainCpuMsPerClose' | 'restCpuMsPerClose' | 'mainBusyMsPerClose'): number | null =>
    runs.some((r) => r[key] === null) ? null : Math.round(avg(runs.map((r) => r[key]!)) * 10) / 10;
  const signalsOf = (key: 'p50' | 'p99') => avg(many.map((r) => r.barToSignal![key])) / 1000;
  const cpuFigure = (key: 'mainCpuMsPerClose' | 'restCpuMsPerClose', id: string, what: string): Figure[] => {
    const a = perClose(many, key);
    const b = perClose(none, key);
    return a === null || b === null ? [] : [figure({ id, group: 'strategies', name: `${what} per 1 s bar close with ${count} strategies (mean of 2 runs)`, value: a, unit: 'ms', better: 'lower', peer: { name: 'no strategies', value: b } })];
  };
  const figures: Figure[] = [
    figure({ id: 'strategies.bar_to_signal.p50', group: 'strategies', name: `closed bar → signal on the stream, p50 (${count} strategies, 1 s bars; mean of 2 runs)`, value: signalsOf('p50'), unit: 'ms', better: 'lower' }),
    figure({ id: 'strategies.bar_to_signal.p99', group: 'strategies', name: `closed bar → signal on the stream, p99 (${count} strategies, 1 s bars; mean of 2 runs)`, value: signalsOf('p99'), unit: 'ms', better: 'lower' }),
    figure({
      id: 'strategies.fanout.p99', group: 'strategies', name: `stream trade latency p99 with ${count} strategies (mean of 2 runs)`, value: p99.treatedMean, unit: 'µs', better: 'lower',
      peer: { name: 'no strategies', value: p99.baselineMean },
    }),
    figure({
      id: 'strategies.fanout.p99_added', group: 'strategies', name: `stream trade latency p99 that ${count} strategies add (mean with − mean without, runs alternating)`,
      value: p99.difference, unit: 'µs', better: 'lower',
      goals: [{ text: `p99 unchanged within noise (added ≤ ${ms(p99.noise)}, the spread of the runs without strategies)`, on: 'value', op: '<=', threshold: p99.noise }],
      floor: {
        name: `${count} judged in one plain worker`, value: floorP99.difference,
        why: `the judging alone (bench/strategies/hold.mjs for each strategy in one worker at nice 19, one message a close each way, each decision published as one stream message), measured in the same run: trade p99 ${floors.map((r) => ms(r.trade.p99)).join(', ')}`,
      },
      note: `trade p99 without strategies ${none.map((r) => ms(r.trade.p99)).join(', ')}; with ${count} ${many.map((r) => ms(r.trade.p99)).join(', ')} (runs alternating, without first); ` +
        'within noise: the difference of the means no larger than the spread of the runs without (bench/noise.ts)',
    }),
    ...cpuFigure('mainCpuMsPerClose', 'strategies.main_cpu_per_close', 'main thread CPU time'),
    ...cpuFigure('restCpuMsPerClose', 'strategies.rest_cpu_per_close', 'CPU time of the other threads (feed worker, strategy pool, GC; not the subscriber)'),
    figure({
      id: 'strategies.main_busy_per_close', group: 'strategies', name: `main thread busy time per 1 s bar close with ${count} strategies (event-loop utilization, mean of 2 runs)`, value: perClose(many, 'mainBusyMsPerClose')!, unit: 'ms', better: 'lower',
      peer: { name: 'no strategies', value: perClose(none, 'mainBusyMsPerClose')! },
    }),
    figure({
      id: 'strategies.fanout_slow.p99', group: 'strategies', name: 'stream trade latency p99 with a strategy burning 200 ms per call', value: slow.trade.p99, unit: 'µs', better: 'lower',
      peer: { name: 'no strategies (mean of 2 runs)', value: p99.baselineMean },
    }),
  ];
  log(`strategies: trade p99 ${count} strategies adds ${ms(p99.difference)}, the floor ${ms(floorP99.difference)} (noise ${ms(p99.noise)}): ${p99.withinNoise ? 'within noise' : 'NOT within noise'}`);
  return { figures, details: { runs: [none[0], many[0], floors[0], none[1], many[1], floors[1], slow], p99, floorP99 } };
}
