/**
 * WebSocket authentication over the real server on loopback: the upgrade is
 * refused with 401 and the JSON error body (counted by reason) for missing or
 * bad credentials and disallowed browser origins; the credential may come as
 * a header, a `bearer.<token>` subprotocol (never selected) or `?token=`; a
 * token's or JWT's channels decide what a subscribe may join.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AuthConfig } from '../../src/config/types.ts';
import { hashToken } from '../../src/server/auth.ts';
import { attemptUpgrade, Client, startServer, type Running, type UpgradeOutcome } from './helpers.ts';

const SECRET = 'a shared HS256 secret of at least 32 bytes';
const ALICE = 'tw_alice-0123456789abcdefghijklmnopqrstuvwxyzAB';
const BOB = 'tw_bob-0123456789abcdefghijklmnopqrstuvwxyzABCD';
const AUTH: AuthConfig = {
  tokens: [
    { name: 'alice', sha256: hashToken(ALICE), channels: ['*'] },
    { name: 'bob', sha256: hashToken(BOB), channels: ['trades:binance:*', 'bars:binance:BTCUSDT:1m'] },
  ],
  jwt: { secret: SECRET, issuer: undefined, audience: undefined },
  allowOpen: false,
  httpRate: { rate: 1000, burst: 1000 },
};

/** An HS256 JWT; an hour's `exp` unless `claims` names exp (`auth.jwt.requireExp` is on by default). */
function jwt(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }): string {
  const full = 'exp' in claims ? claims : { exp: Math.floor(Date.now() / 1000) + 3600, ...claims };
  const head = Buffer.from(JSON.stringify(header)).toString('base64url') + '.' + Buffer.from(JSON.stringify(full)).toString('base64url');
  return head + '.' + createHmac('sha256', SECRET).update(head).digest('base64url');
}

type Outcome = UpgradeOutcome;
const attempt = attemptUpgrade;

async function refusedWith(outcome: Promise<Outcome>, mention: string): Promise<void> {
  const o = await outcome;
  expect(o.open).toBe(false);
  if (o.open) return;
  expect(o.status).toBe(401);
  expect(o.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.stringContaining(mention) } });
}

async function opened(outcome: Promise<Outcome>): Promise<WebSocket> {
  const o = await outcome;
  if (!o.open) throw new Error(`refused: ${o.status} ${JSON.stringify(o.body)}`);
  return o.ws;
}

let r: Running;

