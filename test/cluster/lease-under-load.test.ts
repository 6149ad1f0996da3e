/**
 * Scale-out, item 4 (a lease that holds under load): a leading feed keeps
 * its JetStream KV lease while its data path is saturated — the outbox's
 * in-flight window full and a backlog queued behind it. Renewals travel on
 * a connection of their own (nats.ts `openLeaseBucket`), so they never wait behind
 * the data in the client's buffer or the server's per-connection queue.
 * Checked: the lease is never lost, `valid()` never lapses, and no two
 * renewals are further apart than the TTL less the lease's safety margin.
 * Measured while writing it: with the lease's bucket opened on the data
 * connection instead, this test passed too (the outbox's 4,096-message
 * window keeps that queue to milliseconds on loopback), so it guards the
 * property, not the connection choice; what did delay renewals on a loaded
 * feed was its main thread (docs/scale-out.md "Benchmarks"). Real
 * nats-server, a FeedPublisher driven by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedLease } from '../../src/cluster/lease.ts';
import type { FeedPublisher } from '../../src/cluster/feed-publisher.ts';
import { MAX_IN_FLIGHT } from '../../src/cluster/outbox.ts';
import { openLeaseBucket, type ClusterConnection } from '../../src/cluster/nats.ts';
import { startNats, stopAll } from '../support/nats.ts';
import { until } from '../support/until.ts';
import { clusterConfig, startLeadingFeed, trade, type ManualSource } from './support.ts';

const TTL_MS = 4_000;
/** How long the data path is kept saturated: two and a half TTLs. */
const LOAD_MS = 2.5 * TTL_MS;
/** Trades queued at once at the start: past the outbox's in-flight window. */
const BURST = MAX_IN_FLIGHT + 2_000;
/** Waiting messages the load stops adding at (bounds the test's memory and CPU). */
const CAP = 20_000;

describe('cluster: a leader keeps its lease while its data connection is saturated', () => {
  let feed: ClusterConnection;
  let source: ManualSource;
  let publisher: FeedPublisher;

  beforeAll(async () => {
    const nats = await startNats();
    ({ feed, source, publisher } = await startLeadingFeed(clusterConfig([nats.url], 'leaseload', { leaseTtl: `${TTL_MS}ms` }, ['trades'])));
  }, 60_000);

  afterAll(async () => {
    publisher?.close();
    await feed?.close().catch(() => undefined);
    await stopAll();
  });

  it('renews within the TTL, never lapses and is never lost', async () => {
    const renewals: number[] = [];
    const lost: string[] = [];
    const bucket = await openLeaseBucket(feed.config, 'loaded-feed (leases)');
    const lease = new FeedLease(bucket.kv, feed.names.leaseKey('simulated'), 'loaded-feed', TTL_MS, {
      acquired: () => renewals.push(performance.now()),
      renewed: () => renewals.push(performance.now()),
      lost: (reason) => lost.push(reason),
    });
    lease.start();
    try {
      await until(() => lease.term !== null, 10_000, 'lease acquired');
      let i = 0;
      let lapses = 0;
      let peak = 0;
      const start = performance.now();
      // A burst first, in one go (no acknowledgement is read meanwhile): past the in-flight window whatever the machine's speed.
      for (let n = 0; n < BURST; n++) source.emit('trade', trade(++i));
      peak = publisher.outbox.unacked;
      await new Promise<void>((resolve) => {
        const load = setInterval(() => {
          if (!lease.valid()) lapses++;
          // Top the outbox up in slices, so timers (the lease's among them) keep their turn on this thread.
          for (let n = 0; n < 3_000 && publisher.outbox.unacked < CAP; n++) source.emit('trade', trade(++i));
          peak = Math.max(peak, publisher.outbox.unacked);
          if (performance.now() - start < LOAD_MS) return;
          clearInterval(load);
          resolve();
        }, 5);
      });
      console.log(`lease under load: ${i} trades, outbox peak ${peak}, ${renewals.length} renewals, gaps ${gaps(renewals).map((g) => g.toFixed(0)).join(' ')} ms`);
      expect(peak).toBeGreaterThan(MAX_IN_FLIGHT); // the in-flight window full and more waiting behind it
      expect(lost).toEqual([]);
      expect(lapses).toBe(0);
      expect(renewals.length).toBeGreaterThanOrEqual(LOAD_MS / TTL_MS);
      const margin = Math.max(200, TTL_MS / 10);
      expect(Math.max(...gaps([...renewals, performance.now()]))).toBeLessThan(TTL_MS - margin);
      await until(() => publisher.outbox.unacked === 0, 60_000, 'the backlog acknowledged');
      expect(publisher.outbox.counters).toMatchObject({ dropped: 0, fenced: 0, storedAhead: 0 });
    } finally {
      await lease.stop();
      await bucket.nc.close();
    }
  }, 120_000);
});

/** Time between consecutive instants. */
function gaps(times: number[]): number[] {
  return times.slice(1).map((t, k) => t - times[k]!);
}
