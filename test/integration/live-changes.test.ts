/**
 * Live changes end to end (issue 15, item 1): a venue (a local simulated
 * Binance-protocol exchange) listing more symbols than the config names, a
 * real feed worker, the uWebSockets.js server and WebSocket subscribers.
 * Under a 5,000 trades/s load, a symbol is added over the admin route and
 * another removed, while a subscriber of an untouched symbol must see every
 * trade with no seq gap, no `gap` notice and no missing trade id.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTickwire, type TickwireRuntime } from '../../src/api/tickwire.ts';
import { hashToken } from '../../src/server/auth.ts';
import { createServer } from '../../src/server/server.ts';
import { SimulatedExchange } from '../../src/sim/simulated-exchange.ts';
import { closeGateway, gateway, subscriber as subscribe, type Msg } from '../support/live-gateway.ts';
import { until } from '../support/until.ts';

const ADMIN = 'admin-token-for-live-changes-test-0123456789';
const READER = 'reader-token-for-live-changes-test-0123456789';
/** Per symbol: two symbols configured make the 5,000 trades/s load. */
const RATE = 2_500;

afterEach(closeGateway);

async function setup() {
  const venue = (gateway.venue = new SimulatedExchange({ symbols: ['SIMA', 'SIMB', 'SIMC'], rate: RATE, seed: 15 }));
  const { url } = await venue.start();
  const tickwire = (gateway.tickwire = createTickwire(
    {
      timeframes: ['1s', '1m'],
      exchanges: { binance: { url, symbols: ['SIMA', 'SIMB'] } },
      auth: {
        tokens: [
          { name: 'ops', sha256: hashToken(ADMIN), scopes: ['admin'] },
          { name: 'reader', sha256: hashToken(READER) },
        ],
      },
    },
    { statusMs: 200, tickMs: 50 },
  ));
  await tickwire.start();
  const server = (gateway.server = createServer(tickwire, { host: '127.0.0.1', port: 0 }));
  const { port } = await server.listen();
  const v = venue;
  await until(() => v.server.subscriptions().some((s) => s.includes('simb@trade')), 20_000, 'the worker to subscribe');
  return { venue: v, tw: tickwire, base: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/v1/stream` };
}

function subscriber(url: string, channels: string[], token = READER): Promise<Msg[]> {
  return subscribe(url, channels, token);
}

function admin(base: string, method: 'POST' | 'DELETE', path: string, token = ADMIN): Promise<Response> {
  return fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
}

describe('live changes under load', () => {
  it('adds a symbol on the live connection and removes another; the untouched symbol sees no gap', async () => {
    const { venue, tw, base, wsUrl } = await setup();
    const untouched = await subscriber(wsUrl, ['trades:binance:SIMA', 'bars:binance:SIMA:1s']);
    const removed = await subscriber(wsUrl, ['trades:binance:SIMB']);
    const system = await subscriber(wsUrl, ['system']);
    const trades = () => untouched.filter((m) => m.type === 'trade');
    await until(() => trades().length > 2_000, 30_000, 'load on the untouched symbol');
    const connectionsBefore = venue.server.connectionCount;

    const added = await admin(base, 'POST', '/v1/admin/exchanges/binance/symbols/SIMC');
    expect(added.status).toBe(200);
    expect((await added.json()) as Msg).toEqual({ applied: [expect.objectContaining({ action: 'symbol_added', exchange: 'binance', symbol: 'SIMC' })] });
    // Subscribed live: on the same connection, no new one.
    await until(() => venue.server.subscriptions().some((s) => s.includes('simc@trade') && s.includes('sima@trade')), 10_000, 'SIMC subscribed');
    expect(venue.server.connectionCount).toBe(connectionsBefore);
    const fresh = await subscriber(wsUrl, ['trades:binance:SIMC']);
    await until(() => fresh.filter((m) => m.type === 'trade').length > 200, 20_000, 'SIMC trades');
    expect(tw.symbols()['binance']).toHaveProperty('SIMC');

    const before = trades().length;
    const gone = await admin(base, 'DELETE', '/v1/admin/exchanges/binance/symbols/SIMB');
    expect(gone.status).toBe(200);
    await until(() => removed.some((m) => m.type === 'closed'), 10_000, 'the closed notice');
    expect(removed.at(-1)).toEqual({ type: 'closed', channel: 'trades:binance:SIMB', reason: 'removed' });
    await until(() => !venue.server.subscriptions().some((s) => s.includes('simb@trade')), 10_000, 'SIMB unsubscribed upstream');
    await until(() => trades().length > before + 2_000, 30_000, 'more load after the removal');
    const lengthAfterClose = removed.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(removed).toHaveLength(lengthAfterClose); // nothing after `closed`

    // The untouched symbol: every seq, no gap notice, every trade id (the venue numbers them one by one).
    const got = trades();
    expect(untouched.filter((m) => m.type === 'gap')).toEqual([]);
    expect(got.map((m) => m.seq)).toEqual(got.map((_, i) => got[0].seq + i));
    expect(got.map((m) => m.tradeId)).toEqual(got.map((_, i) => got[0].tradeId + i));
    const bars = untouched.filter((m) => m.type === 'bar');
    expect(bars.map((m) => m.seq)).toEqual(bars.map((_, i) => bars[0].seq + i));
    expect(venue.server.connectionCount).toBe(connectionsBefore);

    // Each change on the system room; the removed symbol's history stays queryable, its channels closed.
    const changes = system.filter((m) => m.type === 'system' && m.source === 'config').map((m) => [m.action, m.symbol]);
    expect(changes).toEqual([['symbol_added', 'SIMC'], ['symbol_removed', 'SIMB']]);
    const history = await fetch(`${base}/v1/candles/binance/SIMB/1s?closed=true`, { headers: { authorization: `Bearer ${READER}` } });
    expect(history.status).toBe(200);
    expect(((await history.json()) as Msg).count).toBeGreaterThan(0);
    const again = await subscriber(wsUrl, ['trades:binance:SIMB']);
    expect(again.find((m) => m.type === 'error')).toMatchObject({ code: 'SYMBOL_NOT_FOUND' });
  }, 120_000);
});

describe('a symbol added live', () => {
  it('starts from its bars in storage, written by an earlier run that fed it', async () => {
    const venue = (gateway.venue = new SimulatedExchange({ symbols: ['SIMA', 'SIMC'], rate: 50, seed: 3 }));
    const { url } = await venue.start();
    const storage = { path: path.join(mkdtempSync(path.join(tmpdir(), 'tickwire-live-')), 'bars'), flushMs: 50 };
    const config = (symbols: string[]) => ({ timeframes: ['1s'], storage, exchanges: { binance: { url, symbols } } });
    const first = createTickwire(config(['SIMA', 'SIMC']), { statusMs: 200, tickMs: 50 });
    gateway.tickwire = first;
    await first.start();
    await until(() => first.bars('binance', 'SIMC', '1s', { closed: true }).length >= 3, 30_000, 'closed SIMC bars');
    await first.stop();
    const stored = first.bars('binance', 'SIMC', '1s', { closed: true }).map((b) => b.openTime);

    const second = createTickwire(config(['SIMA']), { statusMs: 200, tickMs: 50 });
    gateway.tickwire = second;
    await second.start();
    expect(() => second.bars('binance', 'SIMC', '1s')).toThrow(/not configured/);
    const change = second.addSymbol('binance', 'SIMC');
    expect(change).toMatchObject({ action: 'symbol_added', symbol: 'SIMC', restoredBars: stored.length });
    const restored = second.bars('binance', 'SIMC', '1s', { closed: true }).map((b) => b.openTime);
    expect(restored).toEqual(stored);
    // And it carries on from there with live bars.
    await until(() => second.bars('binance', 'SIMC', '1s', { closed: true }).length > stored.length + 1, 30_000, 'live SIMC bars after the restored ones');
  }, 90_000);
});

describe('live changes survive a worker restart', () => {
  it('a restarted worker feeds the added symbol and not the removed one, from the same slots', async () => {
    const venue = (gateway.venue = new SimulatedExchange({ symbols: ['SIMA', 'SIMB', 'SIMC'], rate: 100, seed: 5 }));
    const { url } = await venue.start();
    const tw = createTickwire({ timeframes: ['1s'], exchanges: { binance: { url, symbols: ['SIMA', 'SIMB'] } } }, {
      statusMs: 100,
      tickMs: 50,
      supervisor: { restartDelayMs: 20 },
    }) as TickwireRuntime;
    gateway.tickwire = tw;
    const seen = new Map<string, number>();
    tw.on('trade', (t) => seen.set(t.symbol, (seen.get(t.symbol) ?? 0) + 1));
    await tw.start();
    const v = venue;
    await until(() => v.server.subscriptions().some((s) => s.includes('simb@trade')), 20_000, 'the worker to subscribe');
    tw.addSymbol('binance', 'SIMC');
    tw.removeSymbol('binance', 'SIMB');
    await until(() => (seen.get('SIMC') ?? 0) > 20, 20_000, 'SIMC trades');

    tw.injectWorkerFault('binance', 'crash');
    await until(() => tw.status().exchanges['binance']!.restarts === 1, 20_000, 'the restart');
    await until(() => v.server.subscriptions().some((s) => s.includes('simc@trade')), 20_000, 'the new worker to subscribe');
    expect(v.server.subscriptions().flat().filter((s) => s.endsWith('@trade')).sort()).toEqual(['sima@trade', 'simc@trade']);
    const before = seen.get('SIMC')!;
    seen.delete('SIMB');
    await until(() => seen.get('SIMC')! > before + 20, 20_000, 'SIMC trades after the restart');
    expect(seen.get('SIMB')).toBeUndefined();
    expect(Object.keys(tw.symbols()['binance']!)).toEqual(['SIMA', 'SIMC']);
  }, 90_000);
});

describe('admin routes refuse what they must', () => {
  it('needs the admin scope, refuses invalid changes whole, names the reason', async () => {
    const { base, tw } = await setup();
    const noScope = await admin(base, 'POST', '/v1/admin/exchanges/binance/symbols/SIMC', READER);
    expect(noScope.status).toBe(403);
    expect(((await noScope.json()) as Msg).error.code).toBe('FORBIDDEN');
    const anonymous = await fetch(`${base}/v1/admin/exchanges/binance/symbols/SIMC`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(anonymous.status).toBe(401);

    const duplicate = await admin(base, 'POST', '/v1/admin/exchanges/binance/symbols/SIMA');
    expect(duplicate.status).toBe(409);
    expect(((await duplicate.json()) as Msg).error).toMatchObject({ code: 'CHANGE_REFUSED', message: expect.stringContaining('already fed') });
    const badName = await admin(base, 'POST', `/v1/admin/exchanges/binance/symbols/${encodeURIComponent('BAD SYMBOL')}`);
    expect(badName.status).toBe(400);
    const unknownExchange = await admin(base, 'POST', '/v1/admin/exchanges/nowhere/symbols/SIMC');
    expect(unknownExchange.status).toBe(404);
    const unknownSymbol = await admin(base, 'DELETE', '/v1/admin/exchanges/binance/symbols/SIMZ');
    expect(unknownSymbol.status).toBe(404);
    const reload = await admin(base, 'POST', '/v1/admin/reload');
    expect(reload.status).toBe(409); // not started from a file
    expect(Object.keys(tw.symbols()['binance']!)).toEqual(['SIMA', 'SIMB']); // nothing changed

    const first = await admin(base, 'DELETE', '/v1/admin/exchanges/binance/symbols/SIMA');
    expect(first.status).toBe(200);
    const last = await admin(base, 'DELETE', '/v1/admin/exchanges/binance/symbols/SIMB');
    expect(last.status).toBe(409);
    expect(((await last.json()) as Msg).error.message).toContain('last symbol');
    // Counted: the duplicate and the last symbol were refused (a bad name or an unknown one is not a change).
    const metrics = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${READER}` } })).text();
    expect(metrics).toContain('tickwire_live_changes_total{action="refused"} 2');
    expect(metrics).toContain('tickwire_live_changes_total{action="symbol_removed"} 1');
  }, 60_000);

  it('refuses the admin routes on an open server', async () => {
    const open = createTickwire({ exchanges: { simulated: { symbols: ['SIM-A'] } } });
    gateway.tickwire = open;
    const server = (gateway.server = createServer(open, { host: '127.0.0.1', port: 0 }));
    const { port } = await server.listen();
    const res = await fetch(`http://127.0.0.1:${port}/v1/admin/exchanges/simulated/symbols/SIM-B`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as Msg).error.message).toContain('no credentials configured');
    expect(Object.keys(open.symbols()['simulated']!)).toEqual(['SIM-A']);
  });
});
