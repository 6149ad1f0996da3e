/**
 * The runtime's Prometheus metrics (`Tickwire.metrics()`): one prom-client
 * Registry holding the per-exchange feed counters, the connection gauge, the
 * reserved memory and the storage and event-handler counters. Nothing is
 * counted on the live path: each metric reads the runtime's figures when it
 * is scraped (`collect`), through `RuntimeReadings`.
 */
import client from 'prom-client';
import type { ExchangeState, ExchangeStatus, LatencySummary, StorageStatus } from '../model/status.ts';

/** The runtime's figures the metrics read at each scrape. */
export interface RuntimeReadings {
  /** Each exchange's status report (the per-exchange counters). */
  exchangeStatuses(): Iterable<ExchangeStatus>;
  /** Each exchange's connection state as its worker last reported it ('restarting' is not overlaid). */
  exchangeStates(): Iterable<{ readonly name: string; readonly state: ExchangeState }>;
  /** Bytes reserved for bars and rings. */
  memoryBytes(): number;
  /** Storage's figures; null when storage is off. */
  storage(): StorageStatus | null;
  /** Closed bars fetched from the venues' klines at start. */
  backfilledBars(): number;
  /** Exceptions thrown by embedding code in event handlers. */
  handlerErrors(): number;
  /** The main thread's event-loop delay since start, µs. */
  eventLoopDelay(): LatencySummary;
  /** Price feeds' source switches since start, by reason. */
  feedSwitches(): ReadonlyMap<string, number>;
  /** Each price feed's active source and prices published. */
  feedStates(): Iterable<{ readonly feed: string; readonly active: string | null; readonly prices: number; readonly sources: readonly { source: string }[] }>;
}

/** Create the registry of the runtime's metrics; names, help texts and labels are the /metrics contract. */
export function createRuntimeMetrics(readings: RuntimeReadings): client.Registry {
  const registry = new client.Registry();
  const perExchange = (name: string, help: string, value: (ex: ExchangeStatus) => number) =>
    new client.Counter({
      name,
      help,
      labelNames: ['exchange'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of readings.exchangeStatuses()) this.inc({ exchange: s.exchange }, value(s));
      },
    });
  perExchange('tickwire_messages_total', 'Frames received from the exchange.', (s) => s.messages);
  perExchange('tickwire_trades_total', 'Trades taken (duplicates excluded).', (s) => s.trades);
  perExchange('tickwire_quotes_total', 'Best bid/offer updates taken.', (s) => s.quotes);
  perExchange('tickwire_reconnects_total', 'Reconnects of the exchange connection.', (s) => s.reconnects);
  perExchange('tickwire_worker_restarts_total', 'Restarts of the exchange worker after a crash or hang.', (s) => s.restarts);
  perExchange('tickwire_parse_errors_total', 'Frames that could not be parsed (never fatal).', (s) => s.parseErrors);
  perExchange('tickwire_ring_overflow_total', 'Records dropped because a shared ring was full.', (s) => s.ringOverflow);
  perExchange('tickwire_late_trades_dropped_total', 'Trades too late to amend their closed bar.', (s) => s.lateTradesDropped);
  perExchange('tickwire_duplicate_trades_total', 'Trades dropped as duplicates (same trade id).', (s) => s.duplicateTradesDropped);
  perExchange('tickwire_recovered_trades_total', 'Trades fetched over REST to fill reconnect gaps.', (s) => s.recoveredTrades);
  perExchange('tickwire_unrecovered_gaps_total', 'Reconnect gaps that could not be filled completely.', (s) => s.unrecoveredGaps);
  new client.Gauge({
    name: 'tickwire_event_loop_delay_seconds',
    help: "The main thread's event-loop delay since start, by quantile (1 = the largest); every subscriber's latency includes it.",
    labelNames: ['quantile'],
    registers: [registry],
    collect() {
      const d = readings.eventLoopDelay();
      this.set({ quantile: '0.5' }, d.p50 / 1e6);
      this.set({ quantile: '0.99' }, d.p99 / 1e6);
      this.set({ quantile: '0.999' }, d.p999 / 1e6);
      this.set({ quantile: '1' }, d.max / 1e6);
    },
  });
  new client.Gauge({
    name: 'tickwire_exchange_connected',
    help: '1 while the exchange connection is up.',
    labelNames: ['exchange'],
    registers: [registry],
    collect() {
      this.reset();
      for (const ex of readings.exchangeStates()) this.set({ exchange: ex.name }, ex.state === 'connected' ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'tickwire_bar_memory_bytes',
    help: 'Shared memory reserved for bars and rings.',
    registers: [registry],
    collect() {
      this.set(readings.memoryBytes());
    },
  });
  new client.Counter({
    name: 'tickwire_bars_persisted_total',
    help: 'Closed bars written to storage.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(readings.storage()?.writtenBars ?? 0);
    },
  });
  new client.Counter({
    name: 'tickwire_bars_backfilled_total',
    help: 'Closed bars fetched from the venues\' klines at start.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(readings.backfilledBars());
    },
  });
  new client.Counter({
    name: 'tickwire_storage_flush_failures_total',
    help: 'Flushes of closed bars to storage that failed (retried with backoff).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(readings.storage()?.flushFailures ?? 0);
    },
  });
  new client.Gauge({
    name: 'tickwire_storage_degraded',
    help: '1 while the bar database cannot be opened or written (bars are kept in memory and retried).',
    registers: [registry],
    collect() {
      this.set(readings.storage()?.state === 'degraded' ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'tickwire_storage_unflushed_bars',
    help: 'Closed bars and amendments in memory not yet written to storage.',
    registers: [registry],
    collect() {
      this.set(readings.storage()?.unflushedBars ?? 0);
    },
  });
  new client.Counter({
    name: 'tickwire_event_handler_errors_total',
    help: 'Exceptions thrown by embedding code in event handlers.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(readings.handlerErrors());
    },
  });
  new client.Counter({
    name: 'tickwire_feed_switches_total',
    help: 'Price feeds\' source switches, by reason (disconnected, circuit_open, stale, deviation, recovered, started).',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of readings.feedSwitches()) this.inc({ reason }, n);
    },
  });
  new client.Gauge({
    name: 'tickwire_feed_active_source',
    help: '1 for the source serving each price feed, 0 for its other sources (none is 1 while no source is healthy).',
    labelNames: ['feed', 'source'],
    registers: [registry],
    collect() {
      this.reset();
      for (const f of readings.feedStates()) for (const s of f.sources) this.set({ feed: f.feed, source: s.source }, s.source === f.active ? 1 : 0);
    },
  });
  new client.Counter({
    name: 'tickwire_feed_prices_total',
    help: 'Prices published by each price feed.',
    labelNames: ['feed'],
    registers: [registry],
    collect() {
      this.reset();
      for (const f of readings.feedStates()) this.inc({ feed: f.feed }, f.prices);
    },
  });
  return registry;
}
