/**
 * Scale-out, item 5: an edge that loses NATS keeps its clients' connections
 * open, serves what it has, marks itself degraded, and catches up on
 * reconnect with no gap; an edge restarted while trades flow lets its
 * clients resume with `since` on another edge. Real nats-server, killed and
 * restarted on the same port and store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedPublisher } from '../../src/cluster/feed-publisher.ts';
import { openCluster, type ClusterConnection } from '../../src/cluster/nats.ts';
import type { TickwireConfig } from '../../src/config/types.ts';
import { startNats, stopAll, type NatsServer } from '../support/nats.ts';
import { until } from '../support/until.ts';
import { clusterConfig, ManualSource, RawSubscriber, startEdge, trade, type Edge } from './support.ts';

const CHANNEL = 'trades:simulated:SIM-BTC';

function seqsOf(sub: RawSubscriber): number[] {
  return sub.messages('trade').map((m) => m.seq as number);
}

function expectContiguous(seqs: number[], from: number): void {
  expect(seqs[0]).toBe(from);
  const holes = seqs.filter((s, i) => i > 0 && s !== seqs[i - 1]! + 1);
  expect(holes).toEqual([]);
}

describe('cluster: an edge through a NATS outage', () => {
  let nats: NatsServer;
  let config: TickwireConfig;
  let feed: ClusterConnection;
  let source: ManualSource;
  let publisher: FeedPublisher;
  const edges: Edge[] = [];
  let next = 1;

  function publish(n: number): void {
    for (const end = next + n; next < end; next++) source.emit('trade', trade(next));
  }

  beforeAll(async () => {
    nats = await startNats();
    config = clusterConfig([nats.url], 'outage');
    feed = await openCluster(config.cluster!, 'test-feed');
    source = new ManualSource(config);
    publisher = new FeedPublisher(feed, source, () => true);
    publisher.listen();
    await publisher.lead('simulated', 1, () => true);
    edges.push(await startEdge(config), await startEdge(config));
  }, 60_000);

  afterAll(async () => {
    for (const e of edges) await e.stop().catch(() => undefined);
    await feed?.close().catch(() => undefined);
    await stopAll();
  });

  it('keeps clients connected while NATS is down, degraded, then catches up with no gap', async () => {
    const edge = edges[0]!;
    const sub = await RawSubscriber.open(edge.port);
    await sub.subscribe([CHANNEL]);
    publish(500);
    await until(() => sub.frames.length >= 500, 30_000, 'trades before the outage');

    await nats.kill();
    await until(() => edge.runtime.clusterStatus().degraded, 20_000, 'the edge degraded');
    expect(edge.runtime.clusterStatus().connected).toBe(false);
    const health = (await (await fetch(`http://127.0.0.1:${edge.port}/health`)).json()) as { status: string; warnings: string[] };
    expect(health.status).toBe('ok'); // still serving what it has
    expect(health.warnings.join(' ')).toMatch(/NATS unreachable/);
    const candles = await fetch(`http://127.0.0.1:${edge.port}/v1/candles/simulated/SIM-BTC/1m`);
    expect(candles.status).toBe(200);
    publish(500); // the feed's client holds these until NATS is back
    await new Promise((r) => setTimeout(r, 500));
    expect(sub.ws.readyState).toBe(sub.ws.OPEN);

    await nats.restart();
    // Publish while the trades held through the outage are being resent: the outbox queues these behind
    // them and stores everything in order (docs/scale-out.md).
    expect(publisher.outbox.unacked).toBeGreaterThan(0);
    for (let chunk = 0; chunk < 20; chunk++) {
      publish(25);
      await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => sub.frames.length >= 1500, 60_000, 'the catch-up after the outage').catch(async (err: Error) => {
      const info = await feed.jsm.streams.info(feed.names.liveStream).catch((e: Error) => e.message);
      throw new Error(`${err.message}: ${sub.frames.length} frames; edge ${JSON.stringify(edge.runtime.clusterStatus())}; stream ${JSON.stringify(info)}`);
    });
    await until(() => !edge.runtime.clusterStatus().degraded, 30_000, 'the edge no longer degraded');
    expect(sub.messages('gap')).toEqual([]);
    expectContiguous(seqsOf(sub), 1);
    expect(seqsOf(sub)).toHaveLength(1500);
    const ids = sub.messages('trade').map((m) => m.tradeId as number);
    expect(new Set(ids).size).toBe(1500); // no trade twice
    expect(publisher.outbox.counters).toMatchObject({ dropped: 0, storedAhead: 0 });
    expect(publisher.outbox.counters.recoveries).toBeGreaterThan(0);
    sub.close();
  }, 120_000);

  it('an edge restarted while trades flow: its clients resume with since on the other edge, then on it', async () => {
    const [first, other] = edges as [Edge, Edge];
    const sub = await RawSubscriber.open(first.port);
    const { epoch } = await sub.subscribe([CHANNEL]);
    publish(200);
    await until(() => sub.frames.length >= 200, 30_000, 'trades on the first edge');
    const last = seqsOf(sub).at(-1)!;
    await first.stop(); // the client loses its edge
    publish(300);
    const moved = await RawSubscriber.open(other.port);
    await moved.subscribe([CHANNEL], { since: { [CHANNEL]: last }, epoch });
    await until(() => moved.frames.length >= 300, 30_000, 'the resume on the other edge');
    expectContiguous(seqsOf(moved), last + 1);

    // The first edge back (from nothing): a client that left it resumes on it too.
    const again = await startEdge(config);
    edges[0] = again;
    const lastMoved = seqsOf(moved).at(-1)!;
    moved.close();
    publish(100);
    const back = await RawSubscriber.open(again.port);
    const ack = await back.subscribe([CHANNEL], { since: { [CHANNEL]: lastMoved }, epoch });
    expect(ack.epoch).toBe(epoch);
    publish(100);
    // The restarted edge holds in memory only what arrived since it started: the rest is a gap of reason history.
    await until(() => back.messages('trade').some((m) => m.seq === lastMoved + 200), 30_000, 'live trades on the restarted edge');
    const gaps = back.messages('gap');
    const seqs = seqsOf(back);
    const covered = new Set(seqs);
    for (const g of gaps) for (let s = g.fromSeq as number; s <= (g.toSeq as number); s++) covered.add(s);
    for (let s = lastMoved + 1; s <= lastMoved + 200; s++) expect(covered.has(s)).toBe(true);
    back.close();
  }, 120_000);
});
