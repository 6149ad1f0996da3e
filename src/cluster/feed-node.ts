/**
 * `--role feed` (docs/scale-out.md): the in-process runtime (exchange
 * connections, workers, aggregation) publishing to the cluster. Each
 * configured exchange has a lease (lease.ts, renewed in a thread of its own:
 * lease-thread.ts, so a long main-thread turn cannot lapse it): while this feed holds it, the
 * publisher (feed-publisher.ts) publishes that exchange; otherwise it stands
 * by with its connections and aggregation warm. Taking or losing a lease
 * is announced on the exchange's leadership subject (subjects.ts): edges
 * relay it to their `system` room.
 *
 * It is a `Tickwire` (the runtime's, with the cluster's state added to
 * `status()` and `metrics()`), so the operations server (`/health`,
 * `/v1/status`, `/metrics`) is built on it like any other.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import type { BarVisitor } from '../buffers/bar-store.ts';
import type { BarQuery, Tickwire, TickwireEvents } from '../api/types.ts';
import { ErrorCode, showValue, TickwireError } from '../errors.ts';
import type { TickwireConfig } from '../config/types.ts';
import type { LeadershipEvent } from '../model/events.ts';
import type { Bar } from '../model/records.ts';
import { headers } from '@nats-io/transport-node';
import type { ClusterStatus, ExchangeStatus, HealthReport, LatencyOptions, LatencyReport, LeaseStatus, StatusReport } from '../model/status.ts';
import type { TimeframeName } from '../model/timeframes.ts';
import { FeedPublisher } from './feed-publisher.ts';
import { restTradeFetcher } from './trade-fetcher.ts';
import { LeaseThread, type LeaseThreadOptions } from './lease-thread.ts';
import { createClusterMetrics, joinMetrics } from './metrics.ts';
import type { ClusterConnection } from './nats.ts';
import { Header } from './subjects.ts';

/** What a feed needs of the runtime it wraps. */
export type FeedRuntime = Tickwire;

