/**
 * Scale-out, item 6: on a three-node NATS cluster with `replicas: 3`, one
 * node killed (the live stream's leader, the hardest one) while trades flow:
 * every trade is stored exactly once (the feed's outbox resends through the
 * election, in order), and the edge keeps serving: its subscriber sees every
 * seq once, in order, with no gap. Real nats-server processes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FeedPublisher } from '../../src/cluster/feed-publisher.ts';
import { openCluster, type ClusterConnection } from '../../src/cluster/nats.ts';
import { decodeMessage } from '../../src/wire/fbs.ts';
import { startNatsCluster, stopAll } from '../support/nats.ts';
import { until } from '../support/until.ts';
import { clusterConfig, ManualSource, RawSubscriber, startEdge, trade, type Edge } from './support.ts';

const CHANNEL = 'trades:simulated:SIM-BTC';
const TOTAL = 8_000;

describe('cluster: a three-node NATS cluster with replicas 3', () => {
  let feed: ClusterConnection | undefined;
  let edge: Edge | undefined;

  afterAll(async () => {
    await edge?.stop().catch(() => undefined);
    await feed?.close().catch(() => undefined);
    await stopAll();
  });

  it('the stream leader killed while trades flow: every trade stored once, the edge keeps serving', async () => {
    const nodes = await startNatsCluster();
    const config = clusterConfig(nodes.map((n) => n.url), 'three', { replicas: 3 });
    feed = await openCluster(config.cluster!, 'test-feed');
    const source = new ManualSource(config);
    const publisher = new FeedPublisher(feed, source, () => true);
    publisher.listen();
    await publisher.lead('simulated', 1, () => true);
    edge = await startEdge(config);
    const sub = await RawSubscriber.open(edge.port);
    await sub.subscribe([CHANNEL]);

    // 2,000 trades/s: 50 every 25 ms, until TOTAL.
    let next = 1;
    const timer = setInterval(() => {
      for (let i = 0; i < 50 && next <= TOTAL; i++) source.emit('trade', trade(next++));
      if (next > TOTAL) clearInterval(timer);
    }, 25);
    await until(() => sub.frames.length >= 1_000, 30_000, 'trades before the kill');
    const info = await feed.jsm.streams.info(feed.names.liveStream);
    const leader = nodes.find((n) => info.cluster?.leader === `n${nodes.indexOf(n)}`)!;
    expect(leader).toBeDefined();
    await leader.kill();
    await until(() => next > TOTAL, 60_000, 'every trade handed to the feed');
    await until(() => publisher.outbox.unacked === 0 && publisher.outbox.counters.acked + publisher.outbox.counters.duplicates >= TOTAL, 60_000, 'every trade acknowledged');
    console.log(`nats cluster: stream leader killed; outbox ${JSON.stringify(publisher.outbox.counters)}`);
    // Nothing lost and nothing twice in the replicated stream: every trade id stored exactly once.
    // Read back with retries: right after the kill the cluster may still be electing its meta leader,
    // and a consumer request then times out (seen in CI).
    const js = feed.js;
    const names = feed.names;
    const stored = await retrying(async () => {
      const ids: number[] = [];
      const reader = await js.consumers.get(names.liveStream, { filter_subjects: names.subject('trades', 'simulated', 'SIM-BTC') });
      const batch = await reader.fetch({ max_messages: TOTAL, expires: 10_000 });
      for await (const m of batch) {
        ids.push((JSON.parse(JSON.stringify(decodeMessage(m.data))) as { tradeId: number }).tradeId);
        if (ids.length === TOTAL) break;
      }
      return ids;
    }, 60_000, 'reading the stream back');
    expect(stored.length).toBe(TOTAL);
    expect([...new Set(stored)].sort((x, y) => x - y)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    // The edge keeps serving: its subscriber stays connected and reaches the newest seq.
    await until(() => sub.messages('trade').some((m) => m.seq === TOTAL), 60_000, 'the newest trade at the subscriber');
    expect(publisher.outbox.counters.storedAhead).toBe(0);
    expect(sub.messages('gap')).toEqual([]);
    const seqs = sub.messages('trade').map((m) => m.seq as number);
    expect(seqs.filter((s, i) => i > 0 && s !== seqs[i - 1]! + 1)).toEqual([]);
    expect(edge.runtime.clusterStatus().connected).toBe(true);
    // The edge still answers over HTTP.
    expect((await fetch(`http://127.0.0.1:${edge.port}/v1/status`)).status).toBe(200);
  }, 180_000);
});

/** `f()` until it resolves, at most `ms` (a pause of 500 ms between tries); the last error names `what`. */
async function retrying<T>(f: () => Promise<T>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await f();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
