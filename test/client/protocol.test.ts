/**
 * The client's protocol logic against a scripted server (an injected
 * WebSocket the test drives frame by frame): duplicates, holes, resume with
 * `since` + `epoch`, a new epoch, resyncs, refusals, wildcards, rooms,
 * heartbeat. Exact and deterministic; the real server is in the other suites.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TickwireClient, type StateChange, type TickwireClientOptions } from '../../src/client/index.ts';
import { ErrorCode, TickwireError } from '../../src/errors.ts';
import type { BarJson } from '../../src/wire/messages.ts';
import { makeBar } from '../support/fake-tickwire.ts';
import { until } from '../support/until.ts';
import { Recorder, ScriptedSocket } from './support.ts';

const MIN = 60_000;
const T0 = Date.UTC(2024, 7, 9, 0, 0);
const T = 'trades:binance:BTCUSDT';
const T2 = 'trades:binance:ETHUSDT';
const B = 'bars:binance:BTCUSDT:1m';

let clients: TickwireClient[];

function client(options: Partial<TickwireClientOptions> = {}): TickwireClient {
  const c = new TickwireClient({
    url: 'http://scripted.test:8080',
    WebSocket: ScriptedSocket as never,
    reconnect: { initialMs: 5, maxMs: 20 },
    heartbeatMs: 0,
    ...options,
  });
  clients.push(c);
  return c;
}

/** Wait for the client's `n`th socket and accept it. */
async function socket(n: number): Promise<ScriptedSocket> {
  await until(() => ScriptedSocket.all.length >= n, 2000, `socket #${n}`);
  const ws = ScriptedSocket.all[n - 1]!;
  ws.open();
  return ws;
}

function trade(seq: number, channel = T) {
  const [, exchange, symbol] = channel.split(':');
  return { type: 'trade', channel, seq, exchange, symbol, tradeId: 1000 + seq, price: 100 + seq, size: 1, side: 'buy', ts: T0 + seq, recvTs: T0 + seq + 0.5 };
}

function jsonBar(openTime: number, overrides: Partial<BarJson> = {}): BarJson {
  const { firstTradeId: _f, lastTradeId: _l, ...b } = makeBar(openTime, MIN, 100, true);
  return { ...b, ...overrides } as BarJson;
}