/** A counter's value from /metrics (0 when absent). */
async function counter(prefix: string): Promise<number> {
  const text = await (await fetch(r.base + '/metrics', { headers: { authorization: `Bearer ${ALICE}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

const failures = (reason: string) => counter(`tickwire_auth_failures_total{transport="ws",reason="${reason}"}`);

beforeAll(async () => {
  r = await startServer({ auth: AUTH, cors: { origins: ['https://app.example.com'] } });
});

afterAll(async () => {
  await r.server.close();
});

describe('upgrade', () => {
  it('refuses a JWT without exp (auth.jwt.requireExp, on by default), counted', async () => {
    const before = await failures('missing_exp');
    await refusedWith(attempt(r.wsUrl, { headers: { authorization: `Bearer ${jwt({ sub: 'forever', exp: undefined })}` } }), 'no exp claim');
    expect(await failures('missing_exp')).toBe(before + 1);
  });

  it('refuses missing and bad credentials with 401 and the JSON body, counted by reason', async () => {
    const before = { missing: await failures('missing'), unknown: await failures('unknown_token'), expired: await failures('expired'), alg: await failures('unsupported_alg') };
    await refusedWith(attempt(r.wsUrl), 'missing credentials');
    await refusedWith(attempt(r.wsUrl, { headers: { authorization: 'Bearer tw_nope-0123456789abcdefghijklmnopqrstuv' } }), 'neither a known API token nor a JWT');
    await refusedWith(attempt(`${r.wsUrl}?token=${jwt({ sub: 'carol', exp: Math.floor(Date.now() / 1000) - 120 })}`), 'JWT expired');
    await refusedWith(attempt(r.wsUrl, { protocols: ['tickwire.json', `bearer.${jwt({ sub: 'root' }, { alg: 'none' })}`] }), 'alg "none"');
    expect(await failures('missing')).toBe(before.missing + 1);
    expect(await failures('unknown_token')).toBe(before.unknown + 1);
    expect(await failures('expired')).toBe(before.expired + 1);
    expect(await failures('unsupported_alg')).toBe(before.alg + 1);
  });

  it('takes the credential from a header, a bearer.<token> subprotocol (never selected) or ?token=', async () => {
    const byHeader = await opened(attempt(r.wsUrl, { headers: { authorization: `Bearer ${ALICE}` } }));
    const bySubprotocol = await opened(attempt(r.wsUrl, { protocols: ['tickwire.json', `bearer.${ALICE}`] }));
    expect(bySubprotocol.protocol).toBe('tickwire.json');
    const byQuery = await opened(attempt(`${r.wsUrl}?token=${encodeURIComponent(BOB)}`));
    for (const ws of [byHeader, bySubprotocol, byQuery]) ws.close();
  });

  it('refuses a browser origin outside server.cors.origins; a listed one or the server’s own page is fine', async () => {
    const before = await failures('origin');
    await refusedWith(attempt(r.wsUrl, { headers: { authorization: `Bearer ${ALICE}` }, origin: 'https://evil.example' }), 'origin "https://evil.example" is not allowed');
    expect(await failures('origin')).toBe(before + 1);
    const listed = await opened(attempt(r.wsUrl, { headers: { authorization: `Bearer ${ALICE}` }, origin: 'https://app.example.com' }));
    const own = await opened(attempt(r.wsUrl, { headers: { authorization: `Bearer ${ALICE}` }, origin: `http://127.0.0.1:${r.port}` }));
    const ownByName = await opened(attempt(r.wsUrl, { headers: { authorization: `Bearer ${ALICE}` }, origin: `http://localhost:${r.port}` }));
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Origin and Host both naming evil.example.
    const rebound = `evil.example:${r.port}`;
    await refusedWith(attempt(r.wsUrl, { headers: { authorization: `Bearer ${ALICE}`, host: rebound }, origin: `http://${rebound}` }), 'is not allowed');
    expect(await failures('origin')).toBe(before + 2);
    listed.close();
    own.close();
    ownByName.close();
  });
});

describe('channels on subscribe', () => {
  it('a token allowed some channels joins those and gets UNAUTHORIZED for the others, staying connected', async () => {
    const rejectedBefore = await counter('tickwire_ws_rejected_messages_total{code="UNAUTHORIZED"}');
    const bob = await Client.connect(r.wsUrl, ['tickwire.json', `bearer.${BOB}`]);
    try {
      const ok = await bob.subscribe(['trades:binance:BTCUSDT', 'bars:binance:BTCUSDT:1m']);
      expect(ok).toMatchObject({ type: 'subscribed', channels: ['trades:binance:BTCUSDT', 'bars:binance:BTCUSDT:1m'] });
      const no = await bob.subscribe(['bars:binance:BTCUSDT:5m']);
      expect(no).toMatchObject({ type: 'error', code: 'UNAUTHORIZED', message: expect.stringContaining('bob may not read bars:binance:BTCUSDT:5m') });
      const rooms = await bob.subscribe(['system']);
      expect(rooms).toMatchObject({ type: 'error', code: 'UNAUTHORIZED' });
      // Still usable, and the allowed channel flows.
      r.tw.trade('binance', 'BTCUSDT', { price: 61000 });
      const trade = await bob.next();
      expect(trade).toMatchObject({ type: 'trade', channel: 'trades:binance:BTCUSDT', price: 61000 });
      expect(await counter('tickwire_ws_rejected_messages_total{code="UNAUTHORIZED"}')).toBe(rejectedBefore + 2);
    } finally {
      await bob.close();
    }
  });

  it('a JWT channels claim restricts the same way; without it everything is allowed', async () => {
    const carol = await Client.connect(`${r.wsUrl}?token=${jwt({ sub: 'carol', channels: ['quotes:binance:*'] })}`);
    const dave = await Client.connect(`${r.wsUrl}?token=${jwt({ sub: 'dave' })}`);
    try {
      expect(await carol.subscribe(['quotes:binance:ETHUSDT'])).toMatchObject({ type: 'subscribed' });
      expect(await carol.subscribe(['trades:binance:ETHUSDT'])).toMatchObject({ type: 'error', code: 'UNAUTHORIZED', message: expect.stringContaining('carol may not read') });
      expect(await dave.subscribe(['trades:kraken:XBT/USD', 'alerts'])).toMatchObject({ type: 'subscribed' });
    } finally {
      await carol.close();
      await dave.close();
    }
  });
});
