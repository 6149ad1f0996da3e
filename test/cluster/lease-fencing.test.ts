/**
 * Scale-out, item 4 (fencing at a handover): a leader whose lease runs out
 * while its outbox holds a backlog publishes none of that backlog — only
 * what was already in flight is stored — and a standby taking over under
 * the next term publishes the rest from what it kept, so an edge's
 * subscriber sees every trade once, in order, with contiguous seqs. Before
 * the outbox checked the lease, the old leader kept sending its backlog
 * under its old term: edges fence those off and JetStream drops the new
 * leader's copies as duplicates of their message ids. Real nats-server; the
 * feeds are FeedPublishers driven by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedPublisher } from '../../src/cluster/feed-publisher.ts';
import { openCluster, type ClusterConnection } from '../../src/cluster/nats.ts';
import type { TickwireConfig } from '../../src/config/types.ts';
import type { TradeEvent } from '../../src/model/events.ts';
import { startNats, stopAll } from '../support/nats.ts';
import { until } from '../support/until.ts';
import { clusterConfig, ManualSource, RawSubscriber, startEdge, trade, type Edge } from './support.ts';

const CHANNEL = 'trades:simulated:SIM-BTC';
/** More than the outbox keeps in flight (4,096): the rest waits in it when the lease runs out. */
const TOTAL = 10_000;

/** The i-th trade, received now (a standby keeps only recently received trades). */
const live = (i: number): TradeEvent => ({ ...trade(i), recvTs: Date.now() });

describe('cluster: a leader whose lease ran out publishes none of its backlog', () => {
  let config: TickwireConfig;
  const conns: ClusterConnection[] = [];
  let edge: Edge | undefined;

  beforeAll(async () => {
    const nats = await startNats();
    config = clusterConfig([nats.url], 'fencing', {}, ['trades']);
    edge = await startEdge(config);
  }, 60_000);

  afterAll(async () => {
    await edge?.stop().catch(() => undefined);
    for (const c of conns) await c.close().catch(() => undefined);
    await stopAll();
  });

  async function feed(name: string, valid: () => boolean): Promise<{ publisher: FeedPublisher; source: ManualSource }> {
    const conn = await openCluster(config.cluster!, name);
    conns.push(conn);
    const source = new ManualSource(config);
    const publisher = new FeedPublisher(conn, source, valid);
    publisher.listen();
    return { publisher, source };
  }

  it('the standby publishes the backlog under its term: every trade once, in order, contiguous seqs', async () => {
    const sub = await RawSubscriber.open(edge!.port);
    await sub.subscribe([CHANNEL]);
    let leaderValid = true;
    const leader = await feed('feed-a', () => leaderValid);
    const standby = await feed('feed-b', () => true);
    expect(await leader.publisher.lead('simulated', 1, () => leaderValid)).toBe(true);

    // Both feeds see every trade in one turn; the leader's lease runs out before its outbox sends the backlog.
    for (let i = 1; i <= TOTAL; i++) {
      const e = live(i);
      leader.source.emit('trade', e);
      standby.source.emit('trade', e);
    }
    expect(leader.publisher.outbox.unacked).toBe(TOTAL); // none acknowledged yet: the rest of this turn decides
    leaderValid = false;
    // What was in flight is acknowledged; what waited is handed back, never sent.
    await until(() => leader.publisher.outbox.unacked === 0, 60_000, "the old leader's outbox settled");
    const stored = leader.publisher.outbox.counters.acked;
    expect(leader.publisher.outbox.counters.fenced).toBe(TOTAL - stored);
    expect(stored).toBeLessThan(TOTAL);

    expect(await standby.publisher.lead('simulated', 2, () => true)).toBe(true);
    await until(() => sub.messages('trade').length >= TOTAL, 60_000, 'every trade at the edge');
    await new Promise((r) => setTimeout(r, 500)); // nothing more arrives (no duplicate behind)

    const trades = sub.messages('trade');
    expect(sub.messages('gap')).toEqual([]);
    expect(trades.map((m) => m.seq)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    expect(trades.map((m) => m.tradeId)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    expect(standby.publisher.counters.replayed).toBe(TOTAL - stored);
    expect(standby.publisher.counters.skipped).toBe(stored);
    sub.close();
  }, 120_000);
});