function barMsg(seq: number, bar: BarJson) {
  return { type: 'bar', channel: B, seq, exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m', ...bar };
}

function system(seq: number, exchange: string, state: string) {
  return { type: 'system', channel: 'system', seq, exchange, state, reconnects: 0, restarts: 0, lastError: null, ts: T0 };
}

const seqs = (msgs: { seq: number }[]) => msgs.map((m) => m.seq);

beforeEach(() => {
  clients = [];
  ScriptedSocket.reset();
});

afterEach(async () => {
  for (const c of clients) await c.close();
});

describe('exact delivery on one connection', () => {
  it('drops duplicate seqs, reports an unannounced hole before the message after it', async () => {
    const c = client();
    const rec = new Recorder();
    c.subscribe(T, rec.handlers());
    const ws = await socket(1);
    const sub = ws.lastOp('subscribe');
    expect(sub).toEqual({ op: 'subscribe', id: sub.id, channels: [T] });
    ws.push({ type: 'subscribed', id: sub.id, channels: [T], epoch: 'e1' });
    ws.push(trade(5), trade(6), trade(6), trade(7), trade(9), trade(3));
    expect(seqs(rec.of('trade'))).toEqual([5, 6, 7, 9]);
    expect(rec.calls.map((x) => x.handler)).toEqual(['subscribed', 'trade', 'trade', 'trade', 'gap', 'trade']);
    expect(rec.of('gap')).toEqual([{ type: 'gap', channel: T, fromSeq: 8, toSeq: 8, reason: 'unannounced' }]);
    expect(c.stats).toMatchObject({ duplicatesDropped: 2, gaps: 1, messages: 7 });
    expect(c.epoch).toBe('e1');
  });

  it("passes the server's gap notices on (trimmed to what was not delivered) and repairs a bars gap by snapshot instead", async () => {
    const c = client();
    const trades = new Recorder();
    const bars = new Recorder();
    c.subscribe(T, trades.handlers());
    c.subscribe(B, bars.handlers());
    const ws = await socket(1);
    const [s1, s2] = ws.sent;
    ws.push({ type: 'subscribed', id: s1.id, channels: [T], epoch: 'e1' }, { type: 'subscribed', id: s2.id, channels: [B], epoch: 'e1' });
    ws.push(trade(1), trade(2), { type: 'gap', channel: T, fromSeq: 2, toSeq: 6, reason: 'slow_consumer' }, trade(5), trade(7));
    expect(seqs(trades.of('trade'))).toEqual([1, 2, 7]);
    expect(trades.of('gap')).toEqual([{ type: 'gap', channel: T, fromSeq: 3, toSeq: 6, reason: 'slow_consumer' }]);

    const b0 = jsonBar(T0);
    const b1 = jsonBar(T0 + MIN, { closed: false });
    ws.push(barMsg(1, b0), barMsg(2, b1), { type: 'gap', channel: B, fromSeq: 3, toSeq: 9, reason: 'slow_consumer' });
    await until(() => ws.sent.length === 3, 1000, 'the resync request');
    const resync = ws.sent[2];
    expect(resync).toMatchObject({ op: 'subscribe', channels: [B] });
    expect(resync.snapshot).toBeGreaterThanOrEqual(1);
    expect(resync.since).toBeUndefined();
    const b1later = { ...b1, close: 555, high: 556 };
    const b2 = jsonBar(T0 + 2 * MIN, { closed: false });
    ws.push({ type: 'subscribed', id: resync.id, channels: [B], epoch: 'e1' }, { type: 'snapshot', channel: B, seq: 12, bars: [b0, b1later, b2] });
    ws.push(barMsg(13, { ...b2, close: 7 }));
    expect(bars.count('gap')).toBe(0);
    expect(bars.of('snapshot')).toEqual([{ type: 'snapshot', channel: B, seq: 12, bars: [b1later, b2], resync: true }]);
    expect(seqs(bars.of('bar'))).toEqual([1, 2, 13]);
    expect(c.stats.resyncs).toBe(1);
  });

  it('an initial snapshot goes only to the subscription that asked; live bars go to all; unchanged bars are not repeated', async () => {
    const c = client();
    const first = new Recorder();
    const second = new Recorder();
    c.subscribe(B, first.handlers());
    const ws = await socket(1);
    ws.push({ type: 'subscribed', id: ws.sent[0].id, channels: [B], epoch: 'e1' });
    const b0 = jsonBar(T0, { closed: false });
    ws.push(barMsg(1, b0));
    c.subscribe(B, second.handlers(), { snapshot: 2 });
    const req = ws.lastOp('subscribe');
    expect(req).toEqual({ op: 'subscribe', id: req.id, channels: [B], snapshot: 2 });
    ws.push({ type: 'subscribed', id: req.id, channels: [B], epoch: 'e1' }, { type: 'snapshot', channel: B, seq: 1, bars: [b0] });
    ws.push(barMsg(2, b0), barMsg(3, { ...b0, close: 1 }));
    expect(first.count('snapshot')).toBe(0);
    expect(second.of('snapshot')).toEqual([{ type: 'snapshot', channel: B, seq: 1, bars: [b0] }]);
    expect(seqs(first.of('bar'))).toEqual([1, 3]); // seq 2 repeated bar 1 unchanged
    expect(seqs(second.of('bar'))).toEqual([3]);
    expect(c.stats.unchangedBarsDropped).toBe(1);
  });

  it("the system room's current states (several messages at one seq) reach the subscription that asked, then live changes", async () => {
    const c = client();
    const rec = new Recorder();
    c.subscribe('system', rec.handlers());
    const ws = await socket(1);
    ws.push({ type: 'subscribed', id: ws.sent[0].id, channels: ['system'], epoch: 'e1' });
    ws.push(system(4, 'binance', 'connected'), system(4, 'kraken', 'reconnecting'), system(5, 'kraken', 'connected'), system(5, 'kraken', 'connected'));
    expect(rec.of('system').map((m) => `${m.seq}:${m.exchange}:${m.state}`)).toEqual(['4:binance:connected', '4:kraken:reconnecting', '5:kraken:connected']);
    expect(c.stats.duplicatesDropped).toBe(1);
  });

  it('a binary frame on a JSON stream is counted and reported; the stream goes on', async () => {
    const c = client();
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    const rec = new Recorder();
    c.subscribe(T, rec.handlers());
    const ws = await socket(1);
    ws.push({ type: 'subscribed', id: ws.sent[0].id, channels: [T], epoch: 'e1' });
    ws.pushRaw(new Uint8Array([1, 2, 3]).buffer);
    ws.pushRaw('{"not":"a message"}');
    ws.push(trade(1));
    expect(c.stats.malformed).toBe(2);
    expect(errors.map((e) => (e as TickwireError).code)).toEqual([ErrorCode.INTERNAL_ERROR, ErrorCode.INTERNAL_ERROR]);
    expect(errors[0]!.message).toMatch(/binary frame on a JSON stream/);
    expect(seqs(rec.of('trade'))).toEqual([1]);
  });
});

describe('reconnect and resume', () => {
  it('re-subscribes with since and the epoch; the replay overlap is dropped; states go reconnecting → open', async () => {
    const c = client();
    const states: StateChange[] = [];
    c.on('state', (s) => states.push(s));
    const rec = new Recorder();
    c.subscribe(['trades:binance:*'], rec.handlers());
    const ws = await socket(1);
    ws.push({ type: 'subscribed', id: ws.sent[0].id, channels: [T, T2], epoch: 'e1' });
    ws.push(trade(8), trade(9), trade(3, T2));
    ws.drop(1006, 'connection reset');
    const ws2 = await socket(2);
    const resume = ws2.lastOp('subscribe');
    expect(resume).toEqual({ op: 'subscribe', id: resume.id, channels: [T, T2, 'trades:binance:*'], since: { [T]: 9, [T2]: 3 }, epoch: 'e1' });
    ws2.push({ type: 'subscribed', id: resume.id, channels: [T, T2], epoch: 'e1' });
    ws2.push(trade(9), trade(10), trade(4, T2));
    expect(rec.of('trade').map((m) => `${m.symbol}#${m.seq}`)).toEqual(['BTCUSDT#8', 'BTCUSDT#9', 'ETHUSDT#3', 'BTCUSDT#10', 'ETHUSDT#4']);
    expect(rec.of('subscribed').map((m) => m.resumed)).toEqual([false, true]);
    expect(rec.count('gap')).toBe(0);
    expect(states.map((s) => s.state)).toEqual(['connecting', 'open', 'reconnecting', 'open']);
    expect(states[2]).toMatchObject({ code: 1006, reason: 'connection reset', attempt: 1 });
    expect(c.stats).toMatchObject({ reconnects: 1, duplicatesDropped: 1 });
  });

  it('a subscription never acknowledged before the drop is sent again as a plain subscribe (with its snapshot)', async () => {
    const c = client();
    const rec = new Recorder();
    c.subscribe(B, rec.handlers(), { snapshot: 50 });
    const ws = await socket(1);
    expect(ws.sent).toHaveLength(1);
    ws.drop();
    const ws2 = await socket(2);
    expect(ws2.sent).toEqual([{ op: 'subscribe', id: ws2.sent[0].id, channels: [B], snapshot: 50 }]);
  });

  it('a new epoch (server restarted): trades get a restart gap, bars and system are asked again, new seqs are delivered', async () => {
    const c = client();
    const epochs: unknown[] = [];
    c.on('epoch', (e) => epochs.push(e));
    const t = new Recorder();
    const b = new Recorder();
    const s = new Recorder();
    c.subscribe(T, t.handlers());
    c.subscribe(B, b.handlers(), { snapshot: 2 });
    c.subscribe('system', s.handlers());
    const ws = await socket(1);
    const [r1, r2, r3] = ws.sent;
    const b0 = jsonBar(T0);
    const b1 = jsonBar(T0 + MIN, { closed: false });
    ws.push({ type: 'subscribed', id: r1.id, channels: [T], epoch: 'e1' });
    ws.push({ type: 'subscribed', id: r2.id, channels: [B], epoch: 'e1' }, { type: 'snapshot', channel: B, seq: 10, bars: [b0, b1] });
    ws.push({ type: 'subscribed', id: r3.id, channels: ['system'], epoch: 'e1' }, system(4, 'binance', 'connected'));
    ws.push(trade(20), barMsg(11, { ...b1, close: 150 }));
    ws.drop();

    const ws2 = await socket(2);
    const resume = ws2.lastOp('subscribe');
    expect(resume.since).toEqual({ [T]: 20, [B]: 11, system: 4 });
    expect(resume.epoch).toBe('e1');
    ws2.push({ type: 'subscribed', id: resume.id, channels: [T, B, 'system'], epoch: 'e2' });
    expect(t.of('gap')).toEqual([{ type: 'gap', channel: T, fromSeq: 21, toSeq: null, reason: 'restart' }]);
    expect(epochs).toEqual([{ epoch: 'e1', previous: null }, { epoch: 'e2', previous: 'e1' }]);
    await until(() => ws2.sent.length === 2, 1000, 'the resync request');
    const resync = ws2.sent[1];
    expect(resync).toEqual({ op: 'subscribe', id: resync.id, channels: [B, 'system'], snapshot: 1000 }); // T0 is long ago: as deep as allowed
    const b1final = { ...b1, close: 160, closed: true };
    const b2 = jsonBar(T0 + 2 * MIN, { closed: false });
    ws2.push({ type: 'subscribed', id: resync.id, channels: [B, 'system'], epoch: 'e2' });
    ws2.push({ type: 'snapshot', channel: B, seq: 3, bars: [b0, b1final, b2] });
    ws2.push(system(1, 'binance', 'connected'));
    ws2.push(trade(1), trade(2), barMsg(4, { ...b2, close: 1 }));

    expect(seqs(t.of('trade'))).toEqual([20, 1, 2]);
    expect(b.of('snapshot').map((m) => [m.seq, m.resync, m.bars.map((x: BarJson) => x.openTime)])).toEqual([
      [10, undefined, [T0, T0 + MIN]],
      [3, true, [T0 + MIN, T0 + 2 * MIN]],
    ]);
    expect(seqs(b.of('bar'))).toEqual([11, 4]);
    expect(b.count('gap')).toBe(0);
    expect(s.of('system').map((m) => m.seq)).toEqual([4, 1]);
    expect(s.count('gap')).toBe(0);
  });

  it('a bars channel that had no message before the drop is re-joined without since and repaired by a snapshot', async () => {
    const c = client();
    const rec = new Recorder();
    c.subscribe(B, rec.handlers());
    const ws = await socket(1);
    ws.push({ type: 'subscribed', id: ws.sent[0].id, channels: [B], epoch: 'e1' });
    ws.drop();
    const ws2 = await socket(2);
    const resume = ws2.lastOp('subscribe');
    expect(resume).toEqual({ op: 'subscribe', id: resume.id, channels: [B] });
    ws2.push({ type: 'subscribed', id: resume.id, channels: [B], epoch: 'e1' });
    await until(() => ws2.sent.length === 2, 1000, 'the resync request');
    const resync = ws2.sent[1];
    expect(resync).toEqual({ op: 'subscribe', id: resync.id, channels: [B], snapshot: 1 });
    const forming = jsonBar(T0, { closed: false });
    ws2.push({ type: 'subscribed', id: resync.id, channels: [B], epoch: 'e1' }, { type: 'snapshot', channel: B, seq: 40, bars: [forming] });
    ws2.push(barMsg(41, { ...forming, close: 5 }));
    expect(rec.of('snapshot')).toEqual([{ type: 'snapshot', channel: B, seq: 40, bars: [forming], resync: true }]);
    expect(seqs(rec.of('bar'))).toEqual([41]);
  });

  it('a since the server refuses is sent again without it', async () => {
    const c = client();
    const rec = new Recorder();
    c.subscribe(T, rec.handlers());
    const ws = await socket(1);
    ws.push({ type: 'subscribed', id: ws.sent[0].id, channels: [T], epoch: 'e1' }, trade(7));
    ws.drop();
    const ws2 = await socket(2);
    const first = ws2.lastOp('subscribe');
    ws2.push({ type: 'error', id: first.id, code: 'INVALID_PARAMETER', message: 'since ahead of the channel' });
    const again = ws2.lastOp('subscribe');
    expect(again).toEqual({ op: 'subscribe', id: again.id, channels: [T] });
    expect(again.id).not.toBe(first.id);
    ws2.push({ type: 'subscribed', id: again.id, channels: [T], epoch: 'e1' }, trade(12));
    // Same epoch, no replay: the hole is exact.
    expect(rec.of('gap')).toEqual([{ type: 'gap', channel: T, fromSeq: 8, toSeq: 11, reason: 'unannounced' }]);
  });

  it('a batched re-subscribe refused for one channel is split: that subscription ends, the others resume', async () => {
    const c = client();
    const good = new Recorder();
    const bad = new Recorder();
    c.subscribe(T, good.handlers());
    c.subscribe(T2, bad.handlers());
    const ws = await socket(1);
    ws.push({ type: 'subscribed', id: ws.sent[0].id, channels: [T], epoch: 'e1' }, { type: 'subscribed', id: ws.sent[1].id, channels: [T2], epoch: 'e1' });
    ws.push(trade(1), trade(1, T2));
    ws.drop();
    const ws2 = await socket(2);
    const batch = ws2.lastOp('subscribe');
    expect(batch.channels).toEqual([T, T2]);
    ws2.push({ type: 'error', id: batch.id, code: 'SYMBOL_NOT_FOUND', message: 'symbol "ETHUSDT" is not configured on binance' });
    expect(ws2.sent.slice(1).map((m) => m.channels)).toEqual([[T], [T2]]);
    const [forGood, forBad] = ws2.sent.slice(1);
    ws2.push({ type: 'subscribed', id: forGood.id, channels: [T], epoch: 'e1' });
    ws2.push({ type: 'error', id: forBad.id, code: 'SYMBOL_NOT_FOUND', message: 'symbol "ETHUSDT" is not configured on binance' });
    ws2.push(trade(2), trade(2, T2));
    expect(seqs(good.of('trade'))).toEqual([1, 2]);
    expect(seqs(bad.of('trade'))).toEqual([1]);
    expect(bad.of('error').map((e) => e.code)).toEqual([ErrorCode.SYMBOL_NOT_FOUND]);
    expect(good.count('error')).toBe(0);
  });

  it('RATE_LIMITED is retried after a pause with a fresh id', async () => {
    const c = client();
    const rec = new Recorder();
    c.subscribe(T, rec.handlers());
    const ws = await socket(1);
    const first = ws.sent[0];
    ws.push({ type: 'error', id: first.id, code: 'RATE_LIMITED', message: 'too many subscribe requests' });
    await until(() => ws.sent.length === 2, 3000, 'the retry');
    const retry = ws.sent[1];
    expect(retry).toEqual({ op: 'subscribe', id: retry.id, channels: [T] });
    expect(retry.id).not.toBe(first.id);
    ws.push({ type: 'subscribed', id: retry.id, channels: [T], epoch: 'e1' }, trade(1));
    expect(rec.count('error')).toBe(0);
    expect(seqs(rec.of('trade'))).toEqual([1]);
  });

  it('heartbeat: pings while answered; a connection that stops answering is dropped and replaced', async () => {
    const c = client({ heartbeatMs: 25 });
    await Promise.all([c.connect(), socket(1)]);
    const ws = ScriptedSocket.all[0]!;
    ws.reply = (m) => (m.op === 'ping' ? { type: 'pong', id: m.id } : undefined);
    await until(() => ws.sent.length >= 4, 5000, 'four answered pings');
    expect(ScriptedSocket.all).toHaveLength(1);
    ws.reply = undefined;
    await socket(2); // silence: the client gives up on the first connection
    expect(ws.closedBy).toBeDefined();
    expect(ws.sent.every((m) => m.op === 'ping' && m.id === 'heartbeat')).toBe(true);
  });

  it('close() while connecting: no socket opens afterwards, the client stays closed', async () => {
    const c = client();
    const states: string[] = [];
    c.on('state', (s) => states.push(s.state));
    const connecting = c.connect().then(
      () => 'opened',
      (e: unknown) => e,
    );
    await until(() => ScriptedSocket.all.length === 1, 2000, 'the first socket');
    await c.close();
    expect(await connecting).toBeInstanceOf(TickwireError);
    await new Promise((r) => setTimeout(r, 60));
    expect(ScriptedSocket.all).toHaveLength(1);
    expect(states).toEqual(['connecting', 'closed']);
  });
});

describe('wildcards and unsubscribing', () => {
  it('a channel announced later under a wildcard is delivered; unsubscribing the wildcard re-joins what another subscription holds', async () => {
    const c = client();
    const all = new Recorder();
    const one = new Recorder();
    const offAll = c.subscribe('trades:binance:*', all.handlers());
    c.subscribe(T, one.handlers());
    const ws = await socket(1);
    ws.push({ type: 'subscribed', id: ws.sent[0].id, channels: [T], epoch: 'e1' }, { type: 'subscribed', id: ws.sent[1].id, channels: [T], epoch: 'e1' });
    const NEW = 'trades:binance:NEWCOIN';
    ws.push({ type: 'subscribed', id: null, channels: [NEW], epoch: 'e1' }, trade(1, NEW), trade(1));
    expect(all.of('subscribed').map((m) => m.channels)).toEqual([[T], [NEW]]);
    expect(all.of('trade').map((m) => m.channel)).toEqual([NEW, T]);
    expect(one.of('trade').map((m) => m.channel)).toEqual([T]);

    offAll();
    const unsub = ws.lastOp('unsubscribe');
    expect(unsub.channels).toEqual([NEW, 'trades:binance:*']);
    ws.push({ type: 'unsubscribed', id: unsub.id, channels: [NEW, T] }); // the wildcard took T along on the server
    const rejoin = ws.lastOp('subscribe');
    expect(rejoin).toEqual({ op: 'subscribe', id: rejoin.id, channels: [T], since: { [T]: 1 }, epoch: 'e1' });
    ws.push({ type: 'subscribed', id: rejoin.id, channels: [T], epoch: 'e1' }, trade(2), trade(2, NEW));
    expect(one.of('trade').map((m) => m.seq)).toEqual([1, 2]);
    expect(all.count('trade')).toBe(2);
  });

  it('where the token goes: a subprotocol next to the format, or the query when it cannot be one', async () => {
    const a = client({ token: 'tw_abc.DEF-1', format: 'fbs' });
    await Promise.all([a.connect(), socket(1)]);
    expect(ScriptedSocket.all[0]!.url).toBe('ws://scripted.test:8080/v1/stream?format=fbs');
    expect(ScriptedSocket.all[0]!.protocols).toEqual(['tickwire.fbs', 'bearer.tw_abc.DEF-1']);
    const b = client({ token: 'a token/with=odd chars', url: 'https://scripted.test/prefix/' });
    await Promise.all([b.connect(), socket(2)]);
    expect(ScriptedSocket.all[1]!.url).toBe('wss://scripted.test/prefix/v1/stream?token=a+token%2Fwith%3Dodd+chars');
    expect(ScriptedSocket.all[1]!.protocols).toBeUndefined();
  });
});
