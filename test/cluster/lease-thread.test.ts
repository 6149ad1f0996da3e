/**
 * Scale-out, item 4 (the lease under long turns): a feed's leases are
 * renewed in a thread of their own (src/cluster/lease-thread.ts), so a main
 * thread blocked for longer than the lease TTL still holds its lease — the
 * renewals went on meanwhile, `valid()` holds the moment the thread runs
 * again, and a standby contending all along never got it. The same block
 * lapses a lease renewed on the main thread (the design before). A main
 * thread blocked past the hung bound (`stallMs`) gives its lease up and the
 * standby takes over; a stopped leader hands over at once. (A process that
 * dies loses its lease within TTL + 1 s: failover.test.ts, SIGKILL.)
 * Real nats-server; the contenders are lease threads of this process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedLease, type LeaseListener } from '../../src/cluster/lease.ts';
import { LeaseThread } from '../../src/cluster/lease-thread.ts';
import { openLeaseBucket, type LeaseBucket } from '../../src/cluster/nats.ts';
import { ClusterNames } from '../../src/cluster/subjects.ts';
import type { ClusterConfig } from '../../src/config/types.ts';
import { startNats, stopAll } from '../support/nats.ts';
import { until } from '../support/until.ts';
import { clusterConfig } from './support.ts';

const TTL_MS = 3_000;
const EXCHANGE = 'simulated';

/** A listener that keeps what it heard. */
function recorder(): LeaseListener & { acquired_: number[]; renewed_: number[]; lost_: string[] } {
  const r = {
    acquired_: [] as number[],
    renewed_: [] as number[],
    lost_: [] as string[],
    acquired: (term: number) => void r.acquired_.push(term),
    renewed: (term: number) => void r.renewed_.push(term),
    lost: (reason: string) => void r.lost_.push(reason),
  };
  return r;
}

/** Keep this thread busy for `ms`: no timer, no I/O, no message runs meanwhile. */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('cluster: the lease thread', () => {
  let cluster: ClusterConfig;
  const threads: LeaseThread[] = [];
  const buckets: LeaseBucket[] = [];

  beforeAll(async () => {
    const nats = await startNats();
    cluster = clusterConfig([nats.url], 'leasethread', { leaseTtl: `${TTL_MS}ms` }).cluster!;
  }, 60_000);

  afterAll(async () => {
    for (const t of threads) await t.stop().catch(() => undefined);
    for (const b of buckets) await b.nc.close().catch(() => undefined);
    await stopAll();
  });

  function contender(key: string, node: string, stallMs?: number): { thread: LeaseThread; heard: ReturnType<typeof recorder> } {
    const heard = recorder();
    const thread = new LeaseThread(cluster, node, [{ exchange: EXCHANGE, key, listener: heard }], stallMs === undefined ? {} : { stallMs });
    threads.push(thread);
    thread.start();
    return { thread, heard };
  }

  it('a main thread blocked for 2.5 lease TTLs keeps its lease; one renewed on the main thread lapses', async () => {
    const key = new ClusterNames(cluster.name).leaseKey('blocked');
    const leader = contender(key, 'leader');
    await until(() => leader.thread.valid(EXCHANGE), 20_000, 'the leader acquired');
    const standby = contender(key, 'standby');
    // The design before, beside it: the same kind of lease renewed on this (main) thread, on another key.
    const bucket = await openLeaseBucket(cluster, 'main-thread lease');
    buckets.push(bucket);
    const onMain = new FeedLease(bucket.kv, new ClusterNames(cluster.name).leaseKey('main'), 'main', TTL_MS, recorder());
    onMain.start();
    await until(() => onMain.valid(), 20_000, 'the main-thread lease acquired');
    await new Promise((r) => setTimeout(r, 1_000)); // the standby's thread is up and contending

    const term = leader.thread.term(EXCHANGE);
    const renewedBefore = leader.heard.renewed_.length;
    block(2.5 * TTL_MS);
    // Read before anything else runs on this thread: shared memory alone says whether it still holds.
    const heldAfterBlock = leader.thread.valid(EXCHANGE);
    const mainHeldAfterBlock = onMain.valid();
    expect(heldAfterBlock).toBe(true);
    expect(mainHeldAfterBlock).toBe(false);

    // The renewals made during the block arrive now; none failed, and the standby never got the lease.
    await until(() => leader.heard.renewed_.length >= renewedBefore + 4, 10_000, 'the renewals made during the block');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(leader.heard.lost_).toEqual([]);
    expect(leader.thread.term(EXCHANGE)).toBe(term);
    expect(leader.thread.valid(EXCHANGE)).toBe(true);
    expect(standby.heard.acquired_).toEqual([]);
    expect(standby.thread.valid(EXCHANGE)).toBe(false);
    await onMain.stop();
  }, 90_000);

  it('a main thread blocked past the hung bound hands its lease over; the standby takes it', async () => {
    const key = new ClusterNames(cluster.name).leaseKey('hung');
    const STALL_MS = 4_000;
    const leader = contender(key, 'leader', STALL_MS);
    await until(() => leader.thread.valid(EXCHANGE), 20_000, 'the leader acquired');
    const standby = contender(key, 'standby');
    await new Promise((r) => setTimeout(r, 1_000));

    block(STALL_MS + 2 * TTL_MS);
    expect(leader.thread.valid(EXCHANGE)).toBe(false); // given up meanwhile: no publish from here on
    await until(() => standby.heard.acquired_.length === 1, 20_000, 'the standby took over');
    expect(leader.heard.lost_).toHaveLength(1);
    expect(leader.heard.lost_[0]).toMatch(/main thread has not run .* hung/);
    expect(standby.thread.valid(EXCHANGE)).toBe(true);
    // Running again, the old leader competes again and stands by while the standby holds it.
    await new Promise((r) => setTimeout(r, TTL_MS));
    expect(leader.thread.term(EXCHANGE)).toBeNull();
    expect(standby.heard.lost_).toEqual([]);
  }, 90_000);

  it('a stopped leader hands over at once (well within the TTL)', async () => {
    const key = new ClusterNames(cluster.name).leaseKey('stopped');
    const leader = contender(key, 'leader');
    await until(() => leader.thread.valid(EXCHANGE), 20_000, 'the leader acquired');
    const standby = contender(key, 'standby');
    await new Promise((r) => setTimeout(r, 1_000));
    const stoppedAt = performance.now();
    await leader.thread.stop();
    expect(leader.thread.valid(EXCHANGE)).toBe(false);
    await until(() => standby.heard.acquired_.length === 1, 20_000, 'the standby took over');
    expect(performance.now() - stoppedAt).toBeLessThan(TTL_MS);
  }, 60_000);
});
