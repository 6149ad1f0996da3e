/**
 * The load benchmarks' own tools, checked so their loss and latency figures
 * can be trusted: the generated frames (deterministic, recorded shape, every
 * one a trade the adapter takes) and the minimal WebSocket client the
 * subscribers use (framing of every length encoding, split and coalesced
 * chunks, fragmentation, ping, masking, close), against the `ws` server on
 * loopback; and the sampling of loopback socket queues that tells which side
 * of a fan-out fell behind.
 */
import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { ingestFrames, socketReadEnds, syntheticTape, tape, tradeFrame } from '../../bench/frames.ts';
import { BenchWsClient } from '../../bench/load/ws-client.ts';
import { queuedBytes } from '../../bench/load/tcp-queues.ts';
import { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import { callbackHandler, FrameKind } from '../../src/exchanges/adapter.ts';
import { BinanceAdapter } from '../../src/exchanges/binance.ts';
import { until } from '../support/until.ts';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];

describe('bench frames', () => {
  it('are the same for the same seed and differ for another', () => {
    const a = ingestFrames(2_000, SYMBOLS, 7);
    expect(ingestFrames(2_000, SYMBOLS, 7)).toEqual(a);
    expect(ingestFrames(2_000, SYMBOLS, 8).frames).not.toEqual(a.frames);
    expect(a.perSymbol.reduce((x, y) => x + y, 0)).toBe(2_000);
  });

  it('are cut into socket reads that fill up to the read size (a larger frame is a read of its own)', () => {
    const frames = ['a'.repeat(96), 'b'.repeat(46), 'c'.repeat(196), 'd'.repeat(46), 'e'.repeat(46)]; // 100, 50, 200, 50, 50 bytes with headers
    expect([...socketReadEnds(frames, 150)]).toEqual([0, 1, 1, 0, 1]);
    expect([...socketReadEnds(frames, 10_000)]).toEqual([0, 0, 0, 0, 1]);
    const { frames: tape } = ingestFrames(5_000, SYMBOLS, 5);
    const ends = socketReadEnds(tape, 16_384);
    let used = 0;
    let reads = 0;
    tape.forEach((f, i) => {
      used += f.length + 4;
      if (ends[i] === 0) return;
      expect(used).toBeLessThanOrEqual(16_384);
      if (i + 1 < tape.length) expect(used + tape[i + 1]!.length + 4).toBeGreaterThan(16_384);
      used = 0;
      reads++;
    });
    expect(used).toBe(0);
    expect(reads).toBeGreaterThan(10);
  });

  it('have the recorded field order, and every one parses to one trade; ids and times only go up per symbol', () => {
    const { frames } = ingestFrames(30_000, SYMBOLS, 3); // past one wrap of the 9,757-trade tape per symbol
    const adapter = new BinanceAdapter(SYMBOLS, ['trades']);
    const last = SYMBOLS.map(() => ({ id: -Infinity, ts: -Infinity }));
    const problems: string[] = []; // collected, not asserted per frame: 30,000 expects would dominate the test's time
    let trades = 0;
    for (const frame of frames) {
      const d = JSON.parse(frame).data;
      if (Object.keys(d).join() !== 'e,E,s,t,p,q,T,m,M') problems.push(`field order: ${frame}`);
      const kind = adapter.parse(frame, callbackHandler({
        trade(symbol, ts, price, size, side, id) {
          trades++;
          const want = [d.T, Number(d.p), Number(d.q), d.m ? -1 : 1, d.t];
          if (SYMBOLS[symbol] !== d.s || [ts, price, size, side, id].some((v, i) => v !== want[i])) problems.push(`fields: ${frame}`);
          if (!(id > last[symbol]!.id) || !(ts >= last[symbol]!.ts)) problems.push(`order: ${frame}`);
          last[symbol] = { id, ts };
        },
        quote() {
          problems.push('a quote');
        },
      }));
      if (kind !== FrameKind.DATA) problems.push(`kind ${kind}: ${frame}`);
    }
    expect(problems).toEqual([]);
    expect(trades).toBe(frames.length);
  });

  it('stand in with a synthetic tape of the same shape when the corpus is missing', () => {
    const t = syntheticTape(500, 1);
    expect(t.source).toBe('synthetic');
    expect(tape().length).toBeGreaterThan(0);
    const adapter = new BinanceAdapter(['BTCUSDT'], ['trades']);
    let n = 0;
    for (let i = 0; i < t.length; i++) {
      const frame = tradeFrame('btcusdt@trade', 'BTCUSDT', t.ts[i]! + t.lag[i]!, t.id[i]!, t.price[i]!, t.size[i]!, t.ts[i]!, t.maker[i] === 1);
      expect(adapter.parse(frame, callbackHandler({ trade: () => void n++, quote: () => {} }))).toBe(FrameKind.DATA);
    }
    expect(n).toBe(500);
    for (let i = 1; i < t.length; i++) expect(t.ts[i]).toBeGreaterThanOrEqual(t.ts[i - 1]!);
  });
});

