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
  /** Worker ring → main-thread drain, µs (the doorbell's wait). */
  ringWait(): LatencySummary;
  /** The main thread's drains of the workers' rings and its wake-ups from a parked wait, since start. */
  doorbell(): { drains: number; wakeups: number };
  /** Live changes applied, by action, and refused (CHANGE_REFUSED), since start. */
  liveChanges(): { applied: ReadonlyMap<string, number>; refused: number };
}

/** Create the registry of the runtime's metrics; names, help texts and labels are the /metrics contract. */
export function createRuntimeMetrics(readings: RuntimeReadings): client.Registry {
  const registry = new client.Registry();
  /** A metric per exchange read from its status at each scrape: a counter, or a gauge for figures that go down. */
  const perExchange = (name: string, help: string, value: (ex: ExchangeStatus) => number, type: 'counter' | 'gauge' = 'counter'): void => {
    const config = { name, help, labelNames: ['exchange'], registers: [registry] };
    if (type === 'counter') {
      new client.Counter({ ...config, collect() { this.reset(); for (const s of readings.exchangeStatuses()) this.inc({ exchange: s.exchange }, value(s)); } });
    } else {
      new client.Gauge({ ...config, collect() { this.reset(); for (const s of readings.exchangeStatuses()) this.set({ exchange: s.exchange }, value(s)); } });
    }
  };
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
  perExchange('tickwire_rest_requests_total', "Requests to the venue's REST API (gap recovery, backfill, symbol lists).", (s) => s.rest?.requests ?? 0);
  perExchange('tickwire_rest_throttled_total', 'REST answers 429 (too many requests) or 418 (banned) from the venue.', (s) => s.rest?.throttled ?? 0);
  perExchange('tickwire_rest_wait_seconds_total', "Time REST requests waited for their turn in the venue's limiter.", (s) => (s.rest?.waitedMs ?? 0) / 1000);
  perExchange('tickwire_rest_interval_seconds', 'Least time between two REST requests to the venue now (widened by 429s and usage headers).',
    (s) => (s.rest?.intervalMs ?? 0) / 1000, 'gauge');
  perExchange('tickwire_rest_paused', "1 while the venue's limiter holds every request (Retry-After, or a spent window).",
    (s) => (s.rest?.pausedUntil == null ? 0 : 1), 'gauge');
  perExchange('tickwire_rest_usage_ratio', "The venue's last reported usage of its REST budget (used / limit), 0 when it reports none.",
    (s) => (s.rest?.usage == null ? 0 : s.rest.usage.used / s.rest.usage.limit), 'gauge');
  perExchange('tickwire_symbol_list_symbols', "Symbols the venue's list holds (0 until a fetch succeeded).", (s) => s.symbolList?.symbols ?? 0, 'gauge');
  perExchange('tickwire_symbol_list_failures_total', "Fetches of the venue's symbol list that failed (the previous list is kept).", (s) => s.symbolList?.failures ?? 0);
  /** A latency summary (µs) as a gauge in seconds by quantile (1 = the largest). */
  const quantiles = (name: string, help: string, read: () => LatencySummary): void => {
    new client.Gauge({
      name,
      help,
      labelNames: ['quantile'],
      registers: [registry],
      collect() {
        const d = read();
        this.set({ quantile: '0.5' }, d.p50 / 1e6);
        this.set({ quantile: '0.99' }, d.p99 / 1e6);
        this.set({ quantile: '0.999' }, d.p999 / 1e6);
        this.set({ quantile: '1' }, d.max / 1e6);
      },
    });
  };
  quantiles(
    'tickwire_event_loop_delay_seconds',
    "The main thread's event-loop delay since start, by quantile (1 = the largest); every subscriber's latency includes it.",
    () => readings.eventLoopDelay(),
  );
  quantiles(
    'tickwire_ring_wait_seconds',
    'From the receipt of the first frame of a batch a worker announced with one doorbell ring to the main thread draining the rings, since start, by quantile (1 = the largest): how long a published trade waits to be read.',
    () => readings.ringWait(),
  );
  new client.Counter({
    name: 'tickwire_doorbell_wakeups_total',
    help: 'Times a worker woke the parked main thread to read its rings (at most one per batch of frames; each costs both threads a wake-up).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(readings.doorbell().wakeups);
    },
  });
  new client.Counter({
    name: 'tickwire_doorbell_drains_total',
    help: "Times the main thread read the workers' rings (wake-ups, plus drains while rings kept coming).",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(readings.doorbell().drains);
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
    name: 'tickwire_live_changes_total',
    help: 'Live changes (admin routes, reload, SIGHUP): applied ones by action, and refused ones (action "refused").',
    labelNames: ['action'],
    registers: [registry],
    collect() {
      this.reset();
      const { applied, refused } = readings.liveChanges();
      for (const [action, n] of applied) this.inc({ action }, n);
      this.inc({ action: 'refused' }, refused);
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
  return registry;
}
