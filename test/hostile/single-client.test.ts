/**
 * Issue 18, "what held and must keep holding", one hostile client at a time
 * against a real server on loopback (over a FakeTickwire): slowloris sockets
 * are closed by uWS's ~10 s timeout, a 64 MiB frame closes its connection
 * without disturbing a reader, and a burst of 100,000 subscribes is
 * rate-limited, each answered, the server responsive. Assertions are on
 * counts, codes and closes; the only durations checked are generous bounds.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Client, startServer, type Running } from '../server/helpers.ts';

const BTC = 'trades:binance:BTCUSDT';
let r: Running | undefined;
const cleanup: (() => void)[] = [];

afterEach(async () => {
  for (const f of cleanup.splice(0)) f();
  await r?.server.close();
  r = undefined;
});

async function connect(url: string): Promise<Client> {
  const c = await Client.connect(url);
  cleanup.push(() => c.ws.terminate());
  return c;
}

async function metric(line: string): Promise<number> {
  const text = await (await fetch(`${r!.base}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(line + ' '));
  return found === undefined ? 0 : Number(found.split(' ').pop());
}

describe('slowloris', () => {
  it('sockets that never finish their request headers are closed at uWS\'s timeout (~10 s); /health answers meanwhile', async () => {
    r = await startServer();
    const SOCKETS = 5;
    const lifetimes = await Promise.all(
      Array.from({ length: SOCKETS }, () => {
        const socket = net.connect({ host: '127.0.0.1', port: r!.port });
        cleanup.push(() => socket.destroy());
        socket.on('error', () => undefined);
        socket.on('data', () => undefined);
        const t0 = performance.now();
        socket.once('connect', () => socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '));
        // One more header byte a second: never a whole request.
        const drip = setInterval(() => socket.writable && socket.write('a'), 1_000);
        return new Promise<number>((resolve) =>
          socket.once('close', () => {
            clearInterval(drip);
            resolve(performance.now() - t0);
          }),
        );
      }),
    );
    expect((await fetch(`${r.base}/health`)).status).toBe(200);
    for (const ms of lifetimes) {
      expect(ms).toBeGreaterThan(4_000); // not at once: the timeout, not a parse error
      expect(ms).toBeLessThan(25_000);
    }
    console.log(`[hostile] slowloris sockets closed after ${lifetimes.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s`);
  }, 30_000);

  it('a well-formed client is answered while slowloris sockets are held', async () => {
    r = await startServer();
    const held = Array.from({ length: 50 }, () => {
      const socket = net.connect({ host: '127.0.0.1', port: r!.port });
      cleanup.push(() => socket.destroy());
      socket.on('error', () => undefined);
      socket.once('connect', () => socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
      return socket;
    });
    await new Promise((res) => setTimeout(res, 500));
    for (let i = 0; i < 10; i++) expect((await fetch(`${r.base}/health`)).status).toBe(200);
    expect(held.filter((s) => !s.destroyed).length).toBe(50);
  });
});

describe('oversized frames', () => {
  it('64 MiB frames close their connection (1006, counted message_too_big); a reader misses nothing, a ping is answered', async () => {
    r = await startServer();
    const reader = await connect(r.wsUrl);
    await reader.subscribe([BTC]);
    const frame = Buffer.alloc(64 * 1024 * 1024, 0x7b);
    const ATTACKS = 3;
    let published = 0;
    for (let a = 0; a < ATTACKS; a++) {
      const attacker = new WebSocket(r.wsUrl, { perMessageDeflate: false });
      cleanup.push(() => attacker.terminate());
      attacker.on('error', () => undefined);
      await new Promise((res, rej) => {
        attacker.once('open', res);
        attacker.once('error', rej);
      });
      const closed = new Promise<number>((res) => attacker.once('close', (code) => res(code)));
      attacker.send(frame);
      // Trades keep flowing to the reader while the frame is refused.
      for (let i = 0; i < 100; i++, published++) r.tw.trade('binance', 'BTCUSDT', { price: 100 + i });
      expect(await closed).toBe(1006);
    }
    const trades = (await reader.take(ATTACKS * 100, 15_000)).filter((m) => m.type === 'trade');
    expect(trades.length).toBe(published);
    expect(trades.map((m) => m.seq)).toEqual(Array.from({ length: published }, (_, i) => trades[0].seq + i));
    expect(await reader.request({ op: 'ping' })).toMatchObject({ type: 'pong' });
    expect(await metric('tickwire_ws_closed_total{reason="message_too_big"}')).toBe(ATTACKS);
  }, 30_000);
});

describe('a burst of subscribes', () => {
  it('100,000 subscribes sent at once: each answered, all but the bucket\'s RATE_LIMITED and counted; others are served', async () => {
    // ~11 MB of replies: room for all of them (the reply half of maxBackpressure), so a reader that falls
    // behind on a loaded machine is not closed as a slow consumer (a separate, tested policy).
    r = await startServer({ subscribeRate: { rate: 10, burst: 20 }, maxBackpressure: 64 * 1024 * 1024 });
    const other = await connect(r.wsUrl);
    const c = await connect(r.wsUrl);
    const N = 100_000;
    const body = JSON.stringify({ op: 'subscribe', channels: [BTC] });
    const t0 = performance.now();
    for (let i = 0; i < N; i++) c.ws.send(`{"id":${i},${body.slice(1)}`);
    const replies = await c.take(N, 25_000);
    const seconds = (performance.now() - t0) / 1000;
    const subscribed = replies.filter((m) => m.type === 'subscribed').length;
    const limited = replies.filter((m) => m.type === 'error' && m.code === 'RATE_LIMITED').length;
    expect(subscribed + limited).toBe(N);
    // The burst, plus what 10/s refills while they are answered.
    expect(subscribed).toBeLessThanOrEqual(20 + Math.ceil(10 * seconds) + 1);
    expect(subscribed).toBeGreaterThanOrEqual(20);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    expect(await other.request({ op: 'ping' })).toMatchObject({ type: 'pong' });
    expect((await fetch(`${r.base}/health`)).status).toBe(200);
    expect(await metric('tickwire_ws_rejected_messages_total{code="RATE_LIMITED"}')).toBe(limited);
    console.log(`[hostile] 100k subscribes: ${subscribed} subscribed, ${limited} RATE_LIMITED in ${seconds.toFixed(1)} s`);
  }, 30_000);
});
