/** FeedConnection's shared protocol machinery against a minimal venue on loopback. */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { callbackHandler, handTrade, FrameKind, type AdapterCapabilities, type ExchangeAdapter, type FeedHandler } from '../../src/exchanges/adapter.ts';
import { FeedConnection } from '../../src/feed/connection.ts';
import { nowMs } from '../../src/model/clock.ts';
import { until } from '../support/until.ts';

const capabilities: AdapterCapabilities = {
  name: 'toy',
  defaultUrl: '',
  channels: ['trades'],
  tradeIdOrder: 'increasing',
  maxStreamsPerConnection: 10,
  maxMessagesPerSecond: 50,
  maxConnectionAgeMs: 3600_000,
};

/** A toy venue: "auth" must be acked with "ok:<id>" before anything else is sent; "pong" answers "ping". */
class ToyAdapter implements ExchangeAdapter {
  readonly capabilities = capabilities;
  readonly heartbeat = { intervalMs: 40, text: 'ping' };
  ackId = NaN;
  error = '';
  connectUrl(base: string): string {
    return base;
  }
  subscribeRequests(nextId: () => number) {
    const auth = nextId();
    return [
      { id: auth, text: `auth:${auth}`, awaitAck: true },
      { id: nextId(), text: 'subscribe:a' },
      { id: nextId(), text: 'subscribe:b' },
    ];
  }
  parse(frame: string, handler: FeedHandler): FrameKind {
    if (frame.startsWith('ok:')) {
      this.ackId = Number(frame.slice(3));
      return FrameKind.ACK;
    }
    if (frame.startsWith('denied:')) {
      this.ackId = Number(frame.slice(7));
      this.error = 'auth denied';
      return FrameKind.ERROR;
    }
    if (frame === 'pong') return FrameKind.IGNORED;
    const price = Number(frame);
    if (!(price > 0)) return FrameKind.MALFORMED;
    handTrade(handler, 0, 1, price, 1, 1, NaN);
    return FrameKind.DATA;
  }
}

let wss: WebSocketServer | undefined;
let conn: FeedConnection | undefined;
afterEach(async () => {
  conn?.stop();
  await new Promise<void>((r) => (wss ? wss.close(() => r()) : r()));
  wss = undefined;
  conn = undefined;
});

