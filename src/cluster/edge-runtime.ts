/**
 * `--role edge` (docs/scale-out.md): a `Tickwire` whose trades, quotes and
 * bars come from the cluster's JetStream instead of exchange connections,
 * so the server (src/server/) serves the same `/v1/stream` and HTTP
 * contract on it. Every event carries the seq the feed assigned (the stream
 * publisher serves it as is), and `epoch` is the cluster data's: a client
 * may resume on any edge.
 *
 * Start-up, before the server listens:
 *  1. Candles: each timeframe's closed bars of the last `history` bars are
 *     read from the bars stream into this process's bar store (amendments
 *     replace a bar by revision).
 *  2. Live: an ordered consumer of the live stream starting with the last
 *     message of every subject (each channel's current seq, forming bar,
 *     last trade), then everything new; start waits until it has caught up.
 *  3. Candles again from where step 1 ended: a bar closed between 1 and 2.
 *
 * Then it follows the live stream. Messages of an older feed term than one
 * seen are dropped (fencing, lease.ts), and so are undecodable ones and
 * those of channels this edge's config does not have (all counted). The
 * status of each exchange comes from its leading feed (a core NATS subject,
 * once a second; `stopped` when none reports it, feed-reports.ts) and
 * drives the `system` room, as do the feeds'
 * announcements of a lease taken or lost (leadership.ts; an announcement of
 * a term older than one this edge has seen is stale and not relayed).
 *
 * NATS lost: the edge keeps its connections and serves what it has, marked
 * degraded (`status().cluster`, a health warning); on reconnect the ordered
 * consumer resumes after the last message it delivered and the edge stays
 * degraded until it has caught up. Messages the stream no longer holds
 * (past `history.trades`) become one `gap` of reason `history` per channel
 * (stream-publisher.ts). A watchdog restarts the live consumer after the
 * last message delivered when it has delivered nothing for WATCH_MS while
 * the stream moved on (a stream leader elected after a NATS node died).
 *
 * A client resuming further back than the server's resume history is served
 * from the live stream (`archive`, live-archive.ts), up to `cluster.replayMax`
 * messages a subscribe.
 *
 * Price feeds, portfolios, alert rules and strategies run here, in the same
 * MarketServices as in one process (src/api/market-services.ts), fed this
 * edge's trades, quotes and bar events and the exchange states the leading
 * feeds report, so every edge computes the same values from the same
 * messages. Trades and quotes carry the feed's receive time, which the
 * feeds' staleness and the alert rules read as in one process (every edge
 * judges by the same times; the hop to the edge counts as age). Strategies
 * are seeded with the closed bars read at start (step 1) and judge every
 * close from the live stream. Holdings set over HTTP are this edge's and in
 * memory only (edges keep nothing on disk; docs/scale-out.md).
 */
import { EventBus } from '../events/bus.ts';
import type { AlertsReport } from '../api/alert-rules.ts';
import { MarketServices } from '../api/market-services.ts';
import type { FeedReport } from '../api/price-feeds.ts';
import { ConfigError } from '../config/load.ts';
import type { ConfigChange, PortfolioEvent } from '../model/events.ts';
import type { StrategyDetail, StrategySummary } from '../model/strategy.ts';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import { BarSeries, BarStore, type BarVisitor } from '../buffers/bar-store.ts';
import { EVENT_TYPES, type BarQuery, type Tickwire, type TickwireEvents } from '../api/types.ts';
import { seriesKey } from '../api/storage.ts';
import { configSymbols, resolveNative, toRange } from '../api/bar-reads.ts';
import type { TickwireConfig } from '../config/types.ts';
import { ErrorCode, TickwireError, showValue } from '../errors.ts';
import type { BarUpdate, QuoteEvent, TradeEvent } from '../model/events.ts';
import { BAR_FIELDS, BarField, writeBar, type Bar } from '../model/records.ts';
import type { ClusterStatus, ConsumerStatus, ExchangeStatus, HealthReport, LatencyOptions, LatencyReport, StatusReport } from '../model/status.ts';
import { SymbolIndex } from '../model/symbols.ts';
import { parseTimeframe, type TimeframeName } from '../model/timeframes.ts';
import { decodeMessage } from '../wire/fbs.ts';
import type { StreamMessage } from '../wire/messages.ts';
import { readLeadership } from './leadership.ts';
import { createClusterMetrics, joinMetrics } from './metrics.ts';
import type { ClusterConnection } from './nats.ts';
import { EdgeLatency } from './edge-latency.ts';
import { FeedReports } from './feed-reports.ts';
import { LiveArchive } from './live-archive.ts';
import { liveEvent, toBar, type LiveChannel } from './live-events.ts';
import { Header } from './subjects.ts';

