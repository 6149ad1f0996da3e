/**
 * The OKX v5 public adapter against the recorded frames in
 * ../shared/fixtures/okx (frames.jsonl: R1 cryptofeed session 2022-05-13 on
 * lines 1–117, R2 crypto-msg-parser literals 118–137, R3 arkin 2025 literals
 * 138–139; frames_reserialized.jsonl: tardis-node), and FeedConnection driving
 * it against a fake OKX on loopback.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameKind, type FeedHandler } from '../../src/exchanges/adapter.ts';
import { OkxAdapter, okxCapabilities } from '../../src/exchanges/okx.ts';
import { FeedConnection } from '../../src/feed/connection.ts';
import { until } from '../support/until.ts';
import { FakeOkx } from '../support/fake-okx.ts';
import { FIXTURES_DIR } from '../support/fixtures.ts';
import { Prng } from '../support/prng.ts';
import { recorder } from '../support/recorder.ts';

const lines = (file: string) =>
  readFileSync(path.join(FIXTURES_DIR, 'okx', file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');

interface ControlLine {
  dir: string;
  frame?: string;
  t?: number;
}

const FRAMES = lines('frames.jsonl');
/** The complete recorded session (R1), in order. */
const SESSION = FRAMES.slice(0, 117);
const RESERIALIZED = lines('frames_reserialized.jsonl');
const CONTROL = lines('control.jsonl').map((l) => JSON.parse(l) as ControlLine);
/** A frame's event (acks, errors) or else its channel. */
const labelOf = (f: string) => {
  const m = JSON.parse(f) as { event?: string; arg?: { channel?: string } };
  return m.event ?? m.arg?.channel;
};
const TRADE_FRAMES = FRAMES.filter((f) => f.startsWith('{"arg":{"channel":"trades"'));
const BBO_FRAMES = FRAMES.filter((f) => f.startsWith('{"arg":{"channel":"bbo-tbt"'));
/** Every instrument the recorded trade and bbo frames name. */
const INST_IDS = [...new Set([...FRAMES, ...RESERIALIZED].filter((f) => f.includes('"data"')).map((f) => JSON.parse(f).arg.instId as string))];

/** OKX's error shape (UNVERIFIED: neither control.jsonl nor the frames hold one; codes from OKX's WebSocket error-code list). */
const ERROR_60018 =
  '{"event":"error","code":"60018","msg":"Wrong URL or channel:trades,instId:FOO-BAR doesn\'t exist. Please use the correct URL, channel and parameters referring to API document.","connId":"a4d3ae55"}';
const ERROR_60012 = '{"event":"error","code":"60012","msg":"Invalid request: {\\"op\\": \\"subscribe\\", \\"argss\\":[]}","connId":"a4d3ae55"}';


