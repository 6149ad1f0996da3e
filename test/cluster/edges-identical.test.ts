/**
 * Scale-out, item 2: the feed assigns each channel's seq once; two edges
 * consuming the cluster give their subscribers byte-identical streams (seq
 * and payload), share the cluster's epoch, and a client resumes on the
 * other edge with `since` after losing its own. Real nats-server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterConnection } from '../../src/cluster/nats.ts';
import type { TickwireConfig } from '../../src/config/types.ts';
import { startNats, stopAll, type NatsServer } from '../support/nats.ts';
import { until } from '../support/until.ts';
import { clusterConfig, ManualSource, RawSubscriber, startEdge, startLeadingFeed, trade, type Edge } from './support.ts';

/** Trades streamed through the cluster: 60,000 take about 25 s on this loaded 2-core machine (the issue asks 100,000: TICKWIRE_CLUSTER_TRADES=100000, about 45 s here). */
const TRADES = Number(process.env.TICKWIRE_CLUSTER_TRADES ?? 60_000);
const CHANNEL = 'trades:simulated:SIM-BTC';

describe('cluster: two edges serve the same stream', () => {
  let nats: NatsServer;
  let config: TickwireConfig;
  let feed: ClusterConnection;
  let source: ManualSource;
  const edges: Edge[] = [];
  let next = 1;

  /** Publish `n` more trades of SIM-BTC through the feed, a thousand per turn. */
  async function publish(n: number): Promise<void> {
    const end = next + n;
    while (next < end) {
      const stop = Math.min(end, next + 1000);
      for (; next < stop; next++) source.emit('trade', trade(next));
      await new Promise((r) => setImmediate(r));
    }
    await feed.nc.flush();
  }

  beforeAll(async () => {
    nats = await startNats();
    config = clusterConfig([nats.url], 'ident');
    ({ feed, source } = await startLeadingFeed(config));
    edges.push(await startEdge(config), await startEdge(config));
  }, 60_000);

  afterAll(async () => {
    for (const e of edges) await e.stop().catch(() => undefined);
    await feed?.close();
    await stopAll();
  });

  it(`gives byte-identical trades (seq and payload) on both edges for ${TRADES} trades`, async () => {
    const subs = await Promise.all(edges.map((e) => RawSubscriber.open(e.port)));
    const acks = await Promise.all(subs.map((s) => s.subscribe([CHANNEL])));
    expect(acks[0]!.epoch).toBe(acks[1]!.epoch);
    expect(acks[0]!.epoch).toBe(feed.epoch);
    const started = performance.now();
    await publish(TRADES);
    await until(() => subs.every((s) => s.frames.length >= TRADES), 120_000, `${TRADES} trades on both edges`);
    const ms = performance.now() - started;
    console.log(`cluster identity: ${TRADES} trades through feed → NATS → 2 edges → subscribers in ${ms.toFixed(0)} ms`);
    expect(subs[0]!.frames.length).toBe(TRADES);
    expect(subs[1]!.frames).toEqual(subs[0]!.frames);
    // Contiguous seqs from 1, each the trade published in that place.
    const seqs = subs[0]!.frames.map((f) => Number(/"seq":(\d+)/.exec(f)![1]));
    expect(seqs[0]).toBe(1);
    expect(seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1)).toBe(true);
    const last = JSON.parse(subs[0]!.frames.at(-1)!) as { tradeId: number; seq: number };
    expect(last).toMatchObject({ tradeId: TRADES, seq: TRADES });
    for (const s of subs) s.close();
  }, 180_000);

  it('resumes a client on the other edge with since and the epoch, with no gap and no duplicate', async () => {
    const a = await RawSubscriber.open(edges[0]!.port);
    const { epoch } = await a.subscribe([CHANNEL]);
    await publish(300);
    await until(() => a.frames.length >= 300, 30_000, '300 trades on edge A');
    const lastSeen = JSON.parse(a.frames[149]!) as { seq: number };
    a.close(); // the client loses edge A after the 150th
    await publish(200);
    const b = await RawSubscriber.open(edges[1]!.port);
    await b.subscribe([CHANNEL], { since: { [CHANNEL]: lastSeen.seq }, epoch });
    await publish(50);
    const expected = 150 + 200 + 50; // the 150 after lastSeen in the first batch, then the rest
    await until(() => b.frames.length >= expected, 30_000, 'resumed trades on edge B');
    const seqs = b.messages('trade').map((m) => m.seq as number);
    expect(b.messages('gap')).toEqual([]);
    expect(seqs[0]).toBe(lastSeen.seq + 1);
    expect(seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1)).toBe(true);
    expect(seqs.length).toBe(expected);
    b.close();
  }, 60_000);
});
