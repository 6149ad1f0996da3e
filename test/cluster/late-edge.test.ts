/**
 * Scale-out, item 3: closed bars (and amendments, by revision) live in
 * JetStream, so an edge started from nothing rebuilds candles before it
 * listens, and `GET /v1/candles` is identical on every edge. Real nats-server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterConnection } from '../../src/cluster/nats.ts';
import type { TickwireConfig } from '../../src/config/types.ts';
import type { Bar } from '../../src/model/records.ts';
import { startNats, stopAll } from '../support/nats.ts';
import { until } from '../support/until.ts';
import { clusterConfig, ManualSource, startEdge, startLeadingFeed, trade, type Edge } from './support.ts';

const MINUTE = 60_000;
const CLOSED = 60;

function bar(openTime: number, i: number, closed: boolean, revision = 0): Bar {
  const open = 60_000 + i;
  return {
    openTime, closeTime: openTime + MINUTE - 1, open, high: open + 5 + revision, low: open - 3, close: open + 1,
    volume: 2 + i / 10 + revision, quoteVolume: (2 + i / 10 + revision) * open, buyVolume: 1 + revision, sellVolume: 1 + i / 10,
    trades: 10 + i + revision, firstTradeId: null, lastTradeId: null, vwap: open, spread: i % 2 === 0 ? null : 0.5, closed, revision,
  };
}

async function candles(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/candles/simulated/SIM-BTC/1m?limit=1000`);
  expect(res.status).toBe(200);
  return res.text();
}

describe('cluster: an edge started late rebuilds candles from JetStream', () => {
  let config: TickwireConfig;
  let feed: ClusterConnection;
  let source: ManualSource;
  const edges: Edge[] = [];

  beforeAll(async () => {
    const nats = await startNats();
    config = clusterConfig([nats.url], 'late');
    ({ feed, source } = await startLeadingFeed(config));
  }, 60_000);

  afterAll(async () => {
    for (const e of edges) await e.stop().catch(() => undefined);
    await feed?.close();
    await stopAll();
  });

  it('serves the same candles (closed, amended by revision, forming) on an edge that started after them', async () => {
    const first = await startEdge(config);
    edges.push(first);
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - CLOSED * MINUTE;
    const u = (b: Bar) => ({ exchange: 'simulated', symbol: 'SIM-BTC', timeframe: '1m' as const, bar: b });
    for (let i = 0; i < CLOSED; i++) {
      source.emit('bar', u(bar(base + i * MINUTE, i, false)));
      source.emit('trade', trade(i + 1));
      source.emit('bar', u(bar(base + i * MINUTE, i, true)));
    }
    source.emit('bar', u(bar(base + 10 * MINUTE, 10, true, 1))); // a late trade amended bar 10
    source.emit('bar', u(bar(base + CLOSED * MINUTE, CLOSED, false))); // the forming bar
    await feed.nc.flush();
    await until(async () => (JSON.parse(await candles(first.port)) as { count: number }).count === CLOSED + 1, 30_000, 'candles on the first edge');

    const late = await startEdge(config); // from nothing: no storage, nothing in memory
    edges.push(late);
    const a = await candles(first.port);
    const b = await candles(late.port);
    expect(b).toBe(a);
    const body = JSON.parse(b) as { count: number; candles: { openTime: number; revision: number; closed: boolean; volume: number }[] };
    expect(body.count).toBe(CLOSED + 1);
    expect(body.candles[10]).toMatchObject({ openTime: base + 10 * MINUTE, revision: 1, volume: 2 + 1 + 1 });
    expect(body.candles.at(-1)).toMatchObject({ openTime: base + CLOSED * MINUTE, closed: false });

    // And both keep following the live stream alike.
    source.emit('bar', u(bar(base + CLOSED * MINUTE, CLOSED, true)));
    await feed.nc.flush();
    await until(async () => (await candles(late.port)).includes(`"closed":true,"revision":0}]`), 10_000, 'the close on the late edge');
    await until(async () => (await candles(first.port)) === (await candles(late.port)), 10_000, 'the same candles after the close');
  }, 120_000);
});
