import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BinanceProtocolServer, type BinanceProtocolServerOptions } from '../../src/sim/binance-protocol-server.ts';
import { FIXTURES_DIR } from '../support/fixtures.ts';
import { TestClient, closeAllClients } from './ws-client.ts';

const servers: BinanceProtocolServer[] = [];

async function startServer(options?: BinanceProtocolServerOptions): Promise<{ server: BinanceProtocolServer; url: string }> {
  const server = new BinanceProtocolServer(options);
  servers.push(server);
  const { url } = await server.start();
  return { server, url };
}

afterEach(async () => {
  await closeAllClients();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

const TRADE = { e: 'trade', E: 1723161255343, s: 'BTCUSDT', t: 3735683259, p: '61837.63000000', q: '0.02000000', T: 1723161255342, m: true, M: true };

describe('BinanceProtocolServer: connecting', () => {
  it('listens on an ephemeral loopback port and pre-subscribes the streams in the URL', async () => {
    const { server, url } = await startServer();
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(server.port).toBeGreaterThan(0);
    const seen: unknown[] = [];
    server.on('connection', (info) => seen.push(info));
    await TestClient.connect(`${url}/stream?streams=btcusdt@trade/btcusdt@bookTicker`);
    await TestClient.connect(`${url}/stream`);
    expect(server.connections).toBe(2);
    expect(server.connectionCount).toBe(2);
    expect(server.subscriptions()).toEqual([['btcusdt@trade', 'btcusdt@bookTicker'], []]);
    expect(seen).toEqual([
      { id: 1, url: '/stream?streams=btcusdt@trade/btcusdt@bookTicker', streams: ['btcusdt@trade', 'btcusdt@bookTicker'] },
      { id: 2, url: '/stream', streams: [] },
    ]);
  });

  it('answers HTTP 404 on any other path, upgrade or not', async () => {
    const { server, url } = await startServer();
    await expect(TestClient.connect(`${url}/ws/btcusdt@trade`)).rejects.toThrow(/404/);
    await expect(TestClient.connect(`${url}/streams?streams=btcusdt@trade`)).rejects.toThrow(/404/);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      get(`${url.replace('ws:', 'http:')}/v1/other`, { agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject);
    });
    expect(status).toBe(404);
    expect(server.connectionCount).toBe(0);
  });

  it('restarts on the same port after stop(), and stop() closes clients', async () => {
    const { server, url } = await startServer();
    const client = await TestClient.connect(`${url}/stream`);
    await server.stop();
    expect((await client.closed).code).toBe(1006);
    expect(server.connections).toBe(0);
    const again = await server.start();
    expect(again.url).toBe(url);
    await TestClient.connect(`${url}/stream`);
    expect(server.connectionCount).toBe(1);
  });
});

describe('BinanceProtocolServer: publishing', () => {
  it('wraps payloads as {"stream","data"} for subscribers only and returns the count', async () => {
    const { server, url } = await startServer();
    const trades = await TestClient.connect(`${url}/stream?streams=btcusdt@trade`);
    const quotes = await TestClient.connect(`${url}/stream?streams=btcusdt@bookTicker`);
    expect(server.publish('btcusdt@trade', TRADE)).toBe(1);
    expect(server.publish('ethusdt@trade', TRADE)).toBe(0);
    expect(server.hasSubscribers('btcusdt@trade')).toBe(true);
    expect(server.hasSubscribers('ethusdt@trade')).toBe(false);
    const text = await trades.frame(() => true);
    expect(text).toBe(`{"stream":"btcusdt@trade","data":${JSON.stringify(TRADE)}}`);
    server.sendRaw('{"marker":1}');
    await quotes.frame((t) => t === '{"marker":1}');
    expect(quotes.frames).toEqual(['{"marker":1}']); // never got the trade
  });

  it('replays recorded frames byte for byte (string data verbatim, sendRaw for anything)', async () => {
    const { server, url } = await startServer();
    const lines = readFileSync(path.join(FIXTURES_DIR, 'binance-spot/frames.jsonl'), 'utf8').split('\n').slice(0, 60);
    const client = await TestClient.connect(`${url}/stream?streams=btcusdt@trade/btcusdt@bookTicker/btcusdt@depth@100ms`);
    for (const line of lines) {
      const stream = (JSON.parse(line) as { stream: string }).stream;
      const data = line.slice(line.indexOf(',"data":') + ',"data":'.length, -1);
      expect(server.publish(stream, data)).toBe(1);
    }
    const malformed = '{"stream":"btcusdt@trade","data":{"e":"trade","p":';
    expect(server.sendRaw(malformed)).toBe(1);
    await client.until(() => client.frames.length === lines.length + 1);
    expect(client.frames).toEqual([...lines, malformed]);
  });

  it('sends bare payloads to a client that set "combined" to false', async () => {
    const { server, url } = await startServer();
    const client = await TestClient.connect(`${url}/stream?streams=btcusdt@trade`);
    client.send({ method: 'GET_PROPERTY', params: ['combined'], id: 1 });
    expect(await client.reply(1)).toEqual({ result: true, id: 1 });
    client.send({ method: 'SET_PROPERTY', params: ['combined', false], id: 2 });
    expect(await client.reply(2)).toEqual({ result: null, id: 2 });
    client.send({ method: 'SET_PROPERTY', params: ['combined', 'no'], id: 3 });
    expect(await client.reply(3)).toEqual({ code: 1, msg: 'Invalid value type: expected Boolean', id: 3 });
    client.send({ method: 'GET_PROPERTY', params: ['colour'], id: 4 });
    expect(await client.reply(4)).toEqual({ code: 0, msg: 'Unknown property', id: 4 });
    server.publish('btcusdt@trade', TRADE);
    expect(await client.frame((t) => t.includes('"e":"trade"'))).toBe(JSON.stringify(TRADE));
  });
});

describe('BinanceProtocolServer: requests', () => {
  it('SUBSCRIBE, LIST_SUBSCRIPTIONS and UNSUBSCRIBE are acked by id', async () => {
    const { server, url } = await startServer();
    const subscribed: string[][] = [];
    server.on('subscribe', (streams) => subscribed.push(streams));
    const client = await TestClient.connect(`${url}/stream?streams=btcusdt@trade`);
    client.send({ method: 'SUBSCRIBE', params: ['btcusdt@bookTicker', 'btcusdt@trade'], id: 1 });
    expect(await client.reply(1)).toEqual({ result: null, id: 1 });
    expect(subscribed).toEqual([['btcusdt@bookTicker', 'btcusdt@trade']]);
    expect(server.publish('btcusdt@bookTicker', { u: 1 })).toBe(1);
    client.send('{"method":"LIST_SUBSCRIPTIONS","id":"abc"}');
    expect(await client.reply('abc')).toEqual({ result: ['btcusdt@trade', 'btcusdt@bookTicker'], id: 'abc' });
    client.send({ method: 'UNSUBSCRIBE', params: ['btcusdt@trade'], id: 3 });
    expect(await client.reply(3)).toEqual({ result: null, id: 3 });
    expect(server.publish('btcusdt@trade', TRADE)).toBe(0);
    expect(server.subscriptions()).toEqual([['btcusdt@bookTicker']]);
    client.send({ method: 'LIST_SUBSCRIPTIONS', id: null });
    expect(await client.reply(null)).toEqual({ result: ['btcusdt@bookTicker'], id: null });
    expect(server.received).toHaveLength(4);
    expect(JSON.parse(server.received[0]!)).toMatchObject({ method: 'SUBSCRIBE', id: 1 });
  });

  it('answers bad JSON with code 3 and bad requests with code 2, as in the docs', async () => {
    const { url } = await startServer({ maxIncomingPerSecond: 0 });
    const client = await TestClient.connect(`${url}/stream`);
    const sent = [
      'hello',
      '{"method":"FOO","params":[],"id":7}',
      '{"params":["btcusdt@trade"],"id":8}',
      '{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":{"x":1}}',
      '{"method":"SUBSCRIBE","params":"btcusdt@trade","id":9}',
      '{"method":"LIST_SUBSCRIPTIONS","params":["x"],"id":10}',
      '[1,2]',
    ];
    for (const text of sent) client.send(text);
    await client.until(() => client.frames.length === sent.length);
    const replies = client.frames.map((t) => JSON.parse(t) as { code: number; msg: string; id?: unknown });
    expect(replies[0]).toEqual({ code: 3, msg: expect.stringMatching(/^Invalid JSON: /) });
    expect(replies[1]).toEqual({ code: 2, msg: expect.stringMatching(/^Invalid request: unknown variant `FOO`, expected one of `SUBSCRIBE`/), id: 7 });
    expect(replies[2]).toEqual({ code: 2, msg: 'Invalid request: missing field `method`', id: 8 });
    expect(replies[3]).toEqual({ code: 2, msg: 'Invalid request: request ID must be an unsigned integer' });
    expect(replies[4]).toMatchObject({ code: 2, id: 9 });
    expect(replies[4]!.msg).toMatch(/^Invalid request: /);
    expect(replies[5]).toEqual({ code: 2, msg: 'Invalid request: too many parameters', id: 10 });
    expect(replies[6]).toMatchObject({ code: 2 });
    expect(client.ws.readyState).toBe(client.ws.OPEN); // errors never close the connection
  });

  it('enforces 1024 streams per connection, in SUBSCRIBE and in the URL', async () => {
    const { server, url } = await startServer();
    const names = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `s${from + i}usdt@trade`);
    const client = await TestClient.connect(`${url}/stream`);
    client.send({ method: 'SUBSCRIBE', params: names(1000), id: 1 });
    expect(await client.reply(1)).toEqual({ result: null, id: 1 });
    client.send({ method: 'SUBSCRIBE', params: names(25, 1000), id: 2 });
    expect(await client.reply(2)).toEqual({ code: 2, msg: 'Invalid request: too many parameters', id: 2 });
    client.send({ method: 'SUBSCRIBE', params: [...names(10), ...names(24, 1000)], id: 3 }); // 10 already held
    expect(await client.reply(3)).toEqual({ result: null, id: 3 });
    expect(server.subscriptions()[0]).toHaveLength(1024);

    const full = await TestClient.connect(`${url}/stream?streams=${names(1024).join('/')}`);
    expect(full.ws.readyState).toBe(full.ws.OPEN);
    expect(server.subscriptions()[1]).toHaveLength(1024);
    await expect(TestClient.connect(`${url}/stream?streams=${names(1025).join('/')}`)).rejects.toThrow(/400/);
  });

  it('closes a connection that sends more than maxIncomingPerSecond messages', async () => {
    const { server, url } = await startServer(); // default: 5 per second
    const client = await TestClient.connect(`${url}/stream`);
    for (let i = 1; i <= 6; i++) client.send({ method: 'LIST_SUBSCRIPTIONS', id: i });
    const { code } = await client.closed;
    expect(code).toBe(1008);
    expect(client.frames.map((t) => JSON.parse(t).id)).toEqual([1, 2, 3, 4, 5]);
    await server.waitFor(() => server.connections === 0);
  });
});