/** A name for this process in lease values and NATS connection names. */
export function nodeName(role: string): string {
  return `${role}@${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * The config a feed's runtime runs: market data only. Price feeds,
 * portfolios, alert rules and strategies run on the edges (docs/scale-out.md):
 * on a feed nothing would serve them, and every standby would run them
 * (alert and order webhooks) once more.
 */
export function feedRuntimeConfig(config: TickwireConfig): TickwireConfig {
  const { feeds: _feeds, portfolios: _portfolios, alerts: _alerts, strategies: _strategies, pool: _pool, ...marketData } = config;
  return marketData;
}

/** A feed process: runtime + leases + publisher; see the module comment. */
export class FeedNode implements Tickwire {
  readonly config: TickwireConfig;
  readonly epoch: string;
  /** Called when this feed takes or loses an exchange's lease (`acquired` true/false), e.g. to log it. */
  onLeadership: (exchange: string, leading: boolean, detail: string) => void = () => undefined;
  readonly #runtime: FeedRuntime;
  readonly #cluster: ClusterConnection;
  readonly #publisher: FeedPublisher;
  /** Every exchange's lease, renewed in a thread of its own (lease-thread.ts). */
  readonly #leases: LeaseThread;
  readonly #registry: Registry;
  readonly #node: string;
  #leaderChanges = 0;
  /** exchange → the last term this feed led it under (a resumption after a lapse is not a leader change). */
  readonly #led = new Map<string, number>();
  /** Exchanges whose `lead` is reading the stream now. */
  readonly #leading = new Set<string>();
  #offStatus: (() => void) | undefined;

  /** `leaseOptions`: the lease thread's (lease-thread.ts), e.g. its hung-main-thread bound. */
  constructor(runtime: FeedRuntime, cluster: ClusterConnection, node = nodeName('feed'), leaseOptions: LeaseThreadOptions = {}) {
    this.#runtime = runtime;
    this.#cluster = cluster;
    this.#node = node;
    this.config = runtime.config;
    this.epoch = cluster.epoch;
    const fetchers = new Map(Object.entries(runtime.config.exchanges).map(([name, ex]) => [name, restTradeFetcher(name, ex)]));
    this.#publisher = new FeedPublisher(cluster, runtime, (ex, now) => this.#leases.valid(ex, now), (ex) => fetchers.get(ex));
    const leases = Object.keys(runtime.config.exchanges).map((exchange) => ({
      exchange,
      key: cluster.names.leaseKey(exchange),
      listener: {
        acquired: (term: number) => void this.#lead(exchange, term),
        // After a lapse (the publisher stood by when `valid()` ran out), lead again under the same term.
        renewed: (term: number) => {
          if (this.#publisher.termOf(exchange) === undefined && !this.#leading.has(exchange)) void this.#lead(exchange, term);
        },
        lost: (reason: string) => {
          this.#publisher.standBy(exchange);
          this.#leaderChanges++;
          this.#announce(exchange, 'standby', this.#led.get(exchange) ?? 0, reason);
          this.onLeadership(exchange, false, reason);
        },
      },
    }));
    this.#leases = new LeaseThread(cluster.config, node, leases, leaseOptions);
    this.#registry = createClusterMetrics(() => this.clusterStatus());
  }

  /** Read events, start the runtime, then compete for the leases. */
  async start(): Promise<void> {
    this.#publisher.listen();
    this.#offStatus = this.#runtime.on('status', (s) => this.#relayStatus(s));
    await this.#runtime.start();
    this.#leases.start();
  }

  /** Give the leases up (a standby takes over at once), stop the runtime, close NATS. */
  async stop(): Promise<void> {
    for (const exchange of Object.keys(this.config.exchanges)) {
      const term = this.#publisher.termOf(exchange);
      if (term !== undefined) this.#announce(exchange, 'standby', term, 'stopped: the lease is handed over');
    }
    await this.#leases.stop();
    await this.#runtime.stop();
    this.#offStatus?.();
    this.#publisher.close();
    await this.#cluster.close();
  }

  /** This feed's cluster state (`/v1/status` `cluster`). */
  clusterStatus(): ClusterStatus {
    const leases: Record<string, LeaseStatus> = {};
    for (const exchange of Object.keys(this.config.exchanges)) {
      // Leader only while the lease surely holds: a feed that stalled past it says so before its next event notices.
      const leading = this.#publisher.termOf(exchange) !== undefined && this.#leases.valid(exchange);
      leases[exchange] = { state: leading ? 'leader' : 'standby', term: leading ? this.#leases.term(exchange) : null, since: leading ? this.#leases.since(exchange) : null };
    }
    return {
      role: 'feed',
      name: this.#cluster.names.name,
      epoch: this.epoch,
      connected: this.#cluster.connected(),
      server: this.#cluster.server(),
      degraded: false,
      degradedSince: null,
      leases,
      consumers: {},
      messages: this.#publisher.counters.published,
      dropped: this.#publisher.counters.unknown,
      leaderChanges: this.#leaderChanges,
      conflated: this.#publisher.conflated,
      outbox: this.#publisher.outboxStatus(),
    };
  }

  /** The leader tells edges its exchange's status (a core subject: only the newest matters); edges' `system` room follows it. */
  #relayStatus(s: ExchangeStatus): void {
    const term = this.#publisher.termOf(s.exchange);
    if (term === undefined || this.#cluster.nc.isClosed()) return;
    const h = headers();
    h.set(Header.TERM, String(term));
    this.#cluster.nc.publish(this.#cluster.names.statusSubject(s.exchange), JSON.stringify(s), { headers: h });
  }

  /** Tell edges (their `system` room) that this feed took or lost `exchange`'s lease (core NATS: an announcement, not kept). */
  #announce(exchange: string, state: LeadershipEvent['state'], term: number, reason: string): void {
    if (this.#cluster.nc.isClosed()) return;
    const e: LeadershipEvent = { exchange, state, node: this.#node, term, reason, ts: Date.now() };
    this.#cluster.nc.publish(this.#cluster.names.leadershipSubject(exchange), JSON.stringify(e));
  }

  /** Read what was published and take over `exchange` under `term`; when that fails, the next renewal tries again. */
  async #lead(exchange: string, term: number): Promise<void> {
    this.#leading.add(exchange);
    const counters = this.#publisher.counters;
    const [filled, fillFailures] = [counters.filled, counters.fillFailures];
    let led = false;
    try {
      led = await this.#publisher.lead(exchange, term, () => this.#leases.term(exchange) === term && this.#leases.valid(exchange));
    } catch (err) {
      this.onLeadership(exchange, false, `could not read the last published messages: ${(err as Error).message}`);
    } finally {
      this.#leading.delete(exchange);
    }
    if (!led) return;
    const resumed = this.#led.get(exchange) === term;
    if (!resumed) this.#leaderChanges++;
    this.#led.set(exchange, term);
    if (!resumed) this.#announce(exchange, 'leader', term, `term ${term}`);
    let detail = resumed ? `term ${term}, resumed after a renewal came back late` : `term ${term}`;
    if (counters.filled > filled) detail += `; ${counters.filled - filled} trades missed here fetched over REST first`;
    if (counters.fillFailures > fillFailures) detail += `; fetching missed trades over REST failed, some are missing: ${this.#publisher.lastFillError}`;
    this.onLeadership(exchange, true, detail);
  }

  // ── the runtime's surface ──────────────────────────────────────────────

  get events(): Tickwire['events'] {
    return this.#runtime.events;
  }

  feeds(): ReturnType<Tickwire['feeds']> {
    return this.#runtime.feeds();
  }

  feed(name: string): ReturnType<Tickwire['feed']> {
    return this.#runtime.feed(name);
  }

  portfolios(): ReturnType<Tickwire['portfolios']> {
    return this.#runtime.portfolios();
  }

  portfolio(id: string): ReturnType<Tickwire['portfolio']> {
    return this.#runtime.portfolio(id);
  }

  setHoldings(id: string, holdings: unknown): ReturnType<Tickwire['setHoldings']> {
    return this.#runtime.setHoldings(id, holdings);
  }

  alerts(): ReturnType<Tickwire['alerts']> {
    return this.#runtime.alerts();
  }

  addSymbol(exchange: string, symbol: string): ReturnType<Tickwire['addSymbol']> {
    return this.#runtime.addSymbol(exchange, symbol);
  }

  removeSymbol(exchange: string, symbol: string): ReturnType<Tickwire['removeSymbol']> {
    return this.#runtime.removeSymbol(exchange, symbol);
  }

  /** Refused: a feed node's exchanges are its leases and outboxes, set up at start (docs/scale-out.md); change them with a restart. */
  addExchange(exchange: string): ReturnType<Tickwire['addExchange']> {
    throw new TickwireError(ErrorCode.CHANGE_REFUSED, `change refused, nothing changed: a cluster feed node adds or removes exchanges (${showValue(exchange)}) with a restart, each holding its own lease`);
  }

  removeExchange(exchange: string): ReturnType<Tickwire['removeExchange']> {
    return this.addExchange(exchange);
  }

  strategies(): ReturnType<Tickwire['strategies']> {
    return this.#runtime.strategies();
  }

  strategy(name: string): ReturnType<Tickwire['strategy']> {
    return this.#runtime.strategy(name);
  }

  resumeStrategy(name: string): ReturnType<Tickwire['resumeStrategy']> {
    return this.#runtime.resumeStrategy(name);
  }

  pauseStrategy(name: string): ReturnType<Tickwire['pauseStrategy']> {
    return this.#runtime.pauseStrategy(name);
  }

  on<K extends keyof TickwireEvents>(event: K, handler: (payload: TickwireEvents[K]) => void): () => void {
    return this.#runtime.on(event, handler);
  }

  bars(exchange: string, symbol: string, timeframe: string, query?: BarQuery): Bar[] {
    return this.#runtime.bars(exchange, symbol, timeframe, query);
  }

  visitBars(exchange: string, symbol: string, timeframe: string, visitor: BarVisitor, query?: BarQuery): number {
    return this.#runtime.visitBars(exchange, symbol, timeframe, visitor, query);
  }

  currentBar(exchange: string, symbol: string, timeframe: string): Bar | undefined {
    return this.#runtime.currentBar(exchange, symbol, timeframe);
  }

  resolveSymbol(exchange: string, symbol: string): string {
    return this.#runtime.resolveSymbol(exchange, symbol);
  }

  symbols(): Record<string, Record<string, TimeframeName[]>> {
    return this.#runtime.symbols();
  }

  status(): StatusReport {
    return { ...this.#runtime.status(), cluster: this.clusterStatus() };
  }

  health(): HealthReport {
    const h = this.#runtime.health();
    if (this.#cluster.connected()) return h;
    return { ...h, warnings: [...(h.warnings ?? []), 'cluster: NATS unreachable (publishing resumes on reconnect; the lease lapses after its TTL)'] };
  }

  /** The runtime's stages and the outbox's (feed-publisher.ts `latency`). */
  latency(options: LatencyOptions = {}): LatencyReport {
    return { ...this.#runtime.latency(options), ...this.#publisher.latency(options.histograms === true) };
  }

  async metrics(): Promise<string> {
    return joinMetrics(await this.#runtime.metrics(), await this.#registry.metrics());
  }
}
