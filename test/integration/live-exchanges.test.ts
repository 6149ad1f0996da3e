/**
 * Exchanges added and removed live, end to end (issue 15, item 1):
 * `POST /v1/admin/exchanges/:exchange` with the exchange's config section
 * and `DELETE` of it, on a real server with storage on. A Binance-protocol
 * venue on loopback feeds `binance`; the exchange added live is the
 * simulated one (the runtime starts its local venue as it does at start).
 * Under a 5,000 trades/s load on binance, a subscriber of an untouched
 * binance symbol must see every trade with no seq gap while the other
 * exchange comes and goes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTickwire, type TickwireRuntime } from '../../src/api/tickwire.ts';
import { parseConfig } from '../../src/config/load.ts';
import { hashToken } from '../../src/server/auth.ts';
import { createServer } from '../../src/server/server.ts';
import { SimulatedExchange } from '../../src/sim/simulated-exchange.ts';
import { closeGateway, gateway, subscriber as subscribe, type Msg } from '../support/live-gateway.ts';
import { until } from '../support/until.ts';

const ADMIN = 'admin-token-for-live-exchanges-test-0123456789';
const READER = 'reader-token-for-live-exchanges-test-0123456789';

afterEach(closeGateway);

/** binance (SIMA, SIMB at `rate` trades/s each) behind a token-protected server, storage on; `config` is the config it started from. */
async function setup(rate: number) {
  const venue = (gateway.venue = new SimulatedExchange({ symbols: ['SIMA', 'SIMB'], rate, seed: 21 }));
  const { url } = await venue.start();
  const storage = { path: path.join(mkdtempSync(path.join(tmpdir(), 'tickwire-live-ex-')), 'bars'), flushMs: 50 };
  const config = {
    timeframes: ['1s', '1m'],
    storage,
    exchanges: { binance: { url, symbols: ['SIMA', 'SIMB'] } } as Record<string, unknown>,
    auth: {
      tokens: [
        { name: 'ops', sha256: hashToken(ADMIN), scopes: ['admin'] },
        { name: 'reader', sha256: hashToken(READER) },
      ],
    },
  };
  const tickwire = (gateway.tickwire = createTickwire(config, { statusMs: 200, tickMs: 50 }));
  await tickwire.start();
  const server = (gateway.server = createServer(tickwire, { host: '127.0.0.1', port: 0 }));
  const { port } = await server.listen();
  await until(() => venue.server.subscriptions().some((s) => s.includes('sima@trade')), 20_000, 'the worker to subscribe');
  return { tw: tickwire, config, base: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/v1/stream` };
}

function subscriber(url: string, channels: string[]): Promise<Msg[]> {
  return subscribe(url, channels, READER);
}

function call(base: string, method: 'POST' | 'DELETE' | 'GET', route: string, body?: unknown, token: string | null = ADMIN): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return fetch(`${base}${route}`, { method, headers, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
}

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as Msg).error;
}

describe('an exchange added and removed live', () => {
  it('streams the new exchange, then closes its channels and keeps its candles; the untouched subscriber sees no gap', async () => {
    const { tw, base, wsUrl } = await setup(2_500); // 5,000 trades/s over SIMA and SIMB
    const untouched = await subscriber(wsUrl, ['trades:binance:SIMA']);
    const system = await subscriber(wsUrl, ['system']);
    const trades = () => untouched.filter((m) => m.type === 'trade');
    await until(() => trades().length > 500, 30_000, 'load on the untouched symbol');

    const added = await call(base, 'POST', '/v1/admin/exchanges/simulated', { symbols: ['SIMX', 'SIMY'], rate: 200, seed: 4 });
    expect(added.status).toBe(200);
    expect((await added.json()) as Msg).toEqual({ applied: [expect.objectContaining({ action: 'exchange_added', exchange: 'simulated', symbol: null })] });
    await until(() => tw.status().exchanges['simulated']?.state === 'connected', 30_000, 'the added exchange to connect');
    const fresh = await subscriber(wsUrl, ['trades:simulated:SIMX', 'bars:simulated:SIMX:1s']);
    expect(fresh[0]).toMatchObject({ type: 'subscribed' });
    await until(() => fresh.filter((m) => m.type === 'trade').length > 50 && fresh.some((m) => m.type === 'bar' && m.closed === true), 30_000, 'trades and a closed bar of the added exchange');
    const symbols = (await (await call(base, 'GET', '/v1/symbols', undefined, READER)).json()) as Msg;
    expect(Object.keys(symbols.exchanges.simulated)).toEqual(['SIMX', 'SIMY']);
    const metricsWith = await (await call(base, 'GET', '/metrics', undefined, READER)).text();
    expect(metricsWith).toMatch(/tickwire_trades_total\{exchange="simulated"\} [1-9]/);
    await until(() => tw.bars('simulated', 'SIMX', '1s', { closed: true }).length >= 2, 20_000, 'closed SIMX bars');

    const before = trades().length;
    const removed = await call(base, 'DELETE', '/v1/admin/exchanges/simulated');
    expect(removed.status).toBe(200);
    expect((await removed.json()) as Msg).toEqual({ applied: [expect.objectContaining({ action: 'exchange_removed', exchange: 'simulated', symbol: null })] });
    await until(() => fresh.filter((m) => m.type === 'closed').length === 2, 10_000, 'a closed notice per subscribed channel');
    expect(fresh.filter((m) => m.type === 'closed')).toEqual([
      { type: 'closed', channel: 'trades:simulated:SIMX', reason: 'removed' },
      { type: 'closed', channel: 'bars:simulated:SIMX:1s', reason: 'removed' },
    ]);
    const lengthAfterClose = fresh.length;
    expect(tw.status().exchanges).not.toHaveProperty('simulated');
    expect(tw.symbols()).not.toHaveProperty('simulated');
    await until(() => trades().length > before + 500, 30_000, 'more load after the removal');
    expect(fresh).toHaveLength(lengthAfterClose); // nothing after `closed`

    // The untouched subscriber: every seq, every trade id, no gap notice, still connected.
    const got = trades();
    expect(untouched.filter((m) => m.type === 'gap' || m.type === 'closed')).toEqual([]);
    expect(got.map((m) => m.seq)).toEqual(got.map((_, i) => got[0].seq + i));
    expect(got.map((m) => m.tradeId)).toEqual(got.map((_, i) => got[0].tradeId + i));

    // Logged on the system room; the removed exchange's candles still served; its channels refused.
    const changes = system.filter((m) => m.type === 'system' && m.source === 'config').map((m) => [m.action, m.exchange]);
    expect(changes).toEqual([['exchange_added', 'simulated'], ['exchange_removed', 'simulated']]);
    const candles = await call(base, 'GET', '/v1/candles/simulated/SIMX/1s?closed=true', undefined, READER);
    expect(candles.status).toBe(200);
    expect(((await candles.json()) as Msg).count).toBeGreaterThanOrEqual(2);
    const again = await subscriber(wsUrl, ['trades:simulated:SIMX']);
    expect(again.find((m) => m.type === 'error')).toMatchObject({ code: 'EXCHANGE_NOT_FOUND' });
    const metricsWithout = await (await call(base, 'GET', '/metrics', undefined, READER)).text();
    expect(metricsWithout).not.toContain('exchange="simulated"');
  }, 120_000);
});

describe('exchange admin routes refuse what they must', () => {
  it('needs the admin scope and refuses a bad section, a duplicate, an unknown adapter or exchange, changing nothing', async () => {
    const { tw, base } = await setup(20);
    const noScope = await call(base, 'POST', '/v1/admin/exchanges/simulated', { symbols: ['SIMX'] }, READER);
    expect(noScope.status).toBe(403);
    expect((await errorOf(noScope)).code).toBe('FORBIDDEN');
    const anonymous = await call(base, 'DELETE', '/v1/admin/exchanges/binance', undefined, null);
    expect(anonymous.status).toBe(401);

    const badKey = await call(base, 'POST', '/v1/admin/exchanges/simulated', { symbols: ['SIMX', 'NOT A SYMBOL'], channels: ['trades'], colour: 'red' });
    expect(badKey.status).toBe(400);
    const bad = await errorOf(badKey);
    expect(bad.code).toBe('INVALID_CONFIG');
    expect(bad.message).toContain('exchanges.simulated.symbols[1]');
    expect(bad.message).toContain('exchanges.simulated.colour');
    const notJson = await call(base, 'POST', '/v1/admin/exchanges/simulated', '{symbols:');
    expect(notJson.status).toBe(400);
    expect((await errorOf(notJson)).code).toBe('INVALID_CONFIG');

    const duplicate = await call(base, 'POST', '/v1/admin/exchanges/binance', { symbols: ['SIMA'] });
    expect(duplicate.status).toBe(409);
    expect(await errorOf(duplicate)).toMatchObject({ code: 'CHANGE_REFUSED', message: expect.stringContaining('fed already') });
    const noAdapter = await call(base, 'POST', '/v1/admin/exchanges/deribit', { symbols: ['BTC-PERPETUAL'] });
    expect(noAdapter.status).toBe(409);
    expect(await errorOf(noAdapter)).toMatchObject({ code: 'CHANGE_REFUSED', message: expect.stringContaining('no adapter named "deribit"') });
    const unknown = await call(base, 'DELETE', '/v1/admin/exchanges/okx');
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe('EXCHANGE_NOT_FOUND');
    const last = await call(base, 'DELETE', '/v1/admin/exchanges/binance');
    expect(last.status).toBe(409);
    expect((await errorOf(last)).message).toContain('last exchange');
    expect(Object.keys(tw.status().exchanges)).toEqual(['binance']); // nothing changed

    // Removed in this process: its series stay for candles, so the name is refused until a restart.
    expect((await call(base, 'POST', '/v1/admin/exchanges/simulated', { symbols: ['SIMX'], rate: 5 })).status).toBe(200);
    expect((await call(base, 'DELETE', '/v1/admin/exchanges/simulated')).status).toBe(200);
    const readded = await call(base, 'POST', '/v1/admin/exchanges/simulated', { symbols: ['SIMX'], rate: 5 });
    expect(readded.status).toBe(409);
    expect((await errorOf(readded)).message).toContain('removed since start');
    const metrics = await (await call(base, 'GET', '/metrics', undefined, READER)).text();
    expect(metrics).toContain('tickwire_live_changes_total{action="exchange_added"} 1');
    expect(metrics).toContain('tickwire_live_changes_total{action="exchange_removed"} 1');
    expect(metrics).toContain('tickwire_live_changes_total{action="refused"} 4'); // duplicate, no adapter, last exchange, re-add
  }, 60_000);
});

describe('a reload after exchanges changed over HTTP', () => {
  it('the file wins: an exchange added over HTTP that it does not name goes; one it names anew comes', async () => {
    const { tw, config, base } = await setup(20);
    const runtime = tw as TickwireRuntime;
    expect((await call(base, 'POST', '/v1/admin/exchanges/simulated', { symbols: ['SIMX'], rate: 5 })).status).toBe(200);
    await until(() => tw.status().exchanges['simulated']?.state === 'connected', 30_000, 'the added exchange to connect');

    const removed = runtime.applyConfig(parseConfig(config));
    expect(removed.map((c) => [c.action, c.exchange])).toEqual([['exchange_removed', 'simulated']]);
    expect(Object.keys(tw.status().exchanges)).toEqual(['binance']);

    // Named by the file again, but removed since start: refused whole, nothing changed.
    const withSim = { ...config, exchanges: { ...config.exchanges, simulated: { symbols: ['SIMX'], rate: 5 } } };
    expect(() => runtime.applyConfig(parseConfig(withSim))).toThrow(/removed since start/);
    expect(Object.keys(tw.status().exchanges)).toEqual(['binance']);
  }, 60_000);

  it('adds an exchange the file names anew, started as at start-up', async () => {
    const { tw, config } = await setup(20);
    const withSim = { ...config, exchanges: { ...config.exchanges, simulated: { symbols: ['SIMX'], rate: 20 } } };
    const added = (tw as TickwireRuntime).applyConfig(parseConfig(withSim));
    expect(added.map((c) => [c.action, c.exchange])).toEqual([['exchange_added', 'simulated']]);
    await until(() => tw.bars('simulated', 'SIMX', '1s', { closed: true }).length >= 1, 30_000, 'closed bars of the exchange the reload added');
  }, 60_000);
});
