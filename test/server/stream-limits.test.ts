/**
 * WebSocket limits and auth on /v1/stream: channels per connection, message
 * size, subscribe rate, idle timeout (all from the `stream:` section), and the
 * `authenticate` hook at the upgrade and on subscribe. Each refusal is
 * answered with a code and counted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ErrorCode } from '../../src/errors.ts';
import { AuthFailure, UnauthorizedError } from '../../src/server/auth.ts';
import type { AuthRequest, Principal } from '../../src/server/principal.ts';
import { FakeTickwire, fakeConfig } from '../support/fake-tickwire.ts';
import { Client, startBareStream, startServer, waitFor, type BareStream, type Running } from './helpers.ts';

const BTC = 'trades:binance:BTCUSDT';
let r: Running | undefined;
let bare: BareStream | undefined;
let clients: Client[] = [];

afterEach(async () => {
  for (const c of clients) c.ws.terminate();
  clients = [];
  await r?.server.close();
  bare?.close();
  r = undefined;
  bare = undefined;
});

async function connect(url: string, protocols?: string | string[], options?: WebSocket.ClientOptions): Promise<Client> {
  const c = await Client.connect(url, protocols, options);
  clients.push(c);
  return c;
}

async function metricsText(): Promise<string> {
  return (await fetch(`${r!.base}/metrics`)).text();
}

describe('limits from the stream section', () => {
  it('channels per connection come from stream.maxChannelsPerConnection', async () => {
    const cfg = fakeConfig();
    cfg.stream.maxChannelsPerConnection = 3;
    r = await startServer({}, new FakeTickwire(cfg));
    const c = await connect(r.wsUrl);
    expect(await c.subscribe([BTC, 'trades:binance:ETHUSDT', 'quotes:binance:BTCUSDT'])).toMatchObject({ type: 'subscribed' });
    const err = await c.subscribe(['quotes:binance:ETHUSDT']);
    expect(err).toMatchObject({ type: 'error', code: 'INVALID_PARAMETER' });
    expect(err.message).toMatch(/at most 3/);
  });

  it('a message over maxMessageBytes is answered INVALID_PARAMETER; over twice that closes the connection; both counted', async () => {
    r = await startServer({ maxPayloadLength: 1024 });
    const c = await connect(r.wsUrl);
    const padded = (bytes: number) => JSON.stringify({ op: 'ping', id: 'p', pad: 'x'.repeat(bytes - 30) });
    c.send(padded(1000));
    expect(await c.next()).toEqual({ type: 'pong', id: 'p' });
    c.send(padded(1500));
    const err = await c.next();
    expect(err).toMatchObject({ type: 'error', id: null, code: 'INVALID_PARAMETER' });
    expect(err.message).toMatch(/larger than the limit of 1024/);
    expect(await c.request({ op: 'ping' })).toMatchObject({ type: 'pong' });

    const other = await connect(r.wsUrl);
    await other.subscribe([BTC]);
    c.send(padded(2100));
    expect((await c.closed).code).toBe(1006);
    await waitFor(() => r!.server.connections === 1, 3000, 'the close');
    r.tw.trade('binance', 'BTCUSDT');
    expect(await other.next()).toMatchObject({ type: 'trade', seq: 1 });
    const text = await metricsText();
    expect(text).toMatch(/tickwire_ws_rejected_messages_total\{code="INVALID_PARAMETER"\} 2/);
    expect(text).toMatch(/tickwire_ws_closed_total\{reason="message_too_big"\} 1/);
  });

  it('subscribe and unsubscribe requests past the rate are RATE_LIMITED (pings are not); the bucket refills', async () => {
    r = await startServer({ subscribeRate: { rate: 2, burst: 3 } });
    const c = await connect(r.wsUrl);
    for (let i = 0; i < 3; i++) c.send({ op: i === 1 ? 'unsubscribe' : 'subscribe', id: i, channels: [BTC] });
    c.send({ op: 'subscribe', id: 3, channels: [BTC] });
    c.send({ op: 'ping', id: 4 });
    const replies = await c.take(5);
    expect(replies.map((m) => [m.type, m.id])).toEqual([['subscribed', 0], ['unsubscribed', 1], ['subscribed', 2], ['error', 3], ['pong', 4]]);
    expect(replies[3]).toMatchObject({ code: 'RATE_LIMITED' });
    expect(replies[3].message).toMatch(/at most 2 per second/);
    // Still subscribed from id 2; after a refill (0.5 s per request at 2/s) requests pass again.
    await new Promise((res) => setTimeout(res, 700));
    expect(await c.subscribe(['trades:binance:ETHUSDT'])).toMatchObject({ type: 'subscribed' });
    expect(await metricsText()).toMatch(/tickwire_ws_rejected_messages_total\{code="RATE_LIMITED"\} 1/);
  });

  it('a client that answers no ping is closed after idleTimeoutS; one that does stays', async () => {
    r = await startServer({ idleTimeoutS: 8 });
    const silent = await connect(r.wsUrl, undefined, { autoPong: false });
    const alive = await connect(r.wsUrl);
    const t0 = Date.now();
    const closed = await silent.closed;
    const after = Date.now() - t0;
    expect(closed.code).toBe(1006);
    expect(after).toBeGreaterThan(4000); // uWS times out in steps of 4 s
    expect(alive.ws.readyState).toBe(WebSocket.OPEN);
    expect(await alive.request({ op: 'ping' })).toMatchObject({ type: 'pong' });
    expect(await metricsText()).toMatch(/tickwire_ws_closed_total\{reason="idle_timeout"\} 1/);
    console.log(`[stream-limits] idle client closed after ${after} ms (idleTimeoutS 8)`);
  }, 30_000);
});

describe('authenticate hook', () => {
  const seen: AuthRequest[] = [];
  /** Token `binance` may read binance trades and the system room; `all` everything; anything else is refused. */
  function authenticate(req: AuthRequest): Principal {
    seen.push(req);
    const token = new URLSearchParams(req.query).get('token') ?? req.authorization.replace(/^Bearer /, '');
    if (token === 'all') return { name: 'all', allows: () => true };
    if (token === 'binance') return { name: 'binance-reader', allows: (ch) => ch.startsWith('trades:binance:') || ch === 'system' };
    throw new UnauthorizedError(token === '' ? AuthFailure.MISSING : AuthFailure.UNKNOWN_TOKEN, 'no valid credential');
  }

  async function refused(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    const ws = new WebSocket(url, { headers });
    ws.on('error', () => undefined);
    try {
      return await new Promise((resolve, reject) => {
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        ws.on('open', () => reject(new Error('accepted')));
      });
    } finally {
      ws.terminate();
    }
  }

  it('refuses the upgrade with 401 and the JSON error body; hands the hook the request as it came', async () => {
    bare = await startBareStream(new FakeTickwire(), { authenticate });
    for (const [url, headers] of [[bare.wsUrl, {}], [`${bare.wsUrl}?token=nope`, {}], [bare.wsUrl, { authorization: 'Bearer nope' }]] as const) {
      const answer = await refused(url, headers);
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body)).toEqual({ error: { code: 'UNAUTHORIZED', message: 'no valid credential' } });
    }
    seen.length = 0;
    const c = await connect(`${bare.wsUrl}?format=json&token=all`, ['tickwire.json', 'bearer.xyz'], { headers: { origin: 'https://app.example' } });
    expect(c.ws.protocol).toBe('tickwire.json');
    expect(seen).toEqual([{
      authorization: '', protocol: 'tickwire.json,bearer.xyz', query: 'format=json&token=all', origin: 'https://app.example',
      remoteAddress: expect.stringMatching(/127\.0\.0\.1/),
    }]);
    expect(await c.request({ op: 'ping' })).toMatchObject({ type: 'pong' });
  });

  it('checks every concrete channel on subscribe; wildcards expand over the allowed channels only', async () => {
    bare = await startBareStream(new FakeTickwire(), { authenticate });
    const c = await connect(bare.wsUrl, undefined, { headers: { authorization: 'Bearer binance' } });
    expect(await c.subscribe([BTC, 'system'])).toMatchObject({ type: 'subscribed', channels: [BTC, 'system'] });
    expect((await c.take(3)).map((m) => m.type)).toEqual(['system', 'system', 'system']); // the exchanges' states
    const err = await c.subscribe(['trades:binance:ETHUSDT', 'trades:kraken:XBT/USD']);
    expect(err).toMatchObject({ type: 'error', code: ErrorCode.UNAUTHORIZED });
    expect(err.message).toContain('trades:kraken:XBT/USD');
    expect(await c.subscribe(['alerts'])).toMatchObject({ type: 'error', code: 'UNAUTHORIZED' });
    expect(await c.subscribe(['trades:*:BTCUSDT'])).toMatchObject({ type: 'subscribed', channels: [BTC] });
    expect(await c.subscribe(['quotes:*:*'])).toMatchObject({ type: 'error', code: 'UNAUTHORIZED' });
    // Nothing of the refused messages was subscribed.
    const text = await bare.metrics.registry.metrics();
    expect(text).toMatch(/tickwire_ws_rejected_messages_total\{code="UNAUTHORIZED"\} 3/);
    expect(text).toMatch(/tickwire_auth_failures_total\{transport="ws",reason="forbidden"\} 3/);
    expect(bare.stream.subscriptions).toBe(2 + 0); // BTC (twice asked, once held) and system
  });

  it('a channel appearing later is joined through a wildcard only when allowed', async () => {
    const { LiveFakeTickwire } = await import('./helpers.ts');
    const tw = new LiveFakeTickwire();
    bare = await startBareStream(tw, { authenticate });
    const c = await connect(`${bare.wsUrl}?token=binance`);
    await c.subscribe(['trades:*:*']);
    tw.addSymbol('kraken', 'SOL/USD');
    tw.trade('kraken', 'SOL/USD');
    tw.addSymbol('binance', 'SOLUSDT');
    tw.trade('binance', 'SOLUSDT');
    expect((await c.sync()).map((m) => m.channels ?? m.channel)).toEqual([['trades:binance:SOLUSDT'], 'trades:binance:SOLUSDT']);
  });
});
