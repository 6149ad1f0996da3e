/**
 * `tickwire backtest`: the recorded 9,757-trade BTCUSDT tape through the same
 * adapter, aggregator, features, pool and executor as the live gateway.
 *  - Two replays of the file write byte-identical output and print the same summary.
 *  - Live and backtest agree: the tape played through a fake Binance into a
 *    running gateway gives the same predictions and signals as the backtest.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTickwire, type TickwireRuntime } from '../../src/api/tickwire.ts';
import { main } from '../../src/cli.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import type { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import type { FillEvent, PredictionEvent, SignalEvent } from '../../src/model/strategy.ts';
import { BacktestOutput, replay } from '../../src/strategies/backtest.ts';
import { StrategyRuntime } from '../../src/strategies/runtime.ts';
import { longTradeFrames, startFakeBinance } from '../support/fake-binance.ts';
import { FIXTURES_DIR } from '../support/fixtures.ts';
import { until } from '../support/until.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CONFIG = path.join(ROOT, 'examples/strategies/binance-backtest.yaml');
const TAPE = path.join(FIXTURES_DIR, 'binance-spot/long_trades.jsonl');

let tickwire: TickwireRuntime | undefined;
let fake: BinanceProtocolServer | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await tickwire?.stop();
  await fake?.stop();
  tickwire = undefined;
  fake = undefined;
});

async function cli(args: string[]): Promise<{ code: number; printed: string }> {
  const printed: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void printed.push(String(line)));
  const code = await main(args);
  vi.restoreAllMocks();
  return { code, printed: printed.join('\n') };
}

/** What live and backtest must agree on (times and latencies are the machine's, not the data's). */
function judged(e: PredictionEvent | SignalEvent): Record<string, unknown> {
  const { ts: _ts, ...rest } = e;
  if ('latencyUs' in rest) return { ...rest, latencyUs: 0 };
  return rest;
}