describe('OKX v5 adapter: parse', () => {
  it('parses every recorded trade with the taker side, tradeId and ts as numbers', () => {
    const adapter = new OkxAdapter(INST_IDS, ['trades', 'quotes']);
    const seen = recorder();
    for (const f of TRADE_FRAMES) expect(adapter.parse(f, seen), f).toBe(FrameKind.DATA);
    expect(seen.trades).toHaveLength(81);
    const sym = (id: string) => INST_IDS.indexOf(id);
    // R1's first trades: one per instrument, then BTC-USDT's stream.
    expect(seen.trades[0]).toEqual({ symbol: sym('BTC-USD-220527'), ts: 1652459199958, price: 30218.8, size: 1, side: 1, id: 7849 });
    expect(seen.trades[1]).toEqual({ symbol: sym('UNI-USD-SWAP'), ts: 1652459215150, price: 5.123, size: 100, side: -1, id: 12883020 });
    expect(seen.trades[2]).toEqual({ symbol: sym('BTC-USDT'), ts: 1652459224818, price: 30236, size: 0.0002, side: 1, id: 338476307 });
    expect(seen.trades[73]).toEqual({ symbol: sym('BTC-USDT'), ts: 1652459235576, price: 30227.6, size: 0.00000088, side: 1, id: 338476375 });
    // R2 (contracts on FUTURES/SWAP, handed on as printed) and R3 (2025, with `count`).
    expect(seen.trades[75]).toEqual({ symbol: sym('BTC-USDT-220325'), ts: 1646311972504, price: 43535.3, size: 2, side: -1, id: 17400303 });
    expect(seen.trades[79]).toEqual({ symbol: sym('ETH-BTC'), ts: 1735689652105, price: 0.03567, size: 0.0205, side: 1, id: 55597951 });
    expect(seen.trades[80]).toEqual({ symbol: sym('BTC-USDT-SWAP'), ts: 1735689659701, price: 93630, size: 2.1, side: 1, id: 1216801608 });
    // The side is the taker's: "buy" frames are exactly the aggressor buys.
    const buys = TRADE_FRAMES.filter((f) => f.includes('"side":"buy"')).length;
    expect(buys).toBe(52);
    expect(seen.trades.filter((t) => t.side === 1)).toHaveLength(buys);
    // tradeIdOrder 'increasing': BTC-USDT's ids in the session run 338476307…338476375 without a gap.
    const ids = seen.trades.slice(0, 74).filter((t) => t.symbol === sym('BTC-USDT')).map((t) => t.id);
    expect(ids).toEqual(Array.from({ length: 69 }, (_, i) => 338476307 + i));
  });

  it('takes the trade pushed right after subscribing although it is old (R1: 25 s before the request)', () => {
    const subscribeSentAt = CONTROL.find((c) => c.dir === 'send' && c.frame?.includes('"channel":"trades"'))!.t! * 1000;
    const adapter = new OkxAdapter(['BTC-USD-220527'], ['trades']);
    const seen = recorder();
    const first = SESSION.find((f) => f.startsWith('{"arg":{"channel":"trades","instId":"BTC-USD-220527"}'))!;
    expect(adapter.parse(first, seen)).toBe(FrameKind.DATA);
    expect(subscribeSentAt - seen.trades[0]!.ts).toBeGreaterThan(25_000);
  });

  it('reads the tardis re-serialized trade; trades-all, tickers, books and candles are IGNORED', () => {
    const adapter = new OkxAdapter(INST_IDS, ['trades', 'quotes']);
    const seen = recorder();
    const kinds = RESERIALIZED.map((f) => [labelOf(f), adapter.parse(f, seen)]);
    expect(kinds).toEqual([
      ['subscribe', FrameKind.ACK],
      ['trades', FrameKind.DATA],
      ['books-l2-tbt', FrameKind.IGNORED],
      ['books-l2-tbt', FrameKind.IGNORED],
      ['tickers', FrameKind.IGNORED],
      ['trades-all', FrameKind.IGNORED],
    ]);
    expect(seen.trades).toEqual([{ symbol: INST_IDS.indexOf('CRV-USDT'), ts: 1639999319938, price: 3.973, size: 13.491146, side: 1, id: 21300150 }]);
    for (const f of FRAMES.filter((l) => /"channel":"(tickers|candle1m)"/.test(l) && l.includes('"data"'))) expect(adapter.parse(f, seen)).toBe(FrameKind.IGNORED);
    expect(seen.quotes).toHaveLength(0);
  });

  it('reads the recorded bbo-tbt frames: bids[0] and asks[0], with the venue time', () => {
    const adapter = new OkxAdapter(INST_IDS, ['quotes']);
    const seen = recorder();
    for (const f of BBO_FRAMES) expect(adapter.parse(f, seen)).toBe(FrameKind.DATA);
    expect(seen.quotes).toHaveLength(5);
    expect(seen.quotes[0]).toEqual({ symbol: INST_IDS.indexOf('BTC-USDT'), ts: 1654032991947, bid: 31774.6, bidSize: 0.3392211, ask: 31774.7, askSize: 0.14368878 });
    expect(seen.quotes[1]).toEqual({ symbol: INST_IDS.indexOf('BTC-USD-220624'), ts: 1654033096078, bid: 31769.8, bidSize: 38, ask: 31769.9, askSize: 15 });
    // Not configured for trades: trade frames are IGNORED.
    expect(adapter.parse(TRADE_FRAMES[0]!, seen)).toBe(FrameKind.IGNORED);
    // A one-sided book gives no quote.
    expect(adapter.parse('{"arg":{"channel":"bbo-tbt","instId":"BTC-USDT"},"data":[{"asks":[],"bids":[["31774.6","0.3","0","3"]],"ts":"1654032991947"}]}', seen)).toBe(
      FrameKind.IGNORED,
    );
    expect(seen.quotes).toHaveLength(5);
  });

  it('acks: each recorded per-arg ack is an ACK of the request that carried the arg (NaN for args it never sent)', () => {
    const adapter = new OkxAdapter(['BTC-USD-220527', 'UNI-USD-SWAP', 'BTC-USDT'], ['trades', 'quotes']);
    let id = 11;
    const requests = adapter.subscribeRequests(() => id++);
    expect(requests).toHaveLength(1);
    const acks = SESSION.filter((f) => f.startsWith('{"event":"subscribe"'));
    expect(acks).toHaveLength(15);
    const controlAcks = CONTROL.filter((c) => c.dir === 'recv' && c.frame!.startsWith('{"event":"subscribe"')).map((c) => c.frame!);
    for (const f of [...acks, ...controlAcks]) {
      expect(adapter.parse(f, recorder())).toBe(FrameKind.ACK);
      if (f.includes('"channel":"trades"')) expect(adapter.ackId, f).toBe(11);
      else expect(adapter.ackId, f).toBeNaN(); // tickers and books: cryptofeed's, not ours
    }
    expect(adapter.parse('{"event":"subscribe","arg":{"channel":"bbo-tbt","instId":"BTC-USDT"},"connId":"a4d3ae55"}', recorder())).toBe(FrameKind.ACK);
    expect(adapter.ackId).toBe(11);
  });

  it('errors (UNVERIFIED shape, none recorded) are ERROR without a request id, with code and message', () => {
    expect(CONTROL.some((c) => c.frame?.includes('"event":"error"'))).toBe(false);
    const adapter = new OkxAdapter(['BTC-USDT'], ['trades']);
    adapter.subscribeRequests(() => 1);
    expect(adapter.parse(ERROR_60018, recorder())).toBe(FrameKind.ERROR);
    expect(adapter.ackId).toBeNaN();
    expect(adapter.error).toBe(
      "okx error 60018: Wrong URL or channel:trades,instId:FOO-BAR doesn't exist. Please use the correct URL, channel and parameters referring to API document.",
    );
    expect(adapter.parse(ERROR_60012, recorder())).toBe(FrameKind.ERROR);
    expect(adapter.error).toMatch(/^okx error 60012: Invalid request/);
  });

  it('pong, notices and other events are IGNORED; the service-upgrade notice is a SHUTDOWN', () => {
    const adapter = new OkxAdapter(['BTC-USDT'], ['trades', 'quotes']);
    const pong = CONTROL.find((c) => c.dir === 'recv' && c.frame === 'pong')!.frame!;
    expect(adapter.parse(pong, recorder())).toBe(FrameKind.IGNORED);
    expect(adapter.parse('{"event":"login","code":"0","msg":""}', recorder())).toBe(FrameKind.IGNORED);
    expect(adapter.parse('{"event":"notice","code":"64009","msg":"something else"}', recorder())).toBe(FrameKind.IGNORED);
    expect(
      adapter.parse('{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"}', recorder()),
    ).toBe(FrameKind.SHUTDOWN);
    // Instruments it does not follow.
    expect(adapter.parse(TRADE_FRAMES.find((f) => f.includes('ETH-BTC'))!, recorder())).toBe(FrameKind.IGNORED);
    expect(adapter.parse(BBO_FRAMES.find((f) => f.includes('BTC-USD-SWAP'))!, recorder())).toBe(FrameKind.IGNORED);
  });

  it('malformed frames are MALFORMED, hand nothing over, and never throw', () => {
    const adapter = new OkxAdapter(['BTC-USDT'], ['trades', 'quotes']);
    const seen = recorder();
    const good = '"instId":"BTC-USDT","tradeId":"338476321","px":"30247.5","sz":"0.00135203","side":"sell","ts":"1652459228210"';
    const trade = (fields: string) => `{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{${fields}}]}`;
    expect(adapter.parse(trade(good), seen)).toBe(FrameKind.DATA);
    seen.trades.length = 0;
    const bbo = BBO_FRAMES[0]!;
    const bad = [
      '',
      'ping',
      'PONG',
      'not json',
      'null',
      '[]',
      '7',
      '{"weird":true}',
      '{"event":"subscribe"}',
      '{"arg":{"channel":"trades","instId":"BTC-USDT"}, "data":{}}',
      '{"arg":"trades","data":[]}',
      '{"data":[]}',
      '{"arg":{"channel":"trades"},"data":[]}',
      '{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[null]}',
      trade(good.replace('"px":"30247.5"', '"px":30247.5')),
      trade(good.replace('"px":"30247.5"', '"px":"-30247.5"')),
      trade(good.replace('"px":"30247.5"', '"px":"3e4"')),
      trade(good.replace('"px":"30247.5"', '"px":" 30247.5"')),
      trade(good.replace('"px":"30247.5"', '"px":"30247."')),
      trade(good.replace('"px":"30247.5"', '"px":"0"')),
      trade(good.replace('"sz":"0.00135203"', '"sz":""')),
      trade(good.replace('"side":"sell"', '"side":"SELL"')),
      trade(good.replace('"tradeId":"338476321"', '"tradeId":338476321')),
      trade(good.replace('"tradeId":"338476321"', '"tradeId":"33847632x"')),
      trade(good.replace('"tradeId":"338476321"', '"tradeId":"99999999999999999"')),
      trade(good.replace('"ts":"1652459228210"', '"ts":"1652459228210.5"')),
      trade(good.replace(',"ts":"1652459228210"', '')),
      trade(good.replace('"instId":"BTC-USDT"', '"instId":"ETH-USDT"')),
      // One bad trade spoils the frame: the good one before it is not handed over either.
      `{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{${good}},{${good.replace('"side":"sell"', '"side":null')}}]}`,
      bbo.replace('"31774.6"', '"x"'),
      bbo.replace('"0.14368878"', '"-1"'),
      bbo.replace('"ts":"1654032991947"', '"ts":1654032991947'),
      bbo.replace('[["31774.7","0.14368878","0","3"]]', '["31774.7"]'),
      bbo.replace('"bids":', '"bidz":'),
    ];
    for (const f of bad) {
      expect(adapter.parse(f, seen), f).toBe(FrameKind.MALFORMED);
      expect(adapter.error, f).toMatch(/^okx: /);
    }
    expect(seen.trades).toHaveLength(0);
    expect(seen.quotes).toHaveLength(0);
  });

  it('seeded mutations of recorded frames never throw, and whatever is handed over is well-formed', () => {
    const rng = new Prng(20260503);
    const adapter = new OkxAdapter(INST_IDS, ['trades', 'quotes']);
    adapter.subscribeRequests(() => 1);
    const seen = recorder();
    const sources = [...FRAMES, ERROR_60018, 'pong'];
    const alphabet = '{}[]":,.-0123456789eEtrufalsn \\';
    const kinds = new Set<number>(Object.values(FrameKind));
    let unknownKinds = 0;
    for (let i = 0; i < 20_000; i++) {
      let f = rng.pick(sources);
      for (let k = rng.int(1, 3); k > 0; k--) {
        const at = rng.int(0, f.length);
        const op = rng.int(0, 2);
        const c = alphabet[rng.int(0, alphabet.length - 1)]!;
        f = op === 0 ? f.slice(0, at) + f.slice(at + 1) : op === 1 ? f.slice(0, at) + c + f.slice(at) : f.slice(0, at) + c + f.slice(at + 1);
      }
      if (!kinds.has(adapter.parse(f, seen))) unknownKinds++;
    }
    expect(unknownKinds).toBe(0);
    expect(seen.trades.length + seen.quotes.length).toBeGreaterThan(0);
    expect(seen.trades.filter((t) => !(t.price > 0 && t.size > 0 && Number.isSafeInteger(t.ts) && Number.isSafeInteger(t.id) && Math.abs(t.side) === 1))).toEqual([]);
    expect(seen.quotes.filter((q) => !(q.bid > 0 && q.ask > 0 && q.bidSize >= 0 && q.askSize >= 0 && Number.isSafeInteger(q.ts)))).toEqual([]);
  });

  it('builds subscribe requests of at most 100 args, keeps the recorded shape, and adds /ws/v5/public once', () => {
    const adapter = new OkxAdapter(['BTC-USDT', 'eth-usdt'], ['trades', 'quotes']);
    expect(adapter.subscribeRequests(() => 1)).toEqual([
      {
        id: 1,
        text: '{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"},{"channel":"bbo-tbt","instId":"BTC-USDT"},{"channel":"trades","instId":"ETH-USDT"},{"channel":"bbo-tbt","instId":"ETH-USDT"}]}',
      },
    ]);
    const many = new OkxAdapter(
      Array.from({ length: 120 }, (_, i) => `S${i}-USDT`),
      ['trades', 'quotes'],
    ).subscribeRequests(() => 1);
    expect(many.map((r) => JSON.parse(r.text).args.length)).toEqual([100, 100, 40]);
    expect(many.every((r) => r.text.length < 64 * 1024)).toBe(true);
    expect(adapter.connectUrl('wss://ws.okx.com:8443')).toBe('wss://ws.okx.com:8443/ws/v5/public');
    expect(adapter.connectUrl('ws://127.0.0.1:9/')).toBe('ws://127.0.0.1:9/ws/v5/public');
    expect(adapter.connectUrl(okxCapabilities.defaultUrl)).toBe(okxCapabilities.defaultUrl);
    // The client heartbeat: the text `ping` (control.jsonl) well inside OKX's 30 s.
    expect(adapter.heartbeat).toEqual({ intervalMs: 20_000, text: CONTROL.find((c) => c.dir === 'send' && c.frame === 'ping')!.frame });
  });
});

