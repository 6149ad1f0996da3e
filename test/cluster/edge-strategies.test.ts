/**
 * Scale-out: strategies run on the edges whose config lists them, on the
 * closed bars from the cluster (docs/scale-out.md, "What runs where").
 * Real nats-server; a feed publishing closed bars by hand; two edges with
 * the same webhook strategy. Each edge is warmed up by the bars closed
 * before it started (judging none of them), judges every later close once,
 * and both give each signal the same id (strategy, bar open time,
 * revision), which the webhook sends as its `Idempotency-Key`: the receiver
 * gets each signal once from each edge under one key, and can drop the
 * second.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeRuntime } from '../../src/cluster/edge-runtime.ts';
import { openCluster, type ClusterConnection } from '../../src/cluster/nats.ts';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import type { TickwireConfig } from '../../src/config/types.ts';
import type { Bar } from '../../src/model/records.ts';
import { startNats, stopAll } from '../support/nats.ts';
import { until } from '../support/until.ts';
import { ManualSource, RawSubscriber, startEdge, startLeadingFeed, type Edge } from './support.ts';

const MINUTE = 60_000;
const FIXTURES = path.join(import.meta.dirname, 'fixtures');

/** A closed 1m bar of SIM-BTC closing at `close`. */
function closedBar(openTime: number, close: number): Bar {
  return {
    openTime, closeTime: openTime + MINUTE - 1, open: close, high: close, low: close, close, volume: 1, quoteVolume: close,
    buyVolume: 1, sellVolume: 0, trades: 1, firstTradeId: null, lastTradeId: null, vwap: close, spread: null, closed: true, revision: 0,
  };
}

describe('cluster: strategies on edges', () => {
  let config: TickwireConfig;
  let feed: ClusterConnection;
  let source: ManualSource;
  let receiver: Server;
  /** What the webhook receiver got: each POST's Idempotency-Key and the signal id in its body. */
  const posts: { key: string; id: string }[] = [];
  const edges: Edge[] = [];
  let sub: RawSubscriber | undefined;

  beforeAll(async () => {
    receiver = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        posts.push({ key: String(req.headers['idempotency-key']), id: (JSON.parse(body) as { id: string }).id });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const nats = await startNats();
    config = parseConfig({
      server: { host: '127.0.0.1', port: 0 },
      timeframes: ['1m'],
      history: 100,
      exchanges: { simulated: { symbols: ['SIM-BTC'] } },
      strategies: {
        // Buys on every close at or above 100.
        hook: {
          module: path.join(FIXTURES, 'buy-above.mjs'),
          exchange: 'simulated',
          symbol: 'SIM-BTC',
          timeframe: '1m',
          lookback: 2,
          timeoutMs: 10_000,
          executor: { kind: 'webhook', url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/orders`, retries: 0, timeoutMs: 30_000 },
        },
      },
      pool: { threads: 1 },
      cluster: { servers: [nats.url], name: 'edgestrat', leaseTtl: '2s' },
    });
    ({ feed, source } = await startLeadingFeed(config));
  }, 60_000);

  afterAll(async () => {
    sub?.close();
    for (const e of edges) await e.stop().catch(() => undefined);
    await feed?.close();
    await stopAll();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('judges each close from the cluster once per edge, with the same signal id and idempotency key on every edge', async () => {
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
    const emit = (i: number, close: number) => source.emit('bar', { exchange: 'simulated', symbol: 'SIM-BTC', timeframe: '1m', bar: closedBar(base + i * MINUTE, close) });
    // Closed before any edge runs: warm-up only (the last of them would buy if it were judged).
    emit(0, 50);
    emit(1, 60);
    emit(2, 120);
    await until(async () => (await feed.jsm.streams.info(feed.names.barsStream)).state.messages === 3, 20_000, 'the bars stream holds the warm-up bars');
    edges.push(await startEdge(config), await startEdge(config));
    const [a, b] = edges as [Edge, Edge];
    sub = await RawSubscriber.open(a.port);
    await sub.subscribe(['signals:hook']);

    emit(3, 130);
    emit(4, 90);
    emit(5, 140);
    const expected = [3, 4, 5].map((i) => `hook:${base + i * MINUTE}:0`);
    for (const e of [a, b]) {
      await until(() => e.runtime.strategy('hook')!.signalsRecent.length === 3, 30_000, 'the edge judged the three closes');
      await e.runtime.strategiesIdle();
      const signals = e.runtime.strategy('hook')!.signalsRecent;
      expect(signals.map((s) => s.id)).toEqual(expected);
      expect(signals.map((s) => s.action)).toEqual(['buy', 'hold', 'buy']);
    }
    await until(() => sub!.messages('signal').length === 3, 20_000, 'the stream carried the signals');
    expect(sub.messages('signal').map((m) => m.id)).toEqual(expected);
    const metrics = await (await fetch(`http://127.0.0.1:${b.port}/metrics`)).text();
    expect(metrics).toContain('tickwire_strategy_signals_total{strategy="hook"} 3');

    // The buys reach the webhook once from each edge, under the signal's id: a receiver keeps one per key.
    await until(() => posts.length === 4, 20_000, 'both edges posted both buys');
    for (const p of posts) expect(p.key).toBe(p.id);
    expect(posts.map((p) => p.key).sort()).toEqual([expected[0], expected[0], expected[2], expected[2]].sort());
  });

  it('refuses to start with a strategy whose module does not check, naming its key, and leaves nothing running', async () => {
    const hook = config.strategies!['hook']!;
    const bad: TickwireConfig = { ...config, strategies: { hook: { ...hook, module: path.join(import.meta.dirname, '../strategies/fixtures/no-decide.mjs') } } };
    const edge = new EdgeRuntime(bad, await openCluster(bad.cluster!, 'test-edge-refused'));
    const err = await edge.start().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain('strategies.hook.module');
    await edge.stop();
    expect(edge.clusterStatus().connected).toBe(false);
  });
});
