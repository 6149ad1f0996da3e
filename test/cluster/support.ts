/**
 * Shared pieces of the cluster tests: a config for a test cluster, a fake
 * event source that drives a FeedPublisher without exchange workers, edges
 * (EdgeRuntime + server on a free port) and a raw WebSocket subscriber that
 * keeps every frame exactly as it arrived.
 */
import { headers } from '@nats-io/transport-node';
import WebSocket from 'ws';
import { FeedStatus } from '../../src/api/feed-status.ts';
import type { TickwireEvents } from '../../src/api/types.ts';
import { FeedPublisher } from '../../src/cluster/feed-publisher.ts';
import { openCluster, type ClusterConnection } from '../../src/cluster/nats.ts';
import { Header } from '../../src/cluster/subjects.ts';
import { EdgeRuntime } from '../../src/cluster/edge-runtime.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { TickwireConfig } from '../../src/config/types.ts';
import type { TradeEvent } from '../../src/model/events.ts';
import type { ExchangeState } from '../../src/model/status.ts';
import { createServer, type TickwireServer } from '../../src/server/server.ts';
import { until } from '../support/until.ts';

/** A config for a test cluster on `servers`: the simulated venue's SIM-BTC and SIM-ETH, 1m bars, no storage. */
export function clusterConfig(servers: string[], name: string, extra: Record<string, unknown> = {}, channels = ['trades', 'quotes']): TickwireConfig {
  return parseConfig({
    server: { host: '127.0.0.1', port: 0 },
    timeframes: ['1m'],
    history: 100,
    exchanges: { simulated: { symbols: ['SIM-BTC', 'SIM-ETH'], channels } },
    cluster: { servers, name, leaseTtl: '2s', ...extra },
  });
}

/** Events a test emits by hand, in the shape a FeedPublisher reads (`on`, `config`). */
export class ManualSource {
  readonly config: TickwireConfig;
  readonly #handlers = new Map<string, Set<(p: unknown) => void>>();

  constructor(config: TickwireConfig) {
    this.config = config;
  }

  on<K extends keyof TickwireEvents>(event: K, handler: (payload: TickwireEvents[K]) => void): () => void {
    const set = this.#handlers.get(event) ?? new Set();
    this.#handlers.set(event, set);
    set.add(handler as (p: unknown) => void);
    return () => set.delete(handler as (p: unknown) => void);
  }

  emit<K extends keyof TickwireEvents>(event: K, payload: TickwireEvents[K]): void {
    for (const h of this.#handlers.get(event) ?? []) h(payload);
  }
}

/** The i-th synthetic trade of SIM-BTC (ids from 1, prices and sizes that vary). */
export function trade(i: number, symbol = 'SIM-BTC'): TradeEvent {
  const ts = 1_765_000_000_000 + i;
  return { exchange: 'simulated', symbol, tradeId: i, price: 60_000 + (i % 997) / 8, size: 0.001 * (1 + (i % 13)), side: i % 3 === 0 ? 'sell' : 'buy', ts, recvTs: ts + 0.125 };
}

/** A feed publishing `config`'s cluster from a ManualSource, leading the simulated exchange (term 1). */
export async function startLeadingFeed(config: TickwireConfig): Promise<{ feed: ClusterConnection; source: ManualSource; publisher: FeedPublisher }> {
  const feed = await openCluster(config.cluster!, 'test-feed');
  const source = new ManualSource(config);
  const publisher = new FeedPublisher(feed, source, () => true);
  publisher.listen();
  if (!(await publisher.lead('simulated', 1, () => true))) throw new Error('the test feed did not get the lease');
  return { feed, source, publisher };
}

/**
 * Venues' states reported as a leading feed reports them (core NATS, the
 * lease term 1 in a header): at each change and twice a second; a venue
 * deleted from `states` is no longer reported (its feed stopped).
 */
export class StatusRelay {
  readonly states = new Map<string, ExchangeState>();
  readonly #feed: ClusterConnection;
  readonly #config: TickwireConfig;
  readonly #timer: NodeJS.Timeout;

  constructor(feed: ClusterConnection, config: TickwireConfig) {
    this.#feed = feed;
    this.#config = config;
    this.#timer = setInterval(() => this.report(), 500);
  }

  /** `exchange` is now in `state`: reported at once, then with every report. */
  set(exchange: string, state: ExchangeState): void {
    this.states.set(exchange, state);
    this.report();
  }

  /** Report every venue's state now. */
  report(): void {
    for (const [exchange, state] of this.states) {
      const tracked = new FeedStatus(exchange, this.#config.exchanges[exchange]!.symbols);
      tracked.setState(state);
      const h = headers();
      h.set(Header.TERM, '1');
      this.#feed.nc.publish(this.#feed.names.statusSubject(exchange), JSON.stringify(tracked.status(undefined, 0)), { headers: h });
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

/** An edge serving on a free port. */
export interface Edge {
  runtime: EdgeRuntime;
  server: TickwireServer;
  port: number;
  stop(): Promise<void>;
}

/** Start an edge of `config`'s cluster: candles rebuilt and caught up before it listens. */
export async function startEdge(config: TickwireConfig): Promise<Edge> {
  const conn = await openCluster(config.cluster!, 'test-edge');
  const runtime = new EdgeRuntime(config, conn);
  const server = createServer(runtime, { port: 0 });
  await runtime.start();
  const { port } = await server.listen();
  return {
    runtime,
    server,
    port,
    async stop() {
      await server.close();
      await runtime.stop();
    },
  };
}

/** A raw subscriber: every text frame as received. */
export class RawSubscriber {
  readonly frames: string[] = [];
  readonly ws: WebSocket;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => this.frames.push(data.toString()));
  }

  /** Connect to the edge on `port`, with `headers` on the upgrade (e.g. a token's Authorization). */
  static async open(port: number, headers: Record<string, string> = {}): Promise<RawSubscriber> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/stream`, { headers });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new RawSubscriber(ws);
  }

  /** Subscribe and wait for the ack; returns it. */
  async subscribe(channels: string[], extra: Record<string, unknown> = {}): Promise<{ epoch: string }> {
    const before = this.frames.length;
    this.ws.send(JSON.stringify({ op: 'subscribe', id: 1, channels, ...extra }));
    await until(() => this.frames.slice(before).some((f) => f.includes('"subscribed"')), 10_000, 'subscribed');
    const ack = this.frames.slice(before).find((f) => f.includes('"subscribed"'))!;
    this.frames.splice(this.frames.indexOf(ack), 1);
    return JSON.parse(ack) as { epoch: string };
  }

  /** The frames of `type` (parsed). */
  messages(type: string): Record<string, unknown>[] {
    return this.frames.map((f) => JSON.parse(f) as Record<string, unknown>).filter((m) => m.type === type);
  }

  close(): void {
    this.ws.close();
  }
}