describe('BinanceProtocolServer: lifetime and faults', () => {
  it('dropConnections() cuts clients off (1006), or with a close code when given', async () => {
    const { server, url } = await startServer();
    const a = await TestClient.connect(`${url}/stream`);
    const b = await TestClient.connect(`${url}/stream`);
    expect(server.dropConnections()).toBe(2);
    expect((await a.closed).code).toBe(1006);
    expect((await b.closed).code).toBe(1006);
    await server.waitFor(() => server.connections === 0);

    const c = await TestClient.connect(`${url}/stream`);
    expect(server.dropConnections(1012)).toBe(1);
    expect((await c.closed).code).toBe(1012);
    expect(server.connectionCount).toBe(3);
  });

  it('shutdown() sends serverShutdown first, then closes; reconnecting works', async () => {
    const { server, url } = await startServer();
    const client = await TestClient.connect(`${url}/stream?streams=btcusdt@trade`);
    server.publish('btcusdt@trade', TRADE);
    await client.frame(() => true);
    const before = Date.now();
    expect(server.shutdown()).toBe(1);
    const { code } = await client.closed;
    expect(code).toBe(1001);
    expect(client.frames).toHaveLength(2);
    const last = JSON.parse(client.frames[1]!);
    expect(last).toEqual({ stream: '!serverShutdown', data: { e: 'serverShutdown', E: expect.any(Number) } });
    expect(last.data.E).toBeGreaterThanOrEqual(before);
    await server.waitFor(() => server.connections === 0);
    await TestClient.connect(`${url}/stream`);
    expect(server.connections).toBe(1);
  });

  it('pings every pingIntervalMs and keeps clients that pong', async () => {
    const { server, url } = await startServer({ pingIntervalMs: 30, pongTimeoutMs: 100 });
    const client = await TestClient.connect(`${url}/stream`); // the ws client pongs by itself
    await client.until(() => client.pings >= 8, 2_000);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    expect(server.connections).toBe(1);
  });

  it('drops a client that does not pong within pongTimeoutMs; unsolicited pongs do not count', async () => {
    const { server, url } = await startServer({ pingIntervalMs: 30, pongTimeoutMs: 150 });
    const silent = await TestClient.connect(`${url}/stream`, { autoPong: false });
    const wrong = await TestClient.connect(`${url}/stream`, { autoPong: false });
    const manual = await TestClient.connect(`${url}/stream`, { autoPong: false });
    wrong.ws.on('ping', () => wrong.ws.pong('unsolicited'));
    manual.ws.on('ping', (payload) => manual.ws.pong(payload));
    const started = Date.now();
    expect((await silent.closed).code).toBe(1006);
    expect((await wrong.closed).code).toBe(1006);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(silent.pings).toBeGreaterThan(0);
    await server.waitFor(() => server.connections === 1);
    expect(manual.ws.readyState).toBe(manual.ws.OPEN);
  });

  it('waitFor resolves on server events and rejects on timeout', async () => {
    const { server, url } = await startServer();
    const waiting = server.waitFor(() => server.received.includes('{"method":"LIST_SUBSCRIPTIONS","id":1}'));
    const client = await TestClient.connect(`${url}/stream`);
    client.send('{"method":"LIST_SUBSCRIPTIONS","id":1}');
    await waiting;
    await expect(server.waitFor(() => false, 50)).rejects.toThrow(/50 ms/);
  });
});