async function venue(onMessage: (text: string, socket: ServerSocket) => void) {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss!.once('listening', r));
  wss.on('connection', (socket) => socket.on('message', (d) => onMessage(d.toString(), socket)));
  return `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
}

describe('FeedConnection', () => {
  it('holds the subscriptions back until authentication is acknowledged, and sends the client heartbeat', async () => {
    const received: string[] = [];
    let sock: ServerSocket | undefined;
    const url = await venue((text, socket) => {
      received.push(text);
      sock = socket;
    });
    const trades: number[] = [];
    conn = new FeedConnection(new ToyAdapter(), url, callbackHandler({ trade: (_s, _t, price) => void trades.push(price), quote: () => {} }));
    conn.start();
    await until(() => received.includes('auth:1'), 5_000, 'auth');
    await new Promise((r) => setTimeout(r, 150));
    expect(received.filter((m) => m.startsWith('subscribe'))).toEqual([]); // nothing before the ack
    expect(received.filter((m) => m === 'ping').length).toBeGreaterThanOrEqual(2);
    sock!.send('ok:1');
    await until(() => received.includes('subscribe:b'), 5_000, 'subscriptions');
    expect(received.filter((m) => m.startsWith('subscribe'))).toEqual(['subscribe:a', 'subscribe:b']);
    sock!.send('42.5');
    await until(() => trades.length === 1, 5_000, 'a trade');
    expect(trades).toEqual([42.5]);
  });

  it('an authentication refusal leaves the subscriptions unsent and reports the error', async () => {
    const received: string[] = [];
    const errors: string[] = [];
    const url = await venue((text, socket) => {
      received.push(text);
      if (text.startsWith('auth:')) socket.send(`denied:${text.slice(5)}`);
    });
    conn = new FeedConnection(new ToyAdapter(), url, callbackHandler({ trade: () => {}, quote: () => {} }), { onError: (m) => errors.push(m) });
    conn.start();
    await until(() => errors.includes('auth denied'), 5_000, 'the refusal');
    await new Promise((r) => setTimeout(r, 100));
    expect(received.filter((m) => m.startsWith('subscribe'))).toEqual([]);
  });

  it('reconnects with backoff after the venue drops it, and counts malformed frames', async () => {
    let connections = 0;
    const url = await venue((text, socket) => {
      if (text.startsWith('auth:')) {
        connections++;
        socket.send(`ok:${text.slice(5)}`);
        if (connections === 1) {
          socket.send('garbage');
          setTimeout(() => socket.terminate(), 20);
        }
      }
    });
    conn = new FeedConnection(new ToyAdapter(), url, callbackHandler({ trade: () => {}, quote: () => {} }), {}, { backoffBaseMs: 10, random: () => 0.5 });
    conn.start();
    await until(() => connections === 2, 5_000, 'a second connection');
    expect(conn.reconnects).toBe(1);
    expect(conn.parseErrors).toBe(1);
  });
  it('reports the drop as it happens, not when the reconnect after the backoff begins, and keeps the last sign of life', async () => {
    let connections = 0;
    const url = await venue((text, socket) => {
      if (!text.startsWith('auth:')) return;
      connections++;
      socket.send(`ok:${text.slice(5)}`);
      if (connections === 1) setTimeout(() => socket.send('100'), 20);
      if (connections === 1) setTimeout(() => socket.terminate(), 200);
    });
    const states: string[] = [];
    let aliveAtDrop = NaN;
    let frameAt = NaN;
    // A 4 s backoff (full jitter at 0.5 of an 8 s base): the reconnect attempt is far behind the drop.
    conn = new FeedConnection(new ToyAdapter(), url, callbackHandler({ trade: () => void (frameAt = Date.now()), quote: () => {} }), {
      onState: (s) => {
        states.push(s);
        if (s === 'reconnecting') aliveAtDrop = conn!.lastAlive;
      },
    }, { backoffBaseMs: 8_000, random: () => 0.5 });
    conn.start();
    await until(() => states.includes('reconnecting'), 3_000, 'the drop reported');
    expect(connections).toBe(1); // no reconnect attempt yet: the state changed at the drop
    expect(states).toEqual(['connecting', 'connected', 'reconnecting']);
    // The venue's client heartbeat is answered by nothing here: the last sign of life is the trade frame (or the open).
    expect(aliveAtDrop).toBeGreaterThan(0);
    expect(aliveAtDrop).toBeLessThanOrEqual(frameAt + 5); // (nowMs and Date.now may differ by a ms or two)
  });

  it('a connection judged stale dates its last sign of life before the silence, not at the judgement', async () => {
    const url = await venue((text, socket) => {
      if (!text.startsWith('auth:')) return;
      socket.send(`ok:${text.slice(5)}`);
      socket.send('100'); // then nothing: no frame, no ping
    });
    let aliveAtDrop = NaN;
    let judgedAt = NaN;
    let frameAt = NaN;
    conn = new FeedConnection(new ToyAdapter(), url, callbackHandler({ trade: () => void (frameAt = Date.now()), quote: () => {} }), {
      onState: (s) => {
        if (s !== 'reconnecting' || judgedAt === judgedAt) return;
        judgedAt = nowMs(); // the connection's own clock (Date.now may differ from it by a fraction of a ms)
        aliveAtDrop = conn!.lastAlive;
      },
    }, { staleAfterMs: 400, backoffBaseMs: 8_000, random: () => 0.5 });
    conn.start();
    await until(() => judgedAt === judgedAt, 5_000, 'judged stale');
    // The last sign of life is the last frame's arrival, a whole stale period before the judgement.
    expect(aliveAtDrop).toBeLessThanOrEqual(frameAt + 5); // (nowMs and Date.now may differ by a ms or two)
    expect(judgedAt - aliveAtDrop).toBeGreaterThanOrEqual(400);
  });
});

describe('FeedConnection circuit breaker', () => {
  it('opens after repeated failed connections, rests, then tries once more (half-open) and closes on data', async () => {
    let accept = false;
    let attempts = 0;
    const url = await venue((text, socket) => {
      if (!text.startsWith('auth:')) return;
      attempts++;
      if (!accept) {
        socket.terminate(); // fails before any data
        return;
      }
      socket.send(`ok:${text.slice(5)}`);
      socket.send('10');
    });
    const states: string[] = [];
    conn = new FeedConnection(
      new ToyAdapter(),
      url,
      callbackHandler({ trade: () => {}, quote: () => {} }),
      { onState: (s) => states.push(s) },
      { backoffBaseMs: 5, backoffMaxMs: 10, circuitAfterFailures: 3, circuitCooldownMs: 300, random: () => 0.5 },
    );
    conn.start();
    await until(() => states.includes('circuit_open'), 5_000, 'the circuit to open');
    expect(attempts).toBe(3);
    await new Promise((r) => setTimeout(r, 100));
    expect(attempts).toBe(3); // resting: no hammering
    accept = true;
    await until(() => attempts === 4 && states.at(-1) === 'connected', 5_000, 'the half-open try');
    // The ack connects; the data frame behind it may be read a turn later (seen under load).
    await until(() => conn!.frames > 0, 5_000, 'data on the half-open connection');
    expect(attempts).toBe(4);
  });
});

describe('FeedConnection rotation', () => {
  it('a venue allowing connections longer than a Node timer can wait does not rotate at once', async () => {
    let connections = 0;
    const url = await venue((text, socket) => {
      if (text.startsWith('auth:')) {
        connections++;
        socket.send(`ok:${text.slice(5)}`);
      }
    });
    class LongLived extends ToyAdapter {
      override readonly capabilities = { ...capabilities, maxConnectionAgeMs: 90 * 86_400_000 };
    }
    conn = new FeedConnection(new LongLived(), url, callbackHandler({ trade: () => {}, quote: () => {} }));
    conn.start();
    await until(() => connections === 1, 5_000, 'connected');
    await new Promise((r) => setTimeout(r, 300));
    expect(connections).toBe(1);
    expect(conn.reconnects).toBe(0);
  });
});

describe('FeedConnection receive time', () => {
  /** An unmasked server→client text frame (payload under 126 bytes). */
  const textFrame = (text: string) => Buffer.concat([Buffer.from([0x81, Buffer.byteLength(text)]), Buffer.from(text)]);

  it('stamps every frame of one socket read with the same receive time, and the next read with a later one', async () => {
    let sock: ServerSocket | undefined;
    const url = await venue((text, socket) => {
      if (text.startsWith('auth:')) socket.send(`ok:${text.slice(5)}`);
      sock = socket;
    });
    const stamps: number[] = [];
    conn = new FeedConnection(new ToyAdapter(), url, callbackHandler({ trade: () => {}, quote: () => {} }), { onReceive: (ts) => void stamps.push(ts) });
    conn.start();
    await until(() => sock !== undefined && stamps.length === 1, 5_000, 'the auth ack'); // (the ack is a frame too)
    // Three frames in one TCP write: one read on loopback.
    const raw = (sock as unknown as { _socket: import('node:net').Socket })._socket;
    raw.write(Buffer.concat([textFrame('1'), textFrame('2'), textFrame('3')]));
    await until(() => stamps.length === 4, 5_000, 'the first read');
    await new Promise((r) => setTimeout(r, 5));
    raw.write(Buffer.concat([textFrame('4'), textFrame('5')]));
    await until(() => stamps.length === 6, 5_000, 'the second read');
    expect(stamps[2]).toBe(stamps[1]);
    expect(stamps[3]).toBe(stamps[1]);
    expect(stamps[5]).toBe(stamps[4]);
    expect(stamps[4]).toBeGreaterThan(stamps[1]!);
  });
});
