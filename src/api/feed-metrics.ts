/**
 * Price feeds in /metrics: source switches by reason, the active source of
 * each feed, prices published. Read from the feeds at each scrape; nothing
 * is counted on the live path.
 */
import client from 'prom-client';

/** What the feed metrics read of each feed. */
export interface FeedReading {
  readonly feed: string;
  readonly active: string | null;
  readonly prices: number;
  readonly sources: readonly { source: string }[];
}

/** Register the feed metrics on `registry`: `switches` by reason since start, `states` each feed's now. */
export function registerFeedMetrics(registry: client.Registry, switches: () => ReadonlyMap<string, number>, states: () => Iterable<FeedReading>): void {
  new client.Counter({
    name: 'tickwire_feed_switches_total',
    help: 'Price feeds\' source switches, by reason (disconnected, circuit_open, stale, deviation, recovered, started).',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of switches()) this.inc({ reason }, n);
    },
  });
  new client.Gauge({
    name: 'tickwire_feed_active_source',
    help: '1 for the source serving each price feed, 0 for its other sources (none is 1 while no source is healthy).',
    labelNames: ['feed', 'source'],
    registers: [registry],
    collect() {
      this.reset();
      for (const f of states()) for (const s of f.sources) this.set({ feed: f.feed, source: s.source }, s.source === f.active ? 1 : 0);
    },
  });
  new client.Counter({
    name: 'tickwire_feed_prices_total',
    help: 'Prices published by each price feed.',
    labelNames: ['feed'],
    registers: [registry],
    collect() {
      this.reset();
      for (const f of states()) this.inc({ feed: f.feed }, f.prices);
    },
  });
}