/** Where a live subject's messages go. */
interface Target extends LiveChannel {
  series: BarSeries | undefined;
}

/** How often the live consumer is checked for a stall, ms. */
const WATCH_MS = 3_000;

/** An exchange whose feeds have not reported for the lease TTL plus this is `stopped`, ms. */
const SILENCE_MARGIN_MS = 3_000;
/** How often that is checked, ms. */
const SILENCE_CHECK_MS = 1_000;

/** Consumer names in status and metrics. */
const LIVE = 'live';
const BARS = 'bars';

/** The edge's runtime; see the module comment. */
export class EdgeRuntime implements Tickwire {
  readonly config: TickwireConfig;
  readonly epoch: string;
  readonly store = new BarStore();
  /** Trades, quotes and bar events read back from the live stream for a `since` older than the resume history; absent with `cluster.replayMax: 0`. */
  readonly archive: LiveArchive | undefined;
  readonly #cluster: ClusterConnection;
  /** The events an edge emits: market data and exchange states from the cluster, and what its market services compute from them. */
  readonly events = new EventBus<TickwireEvents>(EVENT_TYPES);
  /** Price feeds, portfolios, alert rules and strategies on this edge's data (see the module comment). */
  readonly #market: MarketServices;
  readonly #targets = new Map<string, Target>();
  readonly #symbols = new Map<string, SymbolIndex>();
  /** exchange → the newest feed term seen (messages of older terms are fenced off). */
  readonly #terms = new Map<string, number>();
  /** Each exchange's status as its leading feed reports it, `stopped` when none does. */
  readonly #reports: FeedReports;
  #silenceTimer: NodeJS.Timeout | undefined;
  #silenceCheckedAt = 0;
  readonly #consumers: Record<string, ConsumerStatus> = {
    [LIVE]: { lagMessages: 0, lagMs: 0, delivered: 0 },
    [BARS]: { lagMessages: 0, lagMs: 0, delivered: 0 },
  };
  readonly #scratch = new Float64Array(BAR_FIELDS);
  readonly #latency: EdgeLatency;
  readonly #registry: Registry;
  #live: ConsumerMessages | undefined;
  #statusSub: Subscription | undefined;
  #leadershipSub: Subscription | undefined;
  #offConnection: (() => void) | undefined;
  /** Stream seq of the last bars-stream message applied (where a later candles pass starts). */
  #barsSeq = 0;
  /** Stream seq of the last live message delivered. */
  #liveSeq = 0;
  #watchdog: NodeJS.Timeout | undefined;
  /** Live messages delivered at the watchdog's last look. */
  #watchedDelivered = -1;
  /** Live consumers restarted by the watchdog. */
  #restarts = 0;
  /** Generation of the live consumer: messages of older ones are ignored. */
  #gen = 0;
  #startedAt = NaN;
  #running = false;
  #received = 0;
  #dropped = 0;
  #leaderChanges = 0;
  #degradedSince: number | null = null;
  /** Resolved when the live consumer has caught up (pending 0) after start or a reconnect. */
  #caughtUp: (() => void) | undefined;
  get handlerErrors(): number {
    return this.events.errors;
  }

  constructor(config: TickwireConfig, cluster: ClusterConnection) {
    this.config = config;
    this.#cluster = cluster;
    this.epoch = cluster.epoch;
    this.archive = cluster.config.replayMax > 0 ? new LiveArchive(cluster, cluster.config.replayMax) : undefined;
    const names = cluster.names;
    for (const [exchange, ex] of Object.entries(config.exchanges)) {
      const index = new SymbolIndex();
      this.#symbols.set(exchange, index);
      for (const symbol of ex.symbols) {
        index.add(symbol);
        for (const kind of ex.channels) this.#targets.set(names.subject(kind, exchange, symbol), { kind, exchange, symbol, timeframe: undefined, series: undefined });
        for (const tf of config.timeframes) {
          const series = this.store.create(seriesKey(exchange, symbol, tf), config.history[tf]);
          const target: Target = { kind: 'bars', exchange, symbol, timeframe: tf, series };
          this.#targets.set(names.subject('bars', exchange, symbol, tf), target);
          this.#targets.set(names.closedSubject(exchange, symbol, tf), target);
        }
      }
    }
    this.#latency = new EdgeLatency(Object.keys(config.exchanges));
    // A standby takes over within the lease's TTL and reports within a second; silence past that means nothing feeds the exchange.
    this.#reports = new FeedReports(Object.keys(config.exchanges), cluster.config.leaseTtlMs + SILENCE_MARGIN_MS);
    // Holdings set over HTTP stay in memory: an edge keeps nothing on disk (`storage:` is for the processes that feed).
    // No feed workers here: the strategy pool's default size leaves one core to the thread that serves subscribers.
    this.#market = new MarketServices({ ...config, storage: null }, this.events, (exchange, symbol, visitor, start) => {
      this.#series(exchange, symbol, '1m').visit(visitor, { start, forming: true });
    }, 1);
    this.#registry = createClusterMetrics(() => this.clusterStatus());
    this.#market.registerMetrics(this.#registry);
  }

  /**
   * Load every strategy's module in the pool and check it; throws a
   * ConfigError naming `strategies.<name>.…` otherwise. `start` calls it;
   * the CLI calls it first, to tell a config error apart. Idempotent.
   */
  async prepare(): Promise<void> {
    const issues = await this.#market.prepare();
    if (issues.length > 0) throw new ConfigError('tickwire', issues);
  }

  /** Rebuild candles from the cluster, follow the live stream and resolve once caught up (see the module comment); `prepare` first. */
  async start(): Promise<void> {
    if (this.#running) return;
    await this.prepare();
    this.#running = true;
    this.#startedAt = Date.now();
    const { js, jsm, names, nc } = this.#cluster;
    this.#statusSub = nc.subscribe(names.statusSubjects(), {
      callback: (err, m) => {
        if (err === null) this.#onFeedStatus(m.data, m.headers?.get(Header.TERM));
      },
    });
    this.#leadershipSub = nc.subscribe(names.leadershipSubjects(), {
      callback: (err, m) => {
        if (err === null) this.#onLeadership(m.data);
      },
    });
    const now = Date.now();
    for (const tf of this.config.timeframes) {
      const from = new Date(now - (this.config.history[tf] + 2) * parseTimeframe(tf).ms).toISOString();
      await this.#readBars({ filter_subjects: names.closedOfTimeframe(tf), deliver_policy: DeliverPolicy.StartTime, opt_start_time: from });
    }
    // Warm-up from the cluster's closed bars; every close from here on comes from the live stream (a strategy skips one it has).
    this.#market.seed((exchange, symbol, timeframe, limit) => this.bars(exchange, symbol, timeframe, { closed: true, limit }));
    this.#market.start();
    const caughtUp = new Promise<void>((resolve) => (this.#caughtUp = resolve));
    const info = await jsm.streams.info(names.liveStream);
    await this.#follow({ deliver_policy: DeliverPolicy.LastPerSubject });
    if (info.state.messages === 0) this.#settled();
    await caughtUp;
    await this.#catchUpBars();
    this.#offConnection = this.#cluster.onConnection((up) => this.#connection(up));
    this.#watchdog = setInterval(() => void this.#watch(), WATCH_MS);
    this.#watchdog.unref();
    this.#silenceCheckedAt = performance.now();
    this.#silenceTimer = setInterval(() => this.#checkSilence(), SILENCE_CHECK_MS);
    this.#silenceTimer.unref();
  }

  /**
   * A consumer that stopped delivering while the stream moved on (its server
   * or the stream's leader changed under it): start a new one after the last
   * message delivered.
   */
  async #watch(): Promise<void> {
    const delivered = this.#consumers[LIVE]!.delivered;
    const stalled = delivered === this.#watchedDelivered;
    this.#watchedDelivered = delivered;
    if (!stalled || !this.#cluster.connected()) return;
    const info = await this.#cluster.jsm.streams.info(this.#cluster.names.liveStream).catch(() => null);
    if (info === null || info.state.last_seq <= this.#liveSeq || this.#consumers[LIVE]!.delivered !== delivered) return;
    this.#restarts++;
    await this.#follow({ deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.#liveSeq + 1 }).catch(() => undefined);
  }

  /** Stop following the cluster, close the NATS connection, then the strategies' pool. */
  async stop(): Promise<void> {
    if (!this.#running) {
      // Never started, or refused by a strategy's check: its pool may be up, its NATS connection is.
      await this.#market.close();
      await this.#cluster.close();
      return;
    }
    this.#running = false;
    clearInterval(this.#watchdog);
    clearInterval(this.#silenceTimer);
    this.#offConnection?.();
    this.#statusSub?.unsubscribe();
    this.#leadershipSub?.unsubscribe();
    await this.#live?.close();
    await this.#cluster.close();
    await this.#market.close();
  }

  /** This edge's cluster state (`/v1/status` `cluster`). */
  clusterStatus(): ClusterStatus {
    return {
      role: 'edge',
      name: this.#cluster.names.name,
      epoch: this.epoch,
      connected: this.#cluster.connected(),
      server: this.#cluster.server(),
      degraded: this.#degradedSince !== null,
      degradedSince: this.#degradedSince,
      leases: {},
      consumers: { [LIVE]: { ...this.#consumers[LIVE]! }, [BARS]: { ...this.#consumers[BARS]! } },
      messages: this.#received,
      dropped: this.#dropped,
      leaderChanges: this.#leaderChanges,
      replays: { reads: this.archive?.reads ?? 0, messages: this.archive?.messages ?? 0, failures: this.archive?.failures ?? 0 },
    };
  }

  // ── the cluster's messages ─────────────────────────────────────────────

  /** Read closed bars from the bars stream until caught up; each replaces its bar when its revision is at least as new. */
  async #readBars(opts: { filter_subjects?: string; deliver_policy: DeliverPolicy; opt_start_time?: string; opt_start_seq?: number }): Promise<void> {
    const { js, names } = this.#cluster;
    const consumer = await js.consumers.get(names.barsStream, opts);
    const { num_pending } = await consumer.info();
    if (num_pending === 0) return;
    let done!: () => void;
    const caughtUp = new Promise<void>((resolve) => (done = resolve));
    const messages = await consumer.consume({
      callback: (m) => {
        this.#onClosed(m);
        if (m.info.pending === 0) done();
      },
    });
    await caughtUp;
    await messages.close();
  }

  /** (Re)start the live consumer with `opts`. */
  async #follow(opts: { deliver_policy: DeliverPolicy; opt_start_seq?: number }): Promise<void> {
    const { js, names } = this.#cluster;
    // Only the newest consumer delivers: an old one that recovers by itself must not interleave its messages.
    const gen = ++this.#gen;
    await this.#live?.close().catch(() => undefined);
    const live = await js.consumers.get(names.liveStream, opts);
    // The client's default pull (100 messages, topped up at 75): 1,000 stalled the 100,000-trade identity test (edges-identical.test.ts).
    this.#live = await live.consume({
      callback: (m) => {
        if (gen === this.#gen) this.#onLive(m);
      },
    });
  }

  async #catchUpBars(): Promise<void> {
    await this.#readBars({ deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.#barsSeq + 1 });
  }

  #onClosed(m: JsMsg): void {
    this.#barsSeq = m.seq;
    const c = this.#consumers[BARS]!;
    c.delivered++;
    c.lagMessages = m.info.pending;
    const t = this.#targets.get(m.subject);
    const msg = t === undefined ? undefined : this.#decode(m);
    if (msg?.type !== 'bar' || t!.series === undefined) {
      this.#dropped++;
      return;
    }
    putIfNewer(t!.series, this.#record(toBar(msg)));
  }

  #onLive(m: JsMsg): void {
    if (m.seq <= this.#liveSeq) return; // delivered already (a consumer restarted after it)
    this.#received++;
    this.#liveSeq = m.seq;
    const c = this.#consumers[LIVE]!;
    c.delivered++;
    c.lagMessages = m.info.pending;
    const received = performance.timeOrigin + performance.now();
    c.lagMs = Math.max(0, received - m.info.timestampNanos / 1e6);
    try {
      this.#apply(m, received);
    } finally {
      if (m.info.pending === 0) this.#settled();
    }
  }

  /** Decode, fence and emit one live message (the server publishes it inside the emit); its stages go to `#latency`. */
  #apply(m: JsMsg, received: number): void {
    const t = this.#targets.get(m.subject);
    const h = m.headers;
    const seq = Number(h?.get(Header.SEQ));
    if (t === undefined || !(seq > 0) || !this.#admit(t.exchange, Number(h?.get(Header.TERM)) || 0)) {
      this.#dropped++;
      return;
    }
    const msg = this.#decode(m);
    if (msg === undefined) return;
    const e = liveEvent(t, msg, seq);
    if (e === undefined) {
      this.#dropped++;
      return;
    }
    if (t.kind === 'trades') {
      this.#market.onTrade(e as TradeEvent);
    } else if (t.kind === 'quotes') {
      this.#market.onQuote(e as QuoteEvent);
    } else {
      const u = e as BarUpdate;
      const record = this.#record(u.bar);
      if (u.bar.closed) putIfNewer(t.series!, record);
      else t.series!.setForming(record, 0);
      this.#market.onBar(u, u.bar.closed);
    }
    const recvTs = t.kind === 'bars' ? NaN : (e as TradeEvent | QuoteEvent).recvTs;
    this.#latency.record(t.exchange, recvTs, m.info.timestampNanos, received, performance.timeOrigin + performance.now());
  }

  /** Fencing: false for a message of an older feed term than one seen on `exchange`. */
  #admit(exchange: string, term: number): boolean {
    const newest = this.#terms.get(exchange) ?? 0;
    if (term < newest) return false;
    if (term > newest) {
      if (newest > 0) this.#leaderChanges++;
      this.#terms.set(exchange, term);
    }
    return true;
  }

  #decode(m: JsMsg): StreamMessage | undefined {
    try {
      return decodeMessage(m.data);
    } catch {
      this.#dropped++;
      return undefined;
    }
  }

  /** A bar as a float64 record in the scratch buffer. */
  #record(bar: Bar): Float64Array {
    writeBar(bar, this.#scratch, 0);
    return this.#scratch;
  }

  #onFeedStatus(data: Uint8Array, term: string | undefined): void {
    const s = this.#reports.take(data, Number(term) || 0, (exchange) => this.#terms.get(exchange) ?? 0, performance.now());
    if (s === 'undecodable') this.#dropped++;
    if (typeof s === 'string') return; // a fenced feed's report is ignored, not counted
    this.#statusChanged(s);
  }

  /** An exchange's status changed: its feeds' sources and alert rules, then the `system` room. */
  #statusChanged(s: ExchangeStatus): void {
    this.#market.onExchangeState(s.exchange, s.state);
    this.events.emit('status', s);
  }

  /**
   * Exchanges no feed reports any more are `stopped` (feed-reports.ts). Not
   * judged while this edge is cut off from NATS, nor when this check comes
   * late (the edge's own loop stalled: reports may wait unread): silence is
   * counted afresh from then.
   */
  #checkSilence(): void {
    const now = performance.now();
    const late = now - this.#silenceCheckedAt > 2 * SILENCE_CHECK_MS;
    this.#silenceCheckedAt = now;
    if (!this.#cluster.connected() || late) {
      this.#reports.restartSilence(now);
      return;
    }
    for (const s of this.#reports.silent(now)) this.#statusChanged(s);
  }

  #onLeadership(data: Uint8Array): void {
    const e = readLeadership(data, this.#symbols);
    if (e === undefined) {
      this.#dropped++;
      return;
    }
    if (e.state === 'leader' && e.term < (this.#terms.get(e.exchange) ?? 0)) return; // stale: a newer term was seen
    this.events.emit('leadership', e);
  }

  #settled(): void {
    this.#degradedSince = null;
    const done = this.#caughtUp;
    this.#caughtUp = undefined;
    done?.();
  }

  /** NATS lost: degraded, serving what it has; back: degraded until caught up, then a candles pass for bars closed meanwhile. */
  #connection(up: boolean): void {
    this.#degradedSince ??= Date.now();
    if (!up) return;
    const caughtUp = new Promise<void>((resolve) => (this.#caughtUp = resolve));
    void caughtUp.then(() => this.#catchUpBars()).catch(() => undefined);
    // A new consumer from the message after the last delivered: the old one may sit on a server that is gone.
    if (this.#liveSeq > 0) void this.#follow({ deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.#liveSeq + 1 }).catch(() => undefined);
    // Nothing new arrived while away: the consumer has nothing to deliver, so nothing would settle it.
    void this.#cluster.jsm.streams
      .info(this.#cluster.names.liveStream)
      .then((info) => {
        if (info.state.last_seq <= this.#liveSeq) this.#settled();
      })
      .catch(() => undefined);
  }

  // ── the Tickwire surface ───────────────────────────────────────────────

  on<K extends keyof TickwireEvents>(event: K, handler: (payload: TickwireEvents[K]) => void): () => void {
    return this.events.on(event, handler);
  }

  // Computed on this edge from the cluster's data (src/api/market-services.ts).

  feeds(): FeedReport[] {
    return this.#market.feeds();
  }

  feed(name: string): FeedReport {
    return this.#market.feed(name);
  }

  portfolios(): PortfolioEvent[] {
    return this.#market.portfolios();
  }

  portfolio(id: string): PortfolioEvent {
    return this.#market.portfolio(id);
  }

  /** This edge's holdings of `id` (other edges keep theirs), in memory until it restarts. */
  setHoldings(id: string, holdings: unknown): PortfolioEvent {
    return this.#market.setHoldings(id, holdings);
  }

  alerts(): AlertsReport {
    return this.#market.alerts();
  }

  strategies(): StrategySummary[] {
    return this.#market.strategies();
  }

  strategy(name: string): StrategyDetail | undefined {
    return this.#market.strategy(name);
  }

  resumeStrategy(name: string): StrategySummary {
    return this.#market.resumeStrategy(name);
  }

  pauseStrategy(name: string): StrategySummary {
    return this.#market.pauseStrategy(name);
  }

  /** Resolves once no strategy has a judgment queued or running (tests). */
  strategiesIdle(): Promise<void> {
    return this.#market.idle();
  }

  // What changes the feeds: refused on an edge.

  addSymbol(exchange: string): ConfigChange {
    throw new TickwireError(ErrorCode.CHANGE_REFUSED, `change refused, nothing changed: an edge feeds nothing; change ${showValue(exchange)} on its feeds`);
  }

  removeSymbol(exchange: string): ConfigChange {
    return this.addSymbol(exchange);
  }

  addExchange(exchange: string): ConfigChange {
    return this.addSymbol(exchange);
  }

  removeExchange(exchange: string): ConfigChange {
    return this.addSymbol(exchange);
  }

  bars(exchange: string, symbol: string, timeframe: string, query: BarQuery = {}): Bar[] {
    return this.#series(exchange, symbol, timeframe).bars(toRange(query));
  }

  /** `published` needs nothing special here: a message is applied to the store before its event goes out. */
  visitBars(exchange: string, symbol: string, timeframe: string, visitor: BarVisitor, query: BarQuery = {}): number {
    return this.#series(exchange, symbol, timeframe).visit(visitor, toRange(query));
  }

  currentBar(exchange: string, symbol: string, timeframe: string): Bar | undefined {
    return this.#series(exchange, symbol, timeframe).formingBar();
  }

  resolveSymbol(exchange: string, symbol: string): string {
    return resolveNative(this.#symbols.get(exchange), exchange, symbol);
  }

  symbols(): Record<string, Record<string, TimeframeName[]>> {
    return configSymbols(this.config);
  }

  status(): StatusReport {
    return { uptimeMs: this.#running ? Date.now() - this.#startedAt : 0, exchanges: this.#reports.all(), storage: null, cluster: this.clusterStatus() };
  }

  health(): HealthReport {
    if (!this.#running) return { status: 'unavailable', reasons: ['not started'], warnings: [] };
    const warnings: string[] = [];
    if (!this.#cluster.connected()) warnings.push('cluster: NATS unreachable, serving what this edge has');
    else if (this.#degradedSince !== null) warnings.push('cluster: catching up after a reconnect');
    return { status: 'ok', reasons: [], warnings };
  }

  /** Where live messages spend their time, feed to subscriber (edge-latency.ts). */
  latency(options: LatencyOptions = {}): LatencyReport {
    return this.#latency.report(options.histograms === true);
  }

  metrics(): Promise<string> {
    return this.#registry.metrics().then((text) => joinMetrics('', text));
  }

  #series(exchange: string, symbol: string, timeframe: string): BarSeries {
    const native = this.resolveSymbol(exchange, symbol);
    const tf = parseTimeframe(timeframe).name;
    const series = this.store.get(seriesKey(exchange, native, tf));
    if (series === undefined) {
      throw new TickwireError(ErrorCode.INVALID_TIMEFRAME, `timeframe ${timeframe} is not kept: configured are ${this.config.timeframes.join(' ')}`);
    }
    return series;
  }
}

/** Store a closed bar unless the series holds the same bar at a newer revision (the two streams may deliver out of step). */
function putIfNewer(series: BarSeries, record: Float64Array): void {
  const openTime = record[BarField.OPEN_TIME]!;
  let held = -1;
  series.visit({ begin: () => (held = -1), onBar: (buf, off) => (held = buf[off + BarField.REVISION]!) }, { start: openTime, end: openTime, forming: false });
  if (held <= record[BarField.REVISION]!) series.putClosed(record, 0);
}
