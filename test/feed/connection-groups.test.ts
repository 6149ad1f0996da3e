/**
 * ConnectionGroups' live changes against a local Binance-protocol server:
 * where the venue subscribes live, an added symbol joins the open
 * connection and a removed one is unsubscribed on it; where it does not
 * (an adapter without addSymbols/removeSymbols), an added symbol gets a
 * connection of its own, closed again when its last symbol goes, and a
 * removal leaves the stream to be dropped. The worker's state ignores a
 * connection closed by a removal.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ExchangeAdapter } from '../../src/exchanges/adapter.ts';
import { BinanceAdapter } from '../../src/exchanges/binance.ts';
import { adapterFor, type AdapterEntry } from '../../src/exchanges/registry.ts';
import { ConnectionGroups } from '../../src/feed/connection-groups.ts';
import type { FeedWorkerData } from '../../src/feed/protocol.ts';
import type { TickHandler } from '../../src/feed/tick-handler.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import { startFakeBinance } from '../support/fake-binance.ts';
import { until } from '../support/until.ts';

let fake: BinanceProtocolServer | undefined;
let groups: ConnectionGroups | undefined;

afterEach(async () => {
  groups?.stop();
  await fake?.stop();
  groups = undefined;
  fake = undefined;
});

/** Receives nothing of interest here: the routes are what is tested. */
const handler = { trade() {}, quote() {}, beginFrame() {}, endFrame() {} } as unknown as TickHandler;

function workerData(url: string, symbols: string[]): FeedWorkerData {
  const settings = { ...parseConfig({ exchanges: { binance: { symbols, channels: ['trades'] } } }).exchanges['binance']!, symbols };
  return {
    exchange: 'binance', settings, slots: 8, retired: [], url, timeframes: ['1m'], bars: { graceMs: 250, fillEmpty: true, lateToleranceMs: 0 } as FeedWorkerData['bars'],
    buffers: {} as FeedWorkerData['buffers'], connection: { backoffBaseMs: 20, backoffMaxMs: 100 }, tickMs: 100, statusMs: 1000, wakeWindowMs: 0, restored: false,
  };
}

/** The connection events the groups reported, in order. */
let events: string[] = [];

async function setup(entry: AdapterEntry, symbols: string[]) {
  fake = await startFakeBinance();
  const data = workerData(fake.url, symbols);
  events = [];
  groups = new ConnectionGroups(data, entry, entry.capabilities, handler, {
    connected: (slot, members) => events.push(`connected ${slot} [${members.join(',')}]`),
    disconnected: (slot) => events.push(`disconnected ${slot}`),
    reconnected: (slot) => events.push(`reconnected ${slot}`),
    stateChanged() {},
    error() {},
    log() {},
  });
  groups.start();
  const f = fake;
  const g = groups;
  await until(() => f.subscriptions().length === 1 && g.state() === 'connected', 10_000, 'the first connection');
  return { fake: f, groups: g, data };
}

const streams = (f: BinanceProtocolServer) => f.subscriptions().map((s) => [...s].sort());

describe('connection groups: live changes', () => {
  it('reports a connection\'s first connect once (a cold start\'s blind time ends there), then outages as disconnect and reconnect', async () => {
    const { fake, groups } = await setup(adapterFor('binance')!, ['BTCUSDT', 'ETHUSDT']);
    expect(events).toEqual(['connected 0 [0,1]']);
    fake.dropConnections();
    await until(() => events.length === 3 && groups.state() === 'connected', 10_000, 'the reconnect');
    expect(events).toEqual(['connected 0 [0,1]', 'disconnected 0', 'reconnected 0']);
  });

  it('subscribes and unsubscribes on the open connection where the venue allows it', async () => {
    const { fake, groups, data } = await setup(adapterFor('binance')!, ['BTCUSDT', 'ETHUSDT']);
    data.settings.symbols.push('SOLUSDT');
    expect(groups.add(2, 'SOLUSDT')).toBe('live');
    await until(() => streams(fake)[0]?.includes('solusdt@trade') === true, 10_000, 'SOLUSDT subscribed');
    expect(streams(fake)).toEqual([['btcusdt@trade', 'ethusdt@trade', 'solusdt@trade']]);
    expect(groups.slotOf(2)).toBe(0);
    expect(groups.remove(1, 'ETHUSDT')).toBe('live');
    await until(() => streams(fake)[0]?.includes('ethusdt@trade') === false, 10_000, 'ETHUSDT unsubscribed');
    expect(streams(fake)).toEqual([['btcusdt@trade', 'solusdt@trade']]);
    expect(groups.slotOf(1)).toBe(-1);
  });

  it('opens a connection for a symbol where the venue cannot subscribe live, and closes it with its last symbol', async () => {
    const binance = adapterFor('binance')!;
    const noLiveChanges: AdapterEntry = {
      ...binance,
      create: (s, ch, c) => Object.assign(binance.create(s, ch, c) as BinanceAdapter, { addSymbols: undefined, removeSymbols: undefined }) as ExchangeAdapter,
    };
    const { fake, groups, data } = await setup(noLiveChanges, ['BTCUSDT', 'ETHUSDT']);
    data.settings.symbols.push('SOLUSDT');
    expect(groups.add(2, 'SOLUSDT')).toBe('connection');
    await until(() => streams(fake).some((s) => s.includes('solusdt@trade')) && groups.state() === 'connected', 10_000, 'the second connection');
    expect(streams(fake).sort()).toEqual([['btcusdt@trade', 'ethusdt@trade'], ['solusdt@trade']]);
    expect(groups.remove(1, 'ETHUSDT')).toBe('dropped'); // still subscribed: its frames are dropped by the handler
    expect(groups.remove(2, 'SOLUSDT')).toBe('connection');
    await until(() => fake.subscriptions().length === 1, 10_000, 'the second connection closed');
    expect(groups.state()).toBe('connected');
  });
});
