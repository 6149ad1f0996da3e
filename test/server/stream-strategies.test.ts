/**
 * Strategy channels over the real server: `predictions:`, `signals:` and
 * `fills:<strategy>` with seq, snapshot (the last N messages themselves),
 * resume and auth like every channel; strategy states in the `system` room;
 * `GET /v1/strategies` and `/v1/strategies/:name`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AuthConfig } from '../../src/config/types.ts';
import type { FillEvent, PredictionEvent, SignalEvent, StrategyDetail } from '../../src/model/strategy.ts';
import { hashToken } from '../../src/server/auth.ts';
import { FakeTickwire } from '../support/fake-tickwire.ts';
import { Client, startServer, type Msg, type Running } from './helpers.ts';

const BAR = 1_700_000_040_000;
const SERIES = { exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m' as const };

function detail(name: string): StrategyDetail {
  return {
    name, ...SERIES, state: 'running', predictions: 3, signals: 3, fills: 1, timeouts: 0, errors: 0, skipped: 0, lastError: null,
    latencyUs: { p50: 800, p99: 1200 }, executor: 'paper',
    account: { cash: 9000, position: 0.01, avgPrice: 100000, equity: 10001, realizedPnl: 0, unrealizedPnl: 1, maxDrawdown: 0.01, drawdown: 0, rejected: 0 },
    signalsRecent: [],
  };
}

function prediction(strategy: string, i: number): PredictionEvent {
  return { strategy, ...SERIES, barOpenTime: BAR + i * 60_000, revision: 0, value: 0.5 + i, confidence: 0.9, extra: { z: i }, latencyUs: 700, ts: BAR + (i + 1) * 60_000 };
}

function signal(strategy: string, i: number): SignalEvent {
  return {
    strategy, ...SERIES, id: `${strategy}:${BAR + i * 60_000}:0`, barOpenTime: BAR + i * 60_000, revision: 0, action: i % 2 === 0 ? 'buy' : 'sell',
    size: null, prediction: { value: 0.5 + i, confidence: 0.9 }, reason: `bar ${i}`, ts: BAR + (i + 1) * 60_000,
  };
}

const FILL: FillEvent = {
  strategy: 'sma', ...SERIES, signalId: `sma:${BAR}:0`, side: 'buy', price: 100_010, size: 0.01, fee: 1, position: 0.01, cash: 8_999, equity: 10_000, ts: BAR + 60_500,
};

let r: Running;
let clients: Client[] = [];

afterEach(async () => {
  for (const c of clients) c.ws.terminate();
  clients = [];
  await r.server.close();
});

async function start(auth?: AuthConfig): Promise<FakeTickwire> {
  const tw = new FakeTickwire();
  tw.strategyDetails.push(detail('sma'), detail('logit'));
  r = await startServer(auth === undefined ? {} : { auth }, tw);
  return tw;
}

async function connect(headers: Record<string, string> = {}): Promise<Client> {
  const c = await Client.connect(r.wsUrl, undefined, { headers });
  clients.push(c);
  return c;
}

describe('strategy channels', () => {
  it('publishes predictions, signals and fills with per-channel seqs in the pinned shapes', async () => {
    const tw = await start();
    const c = await connect();
    expect(await c.subscribe(['predictions:sma', 'signals:sma', 'fills:sma'])).toMatchObject({ type: 'subscribed', channels: ['predictions:sma', 'signals:sma', 'fills:sma'] });
    tw.emitStrategy('prediction', prediction('sma', 0));
    tw.emitStrategy('signal', signal('sma', 0));
    tw.emitStrategy('fill', FILL);
    tw.emitStrategy('signal', signal('logit', 0)); // another strategy: not subscribed
    tw.emitStrategy('prediction', prediction('sma', 1));
    const got = await c.sync();
    expect(got).toEqual([
      {
        type: 'prediction', channel: 'predictions:sma', seq: 1, strategy: 'sma', exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m',
        barOpenTime: BAR, revision: 0, value: 0.5, confidence: 0.9, extra: { z: 0 }, latencyUs: 700, ts: BAR + 60_000,
      },
      {
        type: 'signal', channel: 'signals:sma', seq: 1, id: `sma:${BAR}:0`, strategy: 'sma', exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m',
        barOpenTime: BAR, revision: 0, action: 'buy', size: null, prediction: { value: 0.5, confidence: 0.9 }, reason: 'bar 0', ts: BAR + 60_000,
      },
      {
        type: 'fill', channel: 'fills:sma', seq: 1, strategy: 'sma', exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m', signalId: `sma:${BAR}:0`,
        side: 'buy', price: 100_010, size: 0.01, fee: 1, position: 0.01, cash: 8_999, equity: 10_000, ts: BAR + 60_500,
      },
      expect.objectContaining({ channel: 'predictions:sma', seq: 2, barOpenTime: BAR + 60_000 }),
    ]);
  });

  it('answers a snapshot with the last N messages themselves, then continues live without a gap', async () => {
    const tw = await start();
    for (let i = 0; i < 5; i++) tw.emitStrategy('signal', signal('sma', i)); // nobody subscribed: recorded all the same
    const c = await connect();
    await c.subscribe(['signals:sma'], 3);
    tw.emitStrategy('signal', signal('sma', 5));
    const got = await c.sync();
    expect(got.map((m: Msg) => [m.seq, m.reason])).toEqual([[3, 'bar 2'], [4, 'bar 3'], [5, 'bar 4'], [6, 'bar 5']]);
  });

  it('resumes with since from the channel history, and a wildcard over strategies is refused', async () => {
    const tw = await start();
    const a = await connect();
    const ack = await a.subscribe(['signals:logit']);
    tw.emitStrategy('signal', signal('logit', 0));
    await a.sync();
    a.ws.terminate();
    tw.emitStrategy('signal', signal('logit', 1));
    tw.emitStrategy('signal', signal('logit', 2));
    const b = await connect();
    await b.subscribe(['signals:logit'], undefined, { since: { 'signals:logit': 1 }, epoch: ack.epoch });
    expect((await b.sync()).map((m: Msg) => [m.seq, m.reason])).toEqual([[2, 'bar 1'], [3, 'bar 2']]);
    expect(await b.subscribe(['signals:*'])).toMatchObject({ type: 'error', code: 'UNKNOWN_CHANNEL', message: expect.stringMatching(/no wildcards/) });
    expect(await b.subscribe(['signals:nope'])).toMatchObject({ type: 'error', code: 'UNKNOWN_CHANNEL', message: expect.stringMatching(/no strategy named "nope"/) });
  });

  it('puts strategy states in the system room: current ones on subscribe, then each change', async () => {
    const tw = await start();
    const c = await connect();
    await c.subscribe(['system']);
    await c.sync(); // the exchanges' states
    tw.emitStrategy('strategy', { ...detail('sma'), state: 'running', errors: 1, lastError: 'predict: boom' });
    tw.emitStrategy('strategy', { ...detail('sma'), state: 'running', errors: 1, lastError: 'predict: boom' }); // unchanged: nothing
    tw.emitStrategy('strategy', { ...detail('sma'), state: 'paused', errors: 5, lastError: 'paused after 5 failures in a row; last: predict: boom' });
    const got = await c.sync();
    expect(got).toEqual([
      { type: 'system', channel: 'system', seq: 1, source: 'strategy', strategy: 'sma', state: 'running', errors: 1, timeouts: 0, lastError: 'predict: boom', ts: expect.any(Number) },
      expect.objectContaining({ seq: 2, source: 'strategy', strategy: 'sma', state: 'paused', errors: 5 }),
    ]);
    const later = await connect();
    await later.subscribe(['system']);
    expect((await later.sync()).filter((m: Msg) => m.source === 'strategy')).toEqual([expect.objectContaining({ strategy: 'sma', state: 'paused', seq: 2 })]);
  });

  it('refuses strategy channels on a FlatBuffers connection (JSON only)', async () => {
    await start();
    const c = await Client.connect(r.wsUrl + '?format=fbs');
    clients.push(c);
    expect(await c.subscribe(['signals:sma'])).toMatchObject({ type: 'error', code: 'INVALID_PARAMETER', message: expect.stringMatching(/JSON only/) });
  });
});

describe('strategy channels and routes under auth', () => {
  const ALICE = 'tw_alice-0123456789abcdefghijklmnopqrstuvwxyzAB';
  const BOB = 'tw_bob-0123456789abcdefghijklmnopqrstuvwxyzABCD';
  const AUTH: AuthConfig = {
    tokens: [
      { name: 'alice', sha256: hashToken(ALICE), channels: ['*'] },
      { name: 'bob', sha256: hashToken(BOB), channels: ['signals:sma', 'predictions:*'] },
    ],
    jwt: undefined,
    allowOpen: false,
    httpRate: { rate: 1000, burst: 1000 },
  };
  const get = (path: string, token: string) => fetch(r.base + path, { headers: { authorization: `Bearer ${token}` } });

  it('lets a token read only the strategy channels its patterns allow', async () => {
    await start(AUTH);
    const bob = await connect({ authorization: `Bearer ${BOB}` });
    expect(await bob.subscribe(['signals:sma', 'predictions:logit'])).toMatchObject({ type: 'subscribed' });
    expect(await bob.subscribe(['signals:logit'])).toMatchObject({ type: 'error', code: 'UNAUTHORIZED' });
    expect(await bob.subscribe(['fills:sma'])).toMatchObject({ type: 'error', code: 'UNAUTHORIZED' });
  });

  it('GET /v1/strategies lists what the caller may read; /v1/strategies/:name has the book', async () => {
    await start(AUTH);
    const all = (await (await get('/v1/strategies', ALICE)).json()) as Msg;
    expect(all.strategies.map((s: Msg) => s.name)).toEqual(['sma', 'logit']);
    expect(all.strategies[0]).toEqual({
      name: 'sma', exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m', state: 'running', predictions: 3, signals: 3, fills: 1,
      timeouts: 0, errors: 0, skipped: 0, lastError: null, latencyUs: { p50: 800, p99: 1200 },
    });
    expect(((await (await get('/v1/strategies', BOB)).json()) as Msg).strategies.map((s: Msg) => s.name)).toEqual(['sma']);
    const one = await get('/v1/strategies/sma', BOB);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ name: 'sma', executor: 'paper', account: { cash: 9000, position: 0.01 }, signalsRecent: [] });
    const forbidden = await get('/v1/strategies/logit', BOB);
    expect(forbidden.status).toBe(401);
    expect(((await forbidden.json()) as Msg).error.code).toBe('UNAUTHORIZED');
    const missing = await get('/v1/strategies/nope', ALICE);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as Msg).error.code).toBe('NOT_FOUND');
  });
});
