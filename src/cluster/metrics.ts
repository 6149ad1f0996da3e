/**
 * The cluster's Prometheus metrics, read from a feed's or an edge's
 * `ClusterStatus` at each scrape (nothing is counted on the live path);
 * appended to the runtime's /metrics text.
 */
import client from 'prom-client';
import type { ClusterStatus } from '../model/status.ts';

/** A registry of the cluster metrics of one process, read from `status()` when scraped. */
export function createClusterMetrics(status: () => ClusterStatus): client.Registry {
  const registry = new client.Registry();
  const gauge = (name: string, help: string, value: (s: ClusterStatus) => number) =>
    new client.Gauge({ name, help, registers: [registry], collect() { this.set(value(status())); } });
  // A count kept by the status (since start): reset and set at each scrape.
  const counter = (name: string, help: string, value: (s: ClusterStatus) => number) =>
    new client.Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(value(status())); } });
  gauge('tickwire_cluster_connected', '1 while connected to a NATS server of the cluster.', (s) => (s.connected ? 1 : 0));
  gauge('tickwire_cluster_degraded', '1 while an edge serves what it has (NATS unreachable, or catching up after a reconnect).', (s) => (s.degraded ? 1 : 0));
  counter('tickwire_cluster_messages_total', 'Messages published to the cluster (feed) or received from it (edge).', (s) => s.messages);
  counter('tickwire_cluster_dropped_total', 'Messages an edge dropped: undecodable, of an older feed term (fenced), or for channels it does not serve.', (s) => s.dropped);
  counter('tickwire_cluster_leader_changes_total', 'Feed leases changing hands, as this process saw them.', (s) => s.leaderChanges);
  gauge('tickwire_cluster_outbox_unacked', "Feed: messages waiting for JetStream's acknowledgement (resent in order after a failure).", (s) => s.outbox?.unacked ?? 0);
  counter('tickwire_cluster_outbox_dropped_total', "Feed: messages dropped unacknowledged past the outbox's bound (100,000 messages or 64 MiB): a gap at the edges.", (s) => s.outbox?.dropped ?? 0);
  counter('tickwire_cluster_outbox_recoveries_total', 'Feed: times publishing paused to resend in order (a failed publish, or NATS lost).', (s) => s.outbox?.recoveries ?? 0);
  counter('tickwire_cluster_replayed_messages_total', 'Messages an edge read back from JetStream for resumes older than its memory.', (s) => s.replays?.messages ?? 0);
  counter('tickwire_cluster_replay_failures_total', 'Reads of JetStream for a resume that failed (NATS unreachable, timed out): those clients got a gap.', (s) => s.replays?.failures ?? 0);
  counter('tickwire_cluster_outbox_fenced_total', "Feed: messages not published because the exchange's lease ran out first (handed back to the kept trades and bars).", (s) => s.outbox?.fenced ?? 0);
  counter('tickwire_cluster_outbox_inbox_failures_total', "Feed: times the server refused or closed the subscription JetStream's acknowledgements come on (e.g. a permissions error): publishes fail at once until it is made again.", (s) => s.outbox?.inboxFailures ?? 0);
  counter('tickwire_cluster_conflated_total', 'Feed: quotes and forming-bar updates replaced by a newer one within their cluster.conflate window (never published, no seq taken).', (s) => s.conflated ?? 0);
  new client.Gauge({
    name: 'tickwire_cluster_lease_leader',
    help: "1 while this feed holds the exchange's publisher lease, 0 while it stands by.",
    labelNames: ['exchange'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [exchange, l] of Object.entries(status().leases)) this.set({ exchange }, l.state === 'leader' ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'tickwire_cluster_consumer_lag_messages',
    help: "Messages of the stream not yet delivered to an edge's consumer.",
    labelNames: ['consumer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [consumer, c] of Object.entries(status().consumers)) this.set({ consumer }, c.lagMessages);
    },
  });
  new client.Gauge({
    name: 'tickwire_cluster_consumer_lag_seconds',
    help: "Age of the newest message an edge's consumer delivered, when it arrived.",
    labelNames: ['consumer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [consumer, c] of Object.entries(status().consumers)) this.set({ consumer }, c.lagMs / 1000);
    },
  });
  return registry;
}

/** `library` and `cluster` metrics texts as one exposition. */
export function joinMetrics(library: string, cluster: string): string {
  return library === '' || library.endsWith('\n') ? library + cluster : library + '\n' + cluster;
}