describe('bench WebSocket client', () => {
  let wss: WebSocketServer | undefined;
  const clients: BenchWsClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await new Promise<void>((resolve) => (wss === undefined ? resolve() : wss.close(() => resolve())));
    wss = undefined;
  });

  async function connect(): Promise<{ client: BenchWsClient; server: WebSocket; texts: string[]; closes: string[]; fromClient: string[] }> {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v1/stream' });
    await new Promise<void>((resolve) => wss!.once('listening', () => resolve()));
    const serverSide = new Promise<WebSocket>((resolve) => wss!.once('connection', resolve));
    const texts: string[] = [];
    const closes: string[] = [];
    const fromClient: string[] = [];
    const url = new URL(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/v1/stream?x=1`);
    const client = new BenchWsClient(url, (buf, start, end, recvNs) => {
      expect(recvNs).toBeGreaterThan(0);
      texts.push(buf.toString('utf8', start, end));
    }, (why) => closes.push(why));
    clients.push(client);
    await client.connect();
    const server = await serverSide;
    server.on('message', (data) => fromClient.push(data.toString()));
    return { client, server, texts, closes, fromClient };
  }

  it('reads messages of every length encoding, in bursts, fragmented, and answers pings', async () => {
    const { server, texts } = await connect();
    const sizes = [0, 1, 125, 126, 200, 65_535, 65_536, 70_000];
    const sent = sizes.map((n, i) => `${i}:` + 'é'.repeat(Math.floor(n / 2)) + 'x'.repeat(n % 2));
    for (const s of sent) server.send(s);
    for (let i = 0; i < 2_000; i++) server.send(`{"type":"trade","tradeId":${i}}`); // coalesced into few chunks, some frames split between them
    server.send('frag-', { fin: false });
    server.send('ment', { fin: true });
    const pong = new Promise<Buffer>((resolve) => server.once('pong', resolve));
    server.ping(Buffer.from('are you there'));
    expect((await pong).toString()).toBe('are you there');
    await until(() => texts.length === sent.length + 2_001, 5_000, 'every message');
    expect(texts.slice(0, sent.length)).toEqual(sent);
    expect(texts.slice(sent.length, -1)).toEqual(Array.from({ length: 2_000 }, (_, i) => `{"type":"trade","tradeId":${i}}`));
    expect(texts.at(-1)).toBe('frag-ment');
  });

  it('sends masked text the server reads, and reports the server closing', async () => {
    const { client, server, closes, fromClient } = await connect();
    client.sendText(JSON.stringify({ op: 'subscribe', id: 1, channels: ['trades:binance:BTCUSDT'] }));
    await until(() => fromClient.length === 1, 5_000, 'the subscribe');
    expect(JSON.parse(fromClient[0]!)).toEqual({ op: 'subscribe', id: 1, channels: ['trades:binance:BTCUSDT'] });
    server.close(1001, 'bye');
    await until(() => closes.length === 1, 5_000, 'the close');
    expect(closes[0]).toBe('server closed (1001)');
    expect(client.closed).toBe(true);
  });

  it('keeps each connection’s bytes apart although they share one read buffer, frames longer than a read included', async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v1/stream' });
    await new Promise<void>((resolve) => wss!.once('listening', () => resolve()));
    const url = new URL(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/v1/stream`);
    const servers: WebSocket[] = [];
    wss.on('connection', (ws) => servers.push(ws));
    const texts: string[][] = [[], []];
    for (const got of texts) {
      const client = new BenchWsClient(url, (buf, start, end) => got.push(buf.toString('latin1', start, end)));
      clients.push(client);
      await client.connect();
    }
    await until(() => servers.length === 2, 5_000, 'both connections');
    // Interleaved on the two sockets: small frames, and frames longer than the 256 KiB read buffer (split across reads).
    const sent: string[][] = [[], []];
    for (let i = 0; i < 200; i++) {
      for (const c of [0, 1]) {
        const body = i % 50 === 7 ? `${c}:${i}:` + String.fromCharCode(97 + c).repeat(300_000) : `${c}:${i}:` + 'xy'.repeat(i);
        sent[c]!.push(body);
        servers[c]!.send(body);
      }
    }
    await until(() => texts[0]!.length === 200 && texts[1]!.length === 200, 10_000, 'every message on both');
    expect(texts).toEqual(sent);
  });

  it('reads frames split between reads at every byte, headers included', async () => {
    const { server, texts } = await connect();
    const raw = (server as unknown as { _socket: net.Socket })._socket; // the server's TCP socket: bytes written as they are
    // Unmasked server frames: a 7-bit length, a 16-bit length, another 7-bit one.
    const frameOf = (text: string): Buffer => {
      const body = Buffer.from(text);
      const head = body.length < 126 ? Buffer.from([0x81, body.length]) : Buffer.from([0x81, 126, body.length >> 8, body.length & 0xff]);
      return Buffer.concat([head, body]);
    };
    const bodies = ['short', 'm'.repeat(200), 'end'];
    const stream = Buffer.concat(bodies.map(frameOf));
    const expected: string[] = [];
    for (let cut = 1; cut < stream.length; cut += cut < 12 ? 1 : 37) {
      raw.write(stream.subarray(0, cut));
      await new Promise((resolve) => setTimeout(resolve, 15)); // read on its own before the rest comes
      raw.write(stream.subarray(cut));
      expected.push(...bodies);
      await until(() => texts.length === expected.length, 5_000, `the frames cut at byte ${cut}`);
    }
    expect(texts).toEqual(expected);
  });

  it('rejects a refused upgrade', async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v1/stream' });
    await new Promise<void>((resolve) => wss!.once('listening', () => resolve()));
    const client = new BenchWsClient(new URL(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/elsewhere`), () => {});
    clients.push(client);
    await expect(client.connect()).rejects.toThrow(/upgrade refused|socket hang up|ECONNRESET/);
  });
});

describe('bench load generator writes', () => {
  it('sends the frames published while its clients are corked in one socket write', async () => {
    const server = new BinanceProtocolServer({ host: '127.0.0.1', port: 0 });
    const { url } = await server.start();
    const texts: string[] = [];
    const client = new BenchWsClient(new URL(`${url}/stream?streams=btcusdt@trade`), (buf, start, end) => texts.push(buf.toString('utf8', start, end)));
    // Every write a socket hands to the kernel goes through _write (one chunk) or _writev (several).
    const proto = net.Socket.prototype as unknown as { _write: () => void; _writev: () => void };
    const writes = [vi.spyOn(proto, '_write'), vi.spyOn(proto, '_writev')];
    const count = () => writes.reduce((a, w) => a + w.mock.calls.length, 0);
    try {
      await client.connect();
      await until(() => server.hasSubscribers('btcusdt@trade'), 5_000, 'the subscription');
      const before = count();
      server.corked(() => {
        for (let i = 0; i < 5; i++) server.publish('btcusdt@trade', `{"t":${i}}`);
      });
      expect(count() - before).toBe(1);
      const apart = count();
      for (let i = 5; i < 8; i++) server.publish('btcusdt@trade', `{"t":${i}}`);
      expect(count() - apart).toBe(3); // uncorked: one write per frame
      await until(() => texts.length === 8, 5_000, 'the eight frames');
      expect(texts).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => `{"stream":"btcusdt@trade","data":{"t":${i}}}`));
    } finally {
      for (const w of writes) w.mockRestore();
      client.destroy();
      await server.stop();
    }
  });
});

describe('bench TCP queue sampling', () => {
  // /proc/net/tcp lines: sl, local and remote address (hex IPv4:port), state (01 established), tx_queue:rx_queue.
  const line = (local: number, remote: number, st: string, tx: number, rx: number) =>
    `  1: 0100007F:${local.toString(16).toUpperCase().padStart(4, '0')} 0100007F:${remote.toString(16).toUpperCase().padStart(4, '0')} ${st} ${tx.toString(16).padStart(8, '0')}:${rx.toString(16).padStart(8, '0')} 00:00000000 00000000     0        0 1 1`;

  it('counts the clients’ unread, the gateway’s unsent and the gateway’s unread from the exchange, by port', () => {
    const gateway = 40_000;
    const exchange = 41_000;
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      line(gateway, 0, '0A', 0, 0), // the listening socket
      line(50_001, gateway, '01', 0, 1_000), // a client's socket: 1,000 bytes unread
      line(50_002, gateway, '01', 0, 2_000),
      line(gateway, 50_001, '01', 300, 0), // the gateway's side: 300 bytes the client's window had no room for
      line(50_003, exchange, '01', 0, 700), // the gateway's socket to the exchange: 700 bytes unread
      line(exchange, 50_003, '01', 50, 0), // the exchange's side: not the gateway's
      line(50_004, gateway, '06', 0, 9_999), // TIME_WAIT: not a live connection
      line(50_005, 12_345, '01', 0, 5_000), // someone else's connection
    ].join('\n');
    expect(queuedBytes(table, gateway, exchange)).toEqual({ clientsUnread: 3_000, gatewayUnsent: 300, upstreamUnread: 700 });
  });

  it('sees the bytes a paused client has not read in the kernel’s table', async () => {
    const written = 64 * 1024;
    const server = net.createServer((socket) => {
      socket.on('error', () => {}); // reset when the test destroys the client
      socket.write(Buffer.alloc(written, 1)); // not end(): a half-closed connection is no longer "established"
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const client = net.connect(port, '127.0.0.1');
    client.pause(); // never read: the bytes stay in its receive queue (or in the server's send queue)
    try {
      await until(() => {
        const q = queuedBytes(readFileSync('/proc/net/tcp', 'latin1'), port, 1);
        return q.clientsUnread + q.gatewayUnsent >= written;
      }, 10_000);
    } finally {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
