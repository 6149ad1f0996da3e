/**
 * Portfolios and alerts on the server: GET /v1/portfolios[/:id] are private
 * (a credential always); PUT /v1/portfolios/:id/holdings needs the admin
 * scope, a JSON content type and a JSON body; `portfolio:<id>` is refused to
 * an anonymous connection; rule alerts reach the `alerts` room; GET
 * /v1/alerts answers the library's report.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuthConfig } from '../../src/config/types.ts';
import type { PortfolioEvent } from '../../src/model/events.ts';
import { hashToken } from '../../src/server/auth.ts';
import { fakeConfig, FakeTickwire } from '../support/fake-tickwire.ts';
import { Client, startServer, type Running } from './helpers.ts';

const ADMIN = 'tw_admin-0123456789abcdefghijklmnopqrstuvwxyz';
const READER = 'tw_reader-0123456789abcdefghijklmnopqrstuvwxyz';
const AUTH: AuthConfig = {
  tokens: [
    { name: 'admin', sha256: hashToken(ADMIN), channels: ['*'], scopes: ['admin'] },
    { name: 'reader', sha256: hashToken(READER), channels: ['*'] },
  ],
  jwt: undefined,
  allowOpen: false,
  httpRate: null,
};
const VALUE: PortfolioEvent = {
  id: 'main', quote: 'USD', value: 100, change: { abs: 0, pct: 0, since: 1 },
  holdings: [{ asset: 'USD', amount: 100, price: 1, value: 100, weight: 1, source: 'quote' }], stale: [], ts: 1,
};

type ErrorBody = { error: { code: string; message: string } };

let r: Running;
let tw: FakeTickwire;
let clients: Client[] = [];

afterEach(async () => {
  for (const c of clients) c.ws.terminate();
  clients = [];
  await r.server.close();
});

const put = (token: string | undefined, body: string, contentType = 'application/json') =>
  fetch(`${r.base}/v1/portfolios/main/holdings`, {
    method: 'PUT',
    headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), 'content-type': contentType },
    body,
  });

describe('portfolio routes (tokens configured)', () => {
  beforeEach(async () => {
    const base = fakeConfig();
    tw = new FakeTickwire({ ...base, auth: AUTH, portfolios: { main: { id: 'main', quote: 'USD', holdings: { USD: 100 }, pegs: {}, minChangeBps: 1, heartbeatMs: 10_000, staleMs: 60_000 } } });
    tw.portfolioValues = [VALUE];
    r = await startServer({}, tw);
  });

  it('GET needs a credential; any valid token reads', async () => {
    expect((await fetch(`${r.base}/v1/portfolios/main`)).status).toBe(401);
    const res = await fetch(`${r.base}/v1/portfolios/main`, { headers: { authorization: `Bearer ${READER}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(VALUE);
    const all = await fetch(`${r.base}/v1/portfolios`, { headers: { authorization: `Bearer ${READER}` } });
    expect(await all.json()).toEqual({ portfolios: [VALUE] });
    const missing = await fetch(`${r.base}/v1/portfolios/nope`, { headers: { authorization: `Bearer ${READER}` } });
    expect(missing.status).toBe(404);
  });

  it('PUT needs the admin scope and a JSON body; the holdings reach the library', async () => {
    expect((await put(undefined, '{"USD":1}')).status).toBe(401);
    const reader = await put(READER, '{"USD":1}');
    expect(reader.status).toBe(403);
    expect(((await reader.json()) as ErrorBody).error).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/admin/) });
    expect((await put(ADMIN, '{"USD":1}', 'text/plain')).status).toBe(401);
    const notJson = await put(ADMIN, '{"USD":');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as ErrorBody).error.code).toBe('INVALID_PARAMETER');
    const tooBig = await put(ADMIN, `{"USD":${'1'.repeat(70_000)}}`);
    expect(tooBig.status).toBe(400);
    expect(tw.holdingsSet).toEqual([]);
    const ok = await put(ADMIN, '{"USD":1,"BTC":0.5}');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual(VALUE);
    expect(tw.holdingsSet).toEqual([{ id: 'main', holdings: { USD: 1, BTC: 0.5 } }]);
  });

  it('portfolio:<id> carries the library\'s portfolio events to an authenticated subscriber', async () => {
    const c = await Client.connect(`${r.wsUrl}?token=${READER}`);
    clients.push(c);
    await c.subscribe(['portfolio:main']);
    tw.events.emit('portfolio', VALUE);
    expect(await c.next()).toEqual({ type: 'portfolio', channel: 'portfolio:main', seq: 1, ...VALUE });
  });
});

describe('alerts and an open server', () => {
  beforeEach(async () => {
    tw = new FakeTickwire({ ...fakeConfig(), portfolios: { main: { id: 'main', quote: 'USD', holdings: {}, pegs: {}, minChangeBps: 1, heartbeatMs: 10_000, staleMs: 60_000 } } });
    r = await startServer({}, tw);
  });

  it('rule alerts reach the alerts room; GET /v1/alerts answers the report', async () => {
    const c = await Client.connect(r.wsUrl);
    clients.push(c);
    await c.subscribe(['alerts']);
    tw.events.emit('alert', { id: 'btc-100k:1:5', level: 'critical', source: 'btc-100k', message: 'BTC-USD price 100001 crossed above 100000', value: 100001, ts: 5 });
    const m = await c.next();
    expect(m).toMatchObject({ type: 'alert', channel: 'alerts', seq: 1, id: 'btc-100k:1:5', level: 'critical', source: 'btc-100k', message: 'BTC-USD price 100001 crossed above 100000' });
    tw.alertsReport = { rules: [], recent: [], webhook: { delivered: 1, failed: 0, dropped: 0, retries: 2, queued: 0, lastError: null } };
    const res = await fetch(`${r.base}/v1/alerts`);
    expect(await res.json()).toEqual(tw.alertsReport);
  });

  it('an open server serves no portfolio: the routes and the channel are refused', async () => {
    expect((await fetch(`${r.base}/v1/portfolios/main`)).status).toBe(401);
    const c = await Client.connect(r.wsUrl);
    clients.push(c);
    expect(await c.subscribe(['portfolio:main'])).toMatchObject({ type: 'error', code: 'UNAUTHORIZED' });
  });
});
