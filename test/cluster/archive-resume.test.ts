/**
 * Scale-out, item 3: a `since` older than an edge's resume history is
 * replayed from the live stream in JetStream (src/cluster/live-archive.ts,
 * src/server/archive-replay.ts), then joins the live stream with no gap and
 * no duplicate, even with trades arriving during the replay, in JSON and in
 * FlatBuffers; seqs JetStream no longer keeps, and a read that fails, are
 * one `gap` of reason `history`; the per-resume bound cuts the oldest part.
 * Real nats-server; the edge remembers 20 messages a channel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ClusterConnection } from '../../src/cluster/nats.ts';
import type { TickwireConfig } from '../../src/config/types.ts';
import { decodeMessage } from '../../src/wire/fbs.ts';
import type { StreamMessage } from '../../src/wire/messages.ts';
import { startNats, stopAll, type NatsServer } from '../support/nats.ts';
import { until } from '../support/until.ts';
import { clusterConfig, ManualSource, RawSubscriber, startEdge, startLeadingFeed, trade, type Edge } from './support.ts';

const BTC = 'trades:simulated:SIM-BTC';
const ETH = 'trades:simulated:SIM-ETH';
const MEMORY = 20;

/** Seqs of the trades `sub` received on `channel`, and its gaps there. */
function received(sub: RawSubscriber, channel: string): { seqs: number[]; gaps: Record<string, unknown>[] } {
  return {
    seqs: sub.messages('trade').filter((m) => m.channel === channel).map((m) => m.seq as number),
    gaps: sub.messages('gap').filter((m) => m.channel === channel),
  };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

describe('cluster: a resume older than the edge remembers', () => {
  let nats: NatsServer;
  let feed: ClusterConnection;
  let source: ManualSource;
  const edges: Edge[] = [];
  const next = { 'SIM-BTC': 1, 'SIM-ETH': 1 };

  /** Publish `n` more trades of `symbol` through the feed. */
  async function publish(n: number, symbol: 'SIM-BTC' | 'SIM-ETH' = 'SIM-BTC'): Promise<void> {
    for (const end = next[symbol] + n; next[symbol] < end; next[symbol]++) source.emit('trade', trade(next[symbol], symbol));
    await feed.nc.flush();
  }

  /** An edge of this cluster remembering MEMORY messages a channel, `replayMax` read back at most. */
  async function edge(config: TickwireConfig, replayMax?: number): Promise<Edge> {
    const c: TickwireConfig = { ...config, stream: { ...config.stream, resumeHistory: MEMORY } };
    if (replayMax !== undefined) c.cluster = { ...c.cluster!, replayMax };
    const e = await startEdge(c);
    edges.push(e);
    return e;
  }

  let config: TickwireConfig;

  beforeAll(async () => {
    nats = await startNats();
    config = clusterConfig([nats.url], 'archive');
    ({ feed, source } = await startLeadingFeed(config));
  }, 60_000);

  afterAll(async () => {
    for (const e of edges) await e.stop().catch(() => undefined);
    await feed?.close();
    await stopAll();
  });

  it('replays from JetStream what memory no longer holds, then joins live with no gap or duplicate while trades flow', async () => {
    const e = await edge(config);
    await publish(500);
    await publish(300, 'SIM-ETH');
    await until(() => e.runtime.clusterStatus().messages >= 800, 30_000, 'the edge to receive 800 trades');
    // Every live message is timed through the edge's stages (/v1/latency).
    const stages = e.runtime.latency();
    for (const stage of ['feed_to_store', 'store_to_edge', 'edge_publish']) expect(stages[stage]?.['simulated']?.count, stage).toBe(800);
    const sub = await RawSubscriber.open(e.port);
    // BTC 100 behind its memory's start (seq 481), ETH within memory: one subscribe, both resumed.
    const ack = sub.subscribe([BTC, ETH], { since: { [BTC]: 100, [ETH]: 290 }, epoch: feed.epoch });
    await publish(200); // arriving while the archive is read
    await ack;
    await publish(100);
    await until(() => received(sub, BTC).seqs.at(-1) === 800, 30_000, 'BTC trades up to seq 800');
    const btc = received(sub, BTC);
    expect(btc.gaps).toEqual([]);
    expect(btc.seqs).toEqual(range(101, 800));
    const eth = received(sub, ETH);
    expect(eth.gaps).toEqual([]);
    expect(eth.seqs).toEqual(range(291, 300));
    // The payloads are the feed's trades, in place.
    const first = sub.messages('trade').find((m) => m.seq === 101 && m.channel === BTC)!;
    expect(first).toMatchObject({ tradeId: 101, price: trade(101).price, size: trade(101).size });
    // One read, and another when memory moved on past what the first read (the trades published meanwhile).
    expect(e.runtime.clusterStatus().replays!.reads).toBeGreaterThanOrEqual(1);
    expect(e.runtime.clusterStatus().replays!.failures).toBe(0);
    expect(e.runtime.clusterStatus().replays!.messages).toBeGreaterThanOrEqual(380);
    const counted = /^tickwire_cluster_replayed_messages_total (\d+)$/m.exec(await e.runtime.metrics());
    expect(Number(counted?.[1])).toBe(e.runtime.clusterStatus().replays!.messages);
    sub.close();
  }, 90_000);

  it('replays to a FlatBuffers subscriber in its own format', async () => {
    const e = edges[0]!;
    const last = next['SIM-BTC'] - 1;
    const ws = new WebSocket(`ws://127.0.0.1:${e.port}/v1/stream?format=fbs`);
    const got: StreamMessage[] = [];
    ws.on('message', (data: Buffer) => got.push(decodeMessage(new Uint8Array(data))));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ op: 'subscribe', id: 1, channels: [BTC], since: { [BTC]: 400 }, epoch: feed.epoch }));
    const seqs = () => got.flatMap((m) => (m.type === 'trade' ? [m.seq] : []));
    await until(() => seqs().at(-1) === last, 30_000, `binary BTC trades up to seq ${last}`);
    expect(got.filter((m) => m.type === 'gap')).toEqual([]);
    expect(seqs()).toEqual(range(401, last));
    expect(got.find((m) => m.type === 'trade' && m.seq === 401)).toMatchObject({ tradeId: 401, price: trade(401).price });
    ws.close();
  }, 60_000);

  it('announces seqs past JetStream retention as one gap of reason history, then serves the rest', async () => {
    // Retention ends where the stream's oldest messages are removed: purge SIM-BTC's up to its seq 300, as max_age would.
    const subject = feed.names.subject('trades', 'simulated', 'SIM-BTC');
    const kept = await feed.jsm.streams.getMessage(feed.names.liveStream, { seq: 1, next_by_subj: subject } as never);
    expect(kept).not.toBeNull();
    let seq301 = kept!.seq;
    for (let s = kept!.seq; ; s = seq301 + 1) {
      const m = await feed.jsm.streams.getMessage(feed.names.liveStream, { seq: s, next_by_subj: subject } as never);
      seq301 = m!.seq;
      if (m!.header.get('Tw-Seq') === '301') break;
    }
    await feed.jsm.streams.purge(feed.names.liveStream, { filter: subject, seq: seq301 });
    const e = edges[0]!;
    const last = next['SIM-BTC'] - 1;
    const sub = await RawSubscriber.open(e.port);
    await sub.subscribe([BTC], { since: { [BTC]: 50 }, epoch: feed.epoch });
    await until(() => received(sub, BTC).seqs.at(-1) === last, 30_000, `BTC trades up to seq ${last}`);
    const { seqs, gaps } = received(sub, BTC);
    expect(gaps).toEqual([expect.objectContaining({ fromSeq: 51, toSeq: 300, reason: 'history' })]);
    expect(seqs).toEqual(range(301, last));
    // The gap comes first, the trades after it.
    const frames = sub.frames.map((f) => JSON.parse(f) as { type: string });
    expect(frames[0]!.type).toBe('gap');
    sub.close();
  }, 60_000);

  it('reads at most cluster.replayMax messages a resume: the oldest part is a gap', async () => {
    const e = await edge(config, 100);
    await publish(30); // its memory full: it started from each channel's last message
    const last = next['SIM-BTC'] - 1;
    await until(() => e.runtime.clusterStatus().messages >= 31, 30_000, 'the second edge to follow the stream');
    const sub = await RawSubscriber.open(e.port);
    await sub.subscribe([BTC], { since: { [BTC]: 400 }, epoch: feed.epoch });
    await until(() => received(sub, BTC).seqs.at(-1) === last, 30_000, `BTC trades up to seq ${last}`);
    const { seqs, gaps } = received(sub, BTC);
    // Memory holds the last 20; the archive gives the 100 before them.
    const from = last - MEMORY - 100 + 1;
    expect(gaps).toEqual([expect.objectContaining({ fromSeq: 401, toSeq: from - 1, reason: 'history' })]);
    expect(seqs).toEqual(range(from, last));
    sub.close();
  }, 60_000);

  it('serves a gap of reason history when JetStream cannot be read, and counts the failure', async () => {
    const e = edges[0]!;
    const last = next['SIM-BTC'] - 1;
    await nats.kill();
    try {
      const sub = await RawSubscriber.open(e.port);
      await sub.subscribe([BTC], { since: { [BTC]: 400 }, epoch: feed.epoch });
      await until(() => received(sub, BTC).seqs.at(-1) === last, 30_000, `BTC trades up to seq ${last}`);
      const { seqs, gaps } = received(sub, BTC);
      expect(gaps).toEqual([expect.objectContaining({ fromSeq: 401, toSeq: last - MEMORY, reason: 'history' })]);
      expect(seqs).toEqual(range(last - MEMORY + 1, last));
      expect(e.runtime.clusterStatus().replays!.failures).toBe(1);
      expect(await e.runtime.metrics()).toMatch(/^tickwire_cluster_replay_failures_total 1$/m);
      sub.close();
    } finally {
      await nats.restart();
    }
  }, 60_000);
});