/** A generous request rate, so tests do not wait on pacing (pacing has its own test). */
const FAST = { ...okxCapabilities, maxMessagesPerSecond: 50 };

/** Records every frame it parses, and what it made of it. */
class RecordingOkx extends OkxAdapter {
  readonly frames: { frame: string; kind: FrameKind }[] = [];
  override parse(frame: string, handler: FeedHandler): FrameKind {
    const kind = super.parse(frame, handler);
    this.frames.push({ frame, kind });
    return kind;
  }
}

/** Pings every 40 ms instead of 20 s. */
class FastPingOkx extends RecordingOkx {
  override readonly heartbeat = { intervalMs: 40, text: 'ping' };
}

/** Never pings (the control). */
class SilentOkx extends RecordingOkx {
  override readonly heartbeat = undefined;
}

describe('OKX v5 adapter over a loopback socket (FeedConnection)', () => {
  let fake: FakeOkx | undefined;
  let conn: FeedConnection | undefined;
  afterEach(async () => {
    conn?.stop();
    conn = undefined;
    await fake?.close();
    fake = undefined;
  });

  function connect(adapter: OkxAdapter) {
    const seen = recorder();
    const errors: string[] = [];
    conn = new FeedConnection(adapter, fake!.url, seen, { onError: (e) => errors.push(e) }, { backoffBaseMs: 10, random: () => 0.5 });
    conn.start();
    return { seen, errors, conn };
  }

  it('subscribes on /ws/v5/public, the per-arg acks settle the request, and the recorded session arrives through the handler', async () => {
    fake = await FakeOkx.start();
    const { seen, errors, conn } = connect(new OkxAdapter(['BTC-USDT', 'BTC-USD-220527', 'UNI-USD-SWAP'], ['trades', 'quotes'], FAST));
    await until(() => fake!.subscribes().length === 1 && conn.pendingAcks.size === 0, 3_000, 'the subscription');
    expect(fake.paths).toEqual(['/ws/v5/public']);
    expect(fake.subscribes()[0]!.args).toEqual(
      ['BTC-USDT', 'BTC-USD-220527', 'UNI-USD-SWAP'].flatMap((instId) => [
        { channel: 'trades', instId },
        { channel: 'bbo-tbt', instId },
      ]),
    );
    for (const f of SESSION) fake.send(f);
    fake.send(BBO_FRAMES[0]!);
    await until(() => seen.trades.length === 74 && seen.quotes.length === 1, 3_000, 'the recorded trades and quote');
    expect(seen.trades[0]).toEqual({ symbol: 1, ts: 1652459199958, price: 30218.8, size: 1, side: 1, id: 7849 });
    expect(seen.trades[73]).toEqual({ symbol: 0, ts: 1652459235576, price: 30227.6, size: 0.00000088, side: 1, id: 338476375 });
    expect(seen.trades.filter((t) => t.side === -1)).toHaveLength(SESSION.filter((f) => f.includes('"side":"sell"')).length);
    expect(seen.quotes[0]).toEqual({ symbol: 0, ts: 1654032991947, bid: 31774.6, bidSize: 0.3392211, ask: 31774.7, askSize: 0.14368878 });
    expect(errors).toEqual([]);
    expect(conn.parseErrors).toBe(0);
  });

  it("an instrument the venue refuses: OKX's error reaches onError; the connection and the other instrument carry on", async () => {
    fake = await FakeOkx.start({ instIds: ['BTC-USDT'] });
    const { seen, errors, conn } = connect(new OkxAdapter(['BTC-USDT', 'FOO-BAR'], ['trades'], FAST));
    await until(() => errors.length === 1, 3_000, 'the refusal');
    expect(errors[0]).toBe(
      "okx error 60018: Wrong URL or channel:trades,instId:FOO-BAR doesn't exist. Please use the correct URL, channel and parameters referring to API document.",
    );
    await until(() => conn.pendingAcks.size === 0, 3_000, 'the BTC-USDT ack');
    fake.send(TRADE_FRAMES.find((f) => f.includes('"instId":"BTC-USDT"'))!);
    await until(() => seen.trades.length === 1, 3_000, 'a BTC-USDT trade');
    expect(seen.trades[0]!.id).toBe(338476307);
    expect(conn.reconnects).toBe(0);
  });

  it('the client ping keeps a quiet connection open; pong is IGNORED', async () => {
    fake = await FakeOkx.start({ idleCloseMs: 250 });
    const adapter = new FastPingOkx(['BTC-USDT'], ['trades'], FAST);
    const { conn } = connect(adapter);
    await until(() => conn.pendingAcks.size === 0 && fake!.subscribes().length === 1, 3_000, 'the subscription');
    await new Promise((r) => setTimeout(r, 700));
    expect(fake.idleCloses).toBe(0);
    expect(conn.reconnects).toBe(0);
    expect(fake.received.filter((m) => m === 'ping').length).toBeGreaterThanOrEqual(10);
    const pongs = adapter.frames.filter((f) => f.frame === 'pong');
    expect(pongs.length).toBeGreaterThanOrEqual(10);
    expect(pongs.every((f) => f.kind === FrameKind.IGNORED)).toBe(true);
    expect(conn.parseErrors).toBe(0);
  });

  it('without the ping the venue closes the quiet connection and the feed reconnects (the control for the test above)', async () => {
    fake = await FakeOkx.start({ idleCloseMs: 150 });
    const { conn } = connect(new SilentOkx(['BTC-USDT'], ['trades'], FAST));
    await until(() => fake!.idleCloses >= 1 && conn.reconnects >= 1 && fake!.subscribes().length >= 2, 3_000, 'an idle close and a new subscription');
  });

  it('after the venue closes the connection it reconnects and subscribes again', async () => {
    fake = await FakeOkx.start();
    const { seen, conn } = connect(new OkxAdapter(['BTC-USDT'], ['trades', 'quotes'], FAST));
    await until(() => fake!.subscribes().length === 1 && conn.pendingAcks.size === 0, 3_000, 'the first subscription');
    fake.drop();
    await until(() => fake!.connections === 2 && fake!.subscribes().length === 2 && conn.pendingAcks.size === 0, 3_000, 'the second subscription');
    expect(conn.reconnects).toBe(1);
    expect(fake.received.filter((m) => m.startsWith('{"op"'))).toEqual([fake.received[0], fake.received[0]]);
    for (const f of TRADE_FRAMES.filter((l) => l.includes('"instId":"BTC-USDT"')).slice(0, 5)) fake.send(f);
    await until(() => seen.trades.length === 5, 3_000, 'trades on the new connection');
    expect(seen.trades.map((t) => t.id)).toEqual([338476307, 338476308, 338476309, 338476310, 338476311]);
  });

  it('a malformed frame is counted in parseErrors and the connection stays', async () => {
    fake = await FakeOkx.start();
    const { seen, errors, conn } = connect(new OkxAdapter(['BTC-USDT'], ['trades'], FAST));
    await until(() => fake!.subscribes().length === 1 && conn.pendingAcks.size === 0, 3_000, 'the subscription');
    const recorded = TRADE_FRAMES.find((f) => f.includes('"instId":"BTC-USDT"'))!;
    fake.send('{"arg":{"channel":"trades"');
    fake.send(recorded.replace('"side":"buy"', '"side":"b"'));
    fake.send(recorded);
    await until(() => seen.trades.length === 1, 3_000, 'the good frame');
    expect(conn.parseErrors).toBe(2);
    expect(errors).toEqual(['okx: not JSON', 'okx: bad trade fields']);
    expect(conn.reconnects).toBe(0);
    expect(fake.connections).toBe(1);
  });

  it('with the real capabilities, subscribe requests go out two per second', async () => {
    fake = await FakeOkx.start();
    connect(new OkxAdapter(Array.from({ length: 51 }, (_, i) => `S${i}-USDT`), ['trades', 'quotes']));
    await until(() => fake!.subscribes().length === 2, 3_000, 'both requests');
    expect(fake.subscribes().map((s) => s.args.length)).toEqual([100, 2]);
    expect(fake.receivedAt[1]! - fake.receivedAt[0]!).toBeGreaterThanOrEqual(400); // paced at 500 ms; immediate would be ~0
  });
});
