/**
 * Scale-out, item 5: the cluster's Prometheus metrics say what a feed's or an
 * edge's `/v1/status` `cluster` says, read at each scrape. Pure: a status
 * object stands in for a running node.
 */
import { describe, expect, it } from 'vitest';
import { createClusterMetrics } from '../../src/cluster/metrics.ts';
import type { ClusterStatus } from '../../src/model/status.ts';

const base: ClusterStatus = {
  role: 'feed', name: 't', epoch: 'e', connected: true, server: '127.0.0.1:4222', degraded: false, degradedSince: null,
  leases: {}, consumers: {}, messages: 0, dropped: 0, leaderChanges: 0,
};
const latency = { p50: 1, p90: 1, p99: 1, p999: 1, max: 1, count: 1 };

/** The value of `name` (optionally one labelled series) in an exposition. */
function value(text: string, name: string, labels = ''): number {
  const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  if (m === null) throw new Error(`${name}${labels} not in the exposition`);
  return Number(m[1]);
}

describe('cluster metrics', () => {
  it("a feed's counts, outbox and leases, as its status has them at each scrape", async () => {
    let status: ClusterStatus = {
      ...base, messages: 120, leaderChanges: 2, conflated: 17,
      leases: { binance: { state: 'leader', term: 4, since: 1 }, kraken: { state: 'standby', term: null, since: null } },
      outbox: { unacked: 9, unackedBytes: 4_608, recovering: false, acked: 100, duplicates: 1, failures: 3, recoveries: 2, dropped: 5, storedAhead: 0, fenced: 7, inboxFailures: 6, sendToAck: latency },
    };
    const registry = createClusterMetrics(() => status);
    let text = await registry.metrics();
    expect(value(text, 'tickwire_cluster_connected')).toBe(1);
    expect(value(text, 'tickwire_cluster_messages_total')).toBe(120);
    expect(value(text, 'tickwire_cluster_leader_changes_total')).toBe(2);
    expect(value(text, 'tickwire_cluster_conflated_total')).toBe(17);
    expect(value(text, 'tickwire_cluster_outbox_unacked')).toBe(9);
    expect(value(text, 'tickwire_cluster_outbox_dropped_total')).toBe(5);
    expect(value(text, 'tickwire_cluster_outbox_recoveries_total')).toBe(2);
    expect(value(text, 'tickwire_cluster_outbox_fenced_total')).toBe(7);
    expect(value(text, 'tickwire_cluster_outbox_inbox_failures_total')).toBe(6);
    expect(value(text, 'tickwire_cluster_lease_leader', '{exchange="binance"}')).toBe(1);
    expect(value(text, 'tickwire_cluster_lease_leader', '{exchange="kraken"}')).toBe(0);
    // Counters follow the status, not their own sums: a second scrape reads the new totals.
    status = { ...status, messages: 130, outbox: { ...status.outbox!, fenced: 8 } };
    text = await registry.metrics();
    expect(value(text, 'tickwire_cluster_messages_total')).toBe(130);
    expect(value(text, 'tickwire_cluster_outbox_fenced_total')).toBe(8);
  });

  it("an edge's drops, replays and consumer lag; feed-only counts read 0", async () => {
    const status: ClusterStatus = {
      ...base, role: 'edge', connected: false, server: null, degraded: true, degradedSince: 5, dropped: 4,
      consumers: { live: { lagMessages: 12, lagMs: 1_500, delivered: 900 } },
      replays: { reads: 3, messages: 250, failures: 1 },
    };
    const text = await createClusterMetrics(() => status).metrics();
    expect(value(text, 'tickwire_cluster_connected')).toBe(0);
    expect(value(text, 'tickwire_cluster_degraded')).toBe(1);
    expect(value(text, 'tickwire_cluster_dropped_total')).toBe(4);
    expect(value(text, 'tickwire_cluster_replayed_messages_total')).toBe(250);
    expect(value(text, 'tickwire_cluster_replay_failures_total')).toBe(1);
    expect(value(text, 'tickwire_cluster_consumer_lag_messages', '{consumer="live"}')).toBe(12);
    expect(value(text, 'tickwire_cluster_consumer_lag_seconds', '{consumer="live"}')).toBe(1.5);
    expect(value(text, 'tickwire_cluster_outbox_fenced_total')).toBe(0);
    expect(value(text, 'tickwire_cluster_outbox_inbox_failures_total')).toBe(0);
    expect(value(text, 'tickwire_cluster_conflated_total')).toBe(0);
  });
});