describe('backtest', () => {
  it('replays the tape twice into byte-identical output and the same summary', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tw-backtest-'));
    const a = await cli(['backtest', '--config', CONFIG, '--from', TAPE, '--out', path.join(dir, 'a.jsonl')]);
    const b = await cli(['backtest', '--config', CONFIG, '--from', TAPE, '--out', path.join(dir, 'b.jsonl')]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const outA = readFileSync(path.join(dir, 'a.jsonl'));
    expect(outA.equals(readFileSync(path.join(dir, 'b.jsonl')))).toBe(true);
    expect(a.printed).toBe(b.printed);
    expect(a.printed).toMatch(/^replayed 9757 lines: 9757 trades, 70 bars closed, 0 lines skipped$/m);
    expect(a.printed).toMatch(/^sma-cross: 63 predictions, signals \d+ buy \/ \d+ sell \/ \d+ hold, \d+ fills, .*max drawdown [\d.]+%, Sharpe/m);
    const lines = outA.toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const fills = lines.filter((l) => l['type'] === 'fill');
    expect(fills.length).toBeGreaterThan(0);
    // No look-ahead: each fill is at a trade after its signal's bar closed, not at the bar's close.
    for (const f of fills) {
      const signal = lines.find((l) => l['type'] === 'signal' && l['id'] === f['signalId'])!;
      expect(f['ts'] as number).toBeGreaterThanOrEqual(signal['ts'] as number);
    }
  });

  it('refuses a config whose module has no decide, naming the key, before replaying', async () => {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => void errors.push(String(line)));
    const dir = mkdtempSync(path.join(tmpdir(), 'tw-backtest-'));
    const config = path.join(dir, 'bad.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'half.mjs'), 'export const predict = () => ({ value: 1 });');
    writeFileSync(config, 'exchanges: { binance: { symbols: [BTCUSDT] } }\ntimeframes: [5s]\nstrategies:\n  half: { module: ./half.mjs, exchange: binance, symbol: BTCUSDT, timeframe: 5s }\n');
    expect(await main(['backtest', '--config', config, '--from', TAPE])).toBe(2);
    expect(errors.join('\n')).toMatch(/strategies\.half\.module: .*exports no decide function/);
  });

  it('agrees with a live gateway fed the same tape through a fake Binance', async () => {
    const config = loadConfigFile(CONFIG);
    // Backtest, in process.
    const expected = { predictions: [] as PredictionEvent[], signals: [] as SignalEvent[], fills: [] as FillEvent[] };
    const output = new BacktestOutput();
    const prediction = output.prediction.bind(output);
    const signal = output.signal.bind(output);
    output.prediction = (e) => (expected.predictions.push(e), prediction(e));
    output.signal = (e) => (expected.signals.push(e), signal(e));
    output.fill = (e) => void expected.fills.push(e);
    const runtime = new StrategyRuntime(config.strategies!, config.pool, output, { feedWorkers: 0, deterministic: true });
    try {
      expect(await runtime.probe()).toEqual([]);
      await replay(runtime, output, { config, exchange: 'binance', from: TAPE });
    } finally {
      await runtime.close();
    }

    // Live: the same config, the exchange pointed at a fake Binance playing the tape.
    fake = await startFakeBinance();
    tickwire = createTickwire({
      timeframes: ['5s'],
      exchanges: { binance: { url: fake.url, symbols: ['BTCUSDT'], channels: ['trades'] } },
      strategies: Object.fromEntries(Object.entries(config.strategies!).map(([name, s]) => [name, {
        module: s.module, exchange: s.exchange, symbol: s.symbol, timeframe: s.timeframe, lookback: s.lookback, params: s.params,
        features: Object.fromEntries(Object.entries(s.features).map(([f, spec]) => [f, { [spec.kind]: spec.period }])),
        timeoutMs: 5_000, executor: s.executor,
      }])),
      pool: { threads: 1 },
    }, { statusMs: 100, tickMs: 50 }) as TickwireRuntime;
    const live = { predictions: [] as PredictionEvent[], signals: [] as SignalEvent[], fills: [] as FillEvent[] };
    tickwire.on('prediction', (e) => live.predictions.push(e));
    tickwire.on('signal', (e) => live.signals.push(e));
    tickwire.on('fill', (e) => live.fills.push(e));
    await tickwire.start();
    const server = fake;
    await until(() => server.subscriptions().some((s) => s.includes('btcusdt@trade')), 20_000, 'the worker to subscribe');
    // Paced as the backtest replays: a frame that closes a bar is followed by the next one only once
    // every strategy has judged the bar, so "the next trade after the signal" (the paper fill, hence
    // the position the next decision sees) is the same trade in both.
    const frames = longTradeFrames();
    const bucket = (f: string) => Math.floor((JSON.parse(f) as { data: { T: number } }).data.T / 5_000) * 5_000;
    let open = bucket(frames[0]!);
    for (const f of frames) {
      server.sendRaw(f);
      const b = bucket(f);
      if (b === open) continue;
      open = b;
      const due = expected.signals.filter((e) => e.barOpenTime < b).length;
      await until(() => live.signals.length >= due, 30_000, `live signals for the bars before ${b}`);
    }
    // The backtest closed the recording's last bar at its end; live closes it only once its interval passes on the clock.
    const lastBar = bucket(frames.at(-1)!);
    const byBar = (a: Record<string, unknown>, b: Record<string, unknown>) =>
      (a['barOpenTime'] as number) - (b['barOpenTime'] as number) || String(a['strategy']).localeCompare(String(b['strategy']));
    const pick = (x: typeof live) => ({
      predictions: x.predictions.filter((e) => e.barOpenTime < lastBar).map(judged).sort(byBar),
      signals: x.signals.filter((e) => e.barOpenTime < lastBar).map(judged).sort(byBar),
      // Fills carry the exchange time of the trade they filled at: data, not the machine's clock.
      fills: x.fills.filter((e) => Number(e.signalId.split(':')[1]) < lastBar).sort((a, b) => a.ts - b.ts || a.strategy.localeCompare(b.strategy)),
    });
    await tickwire.strategiesIdle();
    const want = pick(expected);
    const got = pick(live);
    expect(want.signals.length).toBeGreaterThan(100);
    expect(want.signals.some((e) => e['action'] === 'sell')).toBe(true);
    expect(got.signals).toEqual(want.signals);
    expect(got.predictions).toEqual(want.predictions);
    expect(want.fills.length).toBeGreaterThan(0);
    expect(got.fills).toEqual(want.fills);
    expect(tickwire.strategies().map((s) => [s.name, s.errors, s.timeouts])).toEqual([['sma-cross', 0, 0], ['logistic', 0, 0]]);
  });
});
