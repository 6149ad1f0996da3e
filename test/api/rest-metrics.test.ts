/** The REST limiter's figures in /metrics: read from each exchange's status at scrape time. */
import { describe, expect, it } from 'vitest';
import { createRuntimeMetrics } from '../../src/api/metrics.ts';
import type { ExchangeStatus } from '../../src/model/status.ts';

function status(exchange: string, rest: ExchangeStatus['rest']): ExchangeStatus {
  return {
    exchange, state: 'connected', symbols: [], reconnects: 0, restarts: 0, lastMessageAgeMs: 0, messageRate: 0, clockOffsetMs: 0,
    messages: 0, trades: 0, quotes: 0, parseErrors: 0, lateTradesDropped: 0, duplicateTradesDropped: 0, recoveredTrades: 0,
    unrecoveredGaps: 0, ringOverflow: 0, lastError: null, lastCrash: null, rest,
  };
}

describe('REST limiter metrics', () => {
  it('requests, throttled, wait, spacing, pause and usage per exchange', async () => {
    const statuses = [
      status('binance', { intervalMs: 1500, pausedUntil: Date.now() + 5000, requests: 12, throttled: 3, waitedMs: 4200, usage: { used: 4800, limit: 6000 } }),
      status('kraken', { intervalMs: 0, pausedUntil: null, requests: 2, throttled: 0, waitedMs: 0, usage: null }),
    ];
    const registry = createRuntimeMetrics({
      exchangeStatuses: () => statuses,
      exchangeStates: () => [],
      memoryBytes: () => 0,
      storage: () => null,
      backfilledBars: () => 0,
      handlerErrors: () => 0,
      eventLoopDelay: () => ({ p50: 0, p90: 0, p99: 0, p999: 0, max: 0, count: 0 }),
      ringWait: () => ({ p50: 0, p90: 0, p99: 0, p999: 0, max: 0, count: 0 }),
      doorbell: () => ({ drains: 0, wakeups: 0 }),
      liveChanges: () => ({ applied: new Map(), refused: 0 }),
    });
    const text = await registry.metrics();
    for (const line of [
      'tickwire_rest_requests_total{exchange="binance"} 12',
      'tickwire_rest_throttled_total{exchange="binance"} 3',
      'tickwire_rest_wait_seconds_total{exchange="binance"} 4.2',
      'tickwire_rest_interval_seconds{exchange="binance"} 1.5',
      'tickwire_rest_paused{exchange="binance"} 1',
      'tickwire_rest_usage_ratio{exchange="binance"} 0.8',
      'tickwire_rest_requests_total{exchange="kraken"} 2',
      'tickwire_rest_paused{exchange="kraken"} 0',
      'tickwire_rest_usage_ratio{exchange="kraken"} 0',
      '# TYPE tickwire_rest_throttled_total counter',
      '# TYPE tickwire_rest_interval_seconds gauge',
    ]) expect(text).toContain(line);
  });
});
