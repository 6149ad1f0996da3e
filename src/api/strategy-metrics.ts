/**
 * Strategies in /metrics: per strategy, the predictions and signals made,
 * fills, timeouts, errors and skipped bars (counters), and whether it is
 * paused (gauge); and the strategy pool's threads that could not be lowered
 * to their nice value (thread-priority.ts). Read from the runtime's
 * summaries at each scrape; nothing is counted on the live path.
 */
import client from 'prom-client';
import type { StrategySummary } from '../model/strategy.ts';
import type { PoolPriority } from '../strategies/pool.ts';

/** Register the strategy metrics on `registry`, reading `summaries` and the pool's `priority` at each scrape. */
export function registerStrategyMetrics(registry: client.Registry, summaries: () => StrategySummary[], priority: () => PoolPriority): void {
  const counter = (name: string, help: string, value: (s: StrategySummary) => number) =>
    new client.Counter({
      name,
      help,
      labelNames: ['strategy'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of summaries()) this.inc({ strategy: s.name }, value(s));
      },
    });
  counter('tickwire_strategy_predictions_total', 'Predictions a strategy made.', (s) => s.predictions);
  counter('tickwire_strategy_signals_total', 'Signals (decisions, holds included) a strategy made.', (s) => s.signals);
  counter('tickwire_strategy_fills_total', "Orders a strategy's executor filled.", (s) => s.fills);
  counter('tickwire_strategy_timeouts_total', 'Strategy calls aborted past their deadline (timeoutMs).', (s) => s.timeouts);
  counter('tickwire_strategy_errors_total', 'Strategy calls that threw, returned a malformed result or crashed their worker.', (s) => s.errors);
  counter('tickwire_strategy_skipped_bars_total', 'Bars a strategy did not judge because it was too far behind.', (s) => s.skipped);
  new client.Gauge({
    name: 'tickwire_strategy_paused',
    help: '1 when a strategy is paused after maxErrors failures in a row, else 0.',
    labelNames: ['strategy'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of summaries()) this.set({ strategy: s.name }, s.state === 'paused' ? 1 : 0);
    },
  });
  new client.Counter({
    name: 'tickwire_strategy_pool_priority_failures_total',
    help: 'Strategy pool threads that kept the gateway\'s scheduling priority because pool.nice could not be applied to them (not Linux, refused, or not verified).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(priority().failed);
    },
  });
}
