/**
 * The strategy figure (issue 13): closed bar → signal on the stream, p50/p99,
 * at `count` strategies on 1 s bars; and what strategies cost subscribers:
 * the stream's trade latency (the gateway's receipt of the frame → a
 * subscriber's receipt) with no strategy, with `count` strategies, and with
 * one strategy burning 200 ms per call (the goal: p99 unchanged within noise).
 *
 * One process: the simulated exchange feeds a gateway (createTickwire +
 * createServer on loopback); one WebSocket client subscribes to the trades
 * and to every strategy's signals. Bar → signal is measured from the bar's
 * end (its open time + 1 s, on this machine's clock, which the simulated
 * exchange stamps trades with) to the signal's arrival; trade latency from
 * the message's `recvTs` to its arrival. BENCH_STRATEGIES and
 * BENCH_STRATEGY_SECONDS override the profile (for a quick check).
 */
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createTickwire, type TickwireRuntime } from '../src/api/tickwire.ts';
import { createServer } from '../src/server/server.ts';
import { latencyHistogram } from './load/latency.ts';
import type { Profile } from './profile.ts';
import { figure, type Figure } from './report.ts';
import { mainThreadCpuMs } from './threads.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MODULE = path.join(HERE, 'strategies/hold.mjs');

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
  /** The main thread's event-loop delay (1 ms timer), µs: how long the trade path can be held up. */
  loopDelay: { p99: number; max: number };
  timeouts: number;
  errors: number;
}

async function measure(label: string, count: number, burnMs: number, seconds: number, log: (line: string) => void): Promise<Run> {
  const strategies = Object.fromEntries(Array.from({ length: count }, (_, i) => [`s${i}`, {
    module: MODULE, exchange: 'simulated', symbol: 'SIM-BTC', timeframe: '1s', lookback: 5,
    params: { burnMs }, features: { sma5: { sma: 5 } }, timeoutMs: burnMs > 0 ? burnMs * 5 : 250,
  }]));
  const tw = createTickwire({
    timeframes: ['1s'],
    exchanges: { simulated: { symbols: ['SIM-BTC'], rate: 200 } },
    ...(count > 0 ? { strategies, pool: { threads: 1 } } : {}),
  }) as TickwireRuntime;
  const server = createServer(tw, { host: '127.0.0.1', port: 0 });
  const { port } = await server.listen();
  await tw.start();
  const trade = latencyHistogram();
  const signal = latencyHistogram();
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/stream`);
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  let measuring = false;
  ws.on('message', (data) => {
    const now = performance.timeOrigin + performance.now();
    if (!measuring) return;
    const m = JSON.parse(data.toString()) as { type: string; recvTs?: number; barOpenTime?: number };
    if (m.type === 'trade') trade.recordValue(Math.max(1, Math.round((now - m.recvTs!) * 1000)));
    else if (m.type === 'signal') signal.recordValue(Math.max(1, Math.round((now - (m.barOpenTime! + 1000)) * 1000)));
  });
  ws.send(JSON.stringify({ op: 'subscribe', id: 1, channels: ['trades:simulated:SIM-BTC', ...Object.keys(strategies).map((n) => `signals:${n}`)] }));
  await new Promise((r) => setTimeout(r, 7_000)); // warm-up: workers up, strategies past their lookback
  measuring = true;
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const busy0 = performance.eventLoopUtilization();
  const cpu0 = mainThreadCpuMs();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const busy = performance.eventLoopUtilization(busy0);
  const cpu1 = mainThreadCpuMs();
  loop.disable();
  measuring = false;
  const s = tw.strategies();
  ws.terminate();
  await server.close();
  await tw.stop();
  const summary = (h: ReturnType<typeof latencyHistogram>) => ({ p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), count: h.totalCount });
  const run: Run = {
    label, strategies: count, burnMs, trade: summary(trade), barToSignal: count > 0 ? summary(signal) : null,
    mainBusyMsPerClose: Math.round((busy.active / seconds) * 10) / 10,
    mainCpuMsPerClose: cpu0 === null || cpu1 === null ? null : Math.round(((cpu1 - cpu0) / seconds) * 10) / 10,
    loopDelay: { p99: Math.round(loop.percentile(99) / 1000), max: Math.round(loop.max / 1000) },
    timeouts: s.reduce((n, x) => n + x.timeouts, 0), errors: s.reduce((n, x) => n + x.errors, 0),
  };
  log(`strategies ${label}: trade p50 ${run.trade.p50} µs p99 ${run.trade.p99} µs (${run.trade.count}); main thread per close: CPU ${run.mainCpuMsPerClose ?? '–'} ms, busy ${run.mainBusyMsPerClose} ms; loop delay p99 ${run.loopDelay.p99} µs max ${run.loopDelay.max} µs` +
    (run.barToSignal === null ? '' : `; bar → signal p50 ${run.barToSignal.p50} µs p99 ${run.barToSignal.p99} µs (${run.barToSignal.count})`));
  return run;
}

/** Run the three configurations and turn them into figures. */
export async function strategiesBench(profile: Profile, log: (line: string) => void): Promise<{ figures: Figure[]; details: unknown }> {
  const count = Number(process.env['BENCH_STRATEGIES'] ?? 100);
  const seconds = Number(process.env['BENCH_STRATEGY_SECONDS'] ?? (profile.name === 'quick' ? 8 : 20));
  const none = await measure('none', 0, 0, seconds, log);
  const many = await measure(`${count} strategies`, count, 0, seconds, log);
  const slow = await measure('one at 200 ms per call', 1, 200, seconds, log);
  const figures: Figure[] = [
    figure({ id: 'strategies.bar_to_signal.p50', group: 'strategies', name: `closed bar → signal on the stream, p50 (${count} strategies, 1 s bars)`, value: many.barToSignal!.p50 / 1000, unit: 'ms', better: 'lower' }),
    figure({ id: 'strategies.bar_to_signal.p99', group: 'strategies', name: `closed bar → signal on the stream, p99 (${count} strategies, 1 s bars)`, value: many.barToSignal!.p99 / 1000, unit: 'ms', better: 'lower' }),
    figure({
      id: 'strategies.fanout.p99', group: 'strategies', name: `stream trade latency p99 with ${count} strategies`, value: many.trade.p99, unit: 'µs', better: 'lower',
      peer: { name: 'no strategies', value: none.trade.p99 },
    }),
    figure({
      id: 'strategies.main_busy_per_close', group: 'strategies', name: `main thread busy time per 1 s bar close with ${count} strategies (event-loop utilization)`, value: many.mainBusyMsPerClose, unit: 'ms', better: 'lower',
      peer: { name: 'no strategies', value: none.mainBusyMsPerClose },
    }),
    ...(many.mainCpuMsPerClose === null || none.mainCpuMsPerClose === null ? [] : [figure({
      id: 'strategies.main_cpu_per_close', group: 'strategies', name: `main thread CPU time per 1 s bar close with ${count} strategies`, value: many.mainCpuMsPerClose, unit: 'ms', better: 'lower',
      peer: { name: 'no strategies', value: none.mainCpuMsPerClose },
    })]),
    figure({
      id: 'strategies.fanout_slow.p99', group: 'strategies', name: 'stream trade latency p99 with a strategy burning 200 ms per call', value: slow.trade.p99, unit: 'µs', better: 'lower',
      peer: { name: 'no strategies', value: none.trade.p99 },
    }),
  ];
  return { figures, details: { runs: [none, many, slow] } };
}
