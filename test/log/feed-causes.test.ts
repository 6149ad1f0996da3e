/**
 * The log tells why a feed is down, as an operator reads it: an embedded
 * runtime whose exchanges point at loopback servers that fail in different
 * ways (the upgrade answered 403, nothing listening, TLS spoken to a plain
 * HTTP server, a close with a code and a reason). Records travel the real
 * path (feed worker → control message → the main thread's pino logger) and
 * are read back as the JSON lines pino writes. /v1/status's lastError names
 * the same cause, not the 1006 that `ws` reports after it; health says
 * `starting` until a feed connects.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import { captureLog } from '../support/log-capture.ts';
import { until } from '../support/until.ts';

/** Every JSON line the runtime's logger wrote, parsed. */
const { lines, logger } = captureLog('debug');

let refusing: Server; // answers every upgrade with 403
let plain: Server; // plain HTTP: a TLS client gets garbage back
let closing: WebSocketServer; // accepts, then closes with 4000 "maintenance"
let erring: WebSocketServer; // answers every request with a Binance error frame
let closedPort: number; // nothing listens there
let tw: Tickwire;

const listen = (s: Server) => new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));

beforeAll(async () => {
  refusing = createHttpServer((_req, res) => res.writeHead(404).end());
  refusing.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
  plain = createHttpServer((_req, res) => res.writeHead(400).end('plain http'));
  const closed = createHttpServer();
  closedPort = await listen(closed);
  await new Promise((r) => closed.close(r));
  closing = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  closing.on('connection', (ws) => ws.close(4000, 'maintenance'));
  await new Promise((r) => closing.once('listening', r));
  erring = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  erring.on('connection', (ws) =>
    ws.on('message', (data) => ws.send(JSON.stringify({ code: 2, msg: 'Invalid request: unknown symbol', id: (JSON.parse(data.toString()) as { id: number }).id }))),
  );
  await new Promise((r) => erring.once('listening', r));
  const [refusingPort, plainPort] = await Promise.all([listen(refusing), listen(plain)]);

  tw = createTickwire(
    {
      exchanges: {
        binance: { symbols: ['BTCUSDT'], url: `ws://127.0.0.1:${refusingPort}` },
        coinbase: { symbols: ['BTC-USD'], url: `ws://127.0.0.1:${closedPort}` },
        kraken: { symbols: ['XBT/USD'], url: `wss://127.0.0.1:${plainPort}` },
        okx: { symbols: ['BTC-USDT'], url: `ws://127.0.0.1:${(closing.address() as AddressInfo).port}` },
        'binance-usdm': { symbols: ['BTCUSDT'], url: `ws://127.0.0.1:${(erring.address() as AddressInfo).port}` },
      },
      timeframes: ['1m'],
    },
    {
      logger,
      connection: { backoffBaseMs: 20, backoffMaxMs: 100, circuitAfterFailures: 3, circuitCooldownMs: 60_000 },
    },
  );
  await tw.start();
}, 60_000);

afterAll(async () => {
  await tw?.stop();
  refusing?.close();
  plain?.close();
  closing?.close();
  erring?.close();
});

/** The first record of `exchange` with `event`, once it is there. */
async function record(exchange: string, event: string): Promise<Record<string, unknown>> {
  await until(() => lines.some((l) => l['exchange'] === exchange && l['event'] === event), 60_000, `${exchange} ${event}`);
  return lines.find((l) => l['exchange'] === exchange && l['event'] === event)!;
}

describe('log: why a feed is down', () => {
  it('is starting, not ok, while no feed has connected', () => {
    const health = tw.health();
    expect(health.status).toBe('starting');
    expect(health.reasons).toEqual(['waiting for a feed to connect']);
  });

  it('names the HTTP status the venue answered the upgrade with', async () => {
    const r = await record('binance', 'feed.disconnected');
    expect(r).toMatchObject({ level: 40, failure: 'http', httpStatus: 403, closeCode: 1006 });
    expect(r['msg']).toBe('connection failed: the venue answered the WebSocket upgrade with HTTP 403 (close 1006)');
  });

  it('names a refused TCP connection with its errno', async () => {
    const r = await record('coinbase', 'feed.disconnected');
    expect(r).toMatchObject({ failure: 'tcp', errno: 'ECONNREFUSED' });
    expect(r['msg']).toMatch(new RegExp(`^connection failed: TCP connection failed: connect ECONNREFUSED 127\\.0\\.0\\.1:${closedPort} \\(close 1006\\)$`));
  });

  it('names a failed TLS handshake', async () => {
    const r = await record('kraken', 'feed.disconnected');
    expect(r['failure']).toBe('tls');
    expect(r['msg']).toMatch(/^connection failed: TLS handshake failed: /);
  });

  it("names the venue's close code and reason", async () => {
    const r = await record('okx', 'feed.disconnected');
    expect(r).toMatchObject({ closeCode: 4000, closeReason: 'maintenance' });
    expect(r['msg']).toBe('connection closed (4000 maintenance)');
  });

  it("logs the venue's error frame with its text", async () => {
    const r = await record('binance-usdm', 'feed.venue_error');
    expect(r).toMatchObject({ level: 40, error: 'binance-usdm error 2: Invalid request: unknown symbol' });
    expect(r['msg']).toBe('the venue answered with an error: binance-usdm error 2: Invalid request: unknown symbol');
  });

  it('logs each reconnect attempt with its delay, then the open circuit', async () => {
    const retry = await record('binance', 'feed.reconnecting');
    expect(retry).toMatchObject({ level: 30, attempt: 2 });
    expect(retry['delayMs']).toBeLessThanOrEqual(100);
    const circuit = await record('binance', 'feed.circuit_open');
    expect(circuit).toMatchObject({ level: 50, failures: 3, retryInMs: 60_000 });
    expect(circuit['msg']).toContain('(last: connection failed: the venue answered the WebSocket upgrade with HTTP 403');
  });

  it('gives /v1/status the cause, not the 1006 ws reports after it', async () => {
    await until(() => tw.status().exchanges['coinbase']?.lastError?.includes('ECONNREFUSED') === true, 60_000, 'coinbase lastError');
    expect(tw.status().exchanges['coinbase']!.lastError).toMatch(/^(connection failed: |circuit open after 3 failed connections \(last: connection failed: )TCP connection failed: connect ECONNREFUSED/);
  });

  it('never shows a URL query (tokens ride there)', () => {
    for (const l of lines) if (typeof l['url'] === 'string') expect(l['url']).not.toMatch(/\?[^…]/);
  });
});
