/**
 * Encoding one live message, per message: a trade and a bar, as the JSON
 * text the server sends (src/wire/json.ts: the channel's prepared prefix
 * plus the numbers) against `JSON.stringify` of the message object (what a
 * hand-written server does), and as FlatBuffers (src/wire/fbs.ts,
 * `FbsEncoder`, one reused builder) against that JSON. JSON results are JS
 * strings (uWS writes them out as UTF-8 itself); FlatBuffers results are
 * bytes ready to send. Also the body of an HTTP candles answer for 500
 * closed bars of a BarSeries from ready bytes (src/wire/ready-candles.ts:
 * what `/v1/candles?limit=500` builds once the bars are encoded) against
 * `JSON.stringify` of the same 500 bars as objects (what a hand-written
 * route serving an array does), both as UTF-8 bytes as a server writes
 * them; and, without a peer, the same body with every bar encoded afresh
 * (the route before ready bytes), the whole answer kept (asked again with
 * its bars unchanged: one comparing visit), and the FlatBuffers body both ways. Every
 * result's length is summed so nothing is optimized away.
 */
import type { TradeEvent } from '../src/model/events.ts';
import { BarSeries, type BarVisitor } from '../src/buffers/bar-store.ts';
import { BAR_FIELDS, BarField as F, writeBar, type Bar } from '../src/model/records.ts';
import { BarTextVisitor, barJson, barMessage, prepareChannel, tradeMessage } from '../src/wire/json.ts';
import { FbsEncoder } from '../src/wire/fbs.ts';
import { ReadyCandles } from '../src/wire/ready-candles.ts';
import { runCases, type Row } from './harness.ts';

const BATCH = 1024;

const TRADE: TradeEvent = {
  exchange: 'binance', symbol: 'BTCUSDT', tradeId: 3735683259, price: 61837.63, size: 0.02, side: 'sell', ts: 1723161255342, recvTs: 1723161255343.12,
};
const BAR: Bar = {
  openTime: 1723161240000, closeTime: 1723161299999, open: 61837.63, high: 61850, low: 61790.01, close: 61801.2,
  volume: 12.34567, quoteVolume: 763_000.12, buyVolume: 5.1, sellVolume: 7.24567, trades: 1682,
  firstTradeId: 3735683259, lastTradeId: 3735684940, vwap: 61803.3, spread: 0.01, closed: false, revision: 0,
};
const CANDLES = 500;
const TRADES = 'trades:binance:BTCUSDT';
const BARS = 'bars:binance:BTCUSDT:1m';

/** Measure JSON (prepared and JSON.stringify) and FlatBuffers encoding of a trade and a bar, per message. */
export function encodeBench(): Row[] {
  const tradeFormat = prepareChannel('trades', TRADES, 'binance', 'BTCUSDT');
  const barFormat = prepareChannel('bars', BARS, 'binance', 'BTCUSDT', '1m');
  const fbs = new FbsEncoder();
  let bytes = 0;
  let seq = 1;
  const loop = (encode: (seq: number) => { length: number }) => () => {
    for (let i = 0; i < BATCH; i++) bytes += encode(seq++).length;
  };
  // 500 closed 1m bars, close varying, in shared memory; the same as plain objects for the peer.
  const series = new BarSeries(BarSeries.allocate(CANDLES));
  const rec = new Float64Array(BAR_FIELDS);
  writeBar({ ...BAR, closed: true }, rec, 0);
  for (let i = 0; i < CANDLES; i++) {
    rec[F.OPEN_TIME] = BAR.openTime + i * 60_000;
    rec[F.CLOSE_TIME] = BAR.closeTime + i * 60_000;
    rec[F.CLOSE] = BAR.close + (i % 97) * 0.01;
    series.putClosed(rec, 0);
  }
  const objects = series.bars().map(({ firstTradeId: _f, lastTradeId: _l, ...rest }) => rest);
  const visitor = new BarTextVisitor(barJson);
  const head = '{"exchange":"binance","symbol":"BTCUSDT","timeframe":"1m","count":';
  const ready = new ReadyCandles(64 * 1024 * 1024, new FbsEncoder());
  const of = { key: BARS, exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m' };
  const visitAll = (v: BarVisitor): number => series.visit(v, { limit: CANDLES });
  const SHAPE = { limit: CANDLES, start: undefined, end: undefined, closed: false };
  const rows = runCases('encode', [
    {
      id: 'encode.candles500',
      peer: 'encode.candles500_stringify',
      name: `candles body, ${CANDLES} bars from ready bytes (/v1/candles)`,
      unit: 'bar',
      batch: CANDLES,
      fn: () => {
        bytes += ready.json(of, visitAll).length;
      },
    },
    {
      id: 'encode.candles500_kept',
      name: `candles body, ${CANDLES} bars, the whole answer kept (/v1/candles asked again, bars unchanged)`,
      unit: 'bar',
      batch: CANDLES,
      fn: () => {
        bytes += ready.json(of, visitAll, SHAPE).length;
      },
    },
    {
      id: 'encode.candles500_fresh',
      name: `candles body, ${CANDLES} bars each encoded afresh (before ready bytes)`,
      unit: 'bar',
      batch: CANDLES,
      fn: () => {
        const n = series.visit(visitor, { limit: CANDLES });
        bytes += Buffer.byteLength(head + n + ',"candles":[' + visitor.text + ']}'); // as UTF-8, as the server writes it
      },
    },
    {
      id: 'encode.candles500_fbs',
      name: `candles body as FlatBuffers, ${CANDLES} bars from ready structs`,
      unit: 'bar',
      batch: CANDLES,
      fn: () => {
        bytes += ready.fbs(of, visitAll).length;
      },
    },
    {
      id: 'encode.candles500_fbs_fresh',
      name: `candles body as FlatBuffers, ${CANDLES} bars each encoded afresh`,
      unit: 'bar',
      batch: CANDLES,
      fn: () => {
        bytes += fbs.candles('binance', 'BTCUSDT', '1m', visitAll).length;
      },
    },
    {
      id: 'encode.candles500_stringify',
      name: `candles body, JSON.stringify of ${CANDLES} bar objects`,
      unit: 'bar',
      batch: CANDLES,
      fn: () => {
        bytes += Buffer.byteLength(JSON.stringify({ exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m', count: objects.length, candles: objects }));
      },
    },
    { id: 'encode.trade_json', peer: 'encode.trade_stringify', name: 'trade → JSON text (prepared channel prefix)', unit: 'message', batch: BATCH, fn: loop((s) => tradeMessage(tradeFormat, s, TRADE)) },
    {
      id: 'encode.trade_stringify',
      name: 'trade → JSON.stringify of the message object',
      unit: 'message',
      batch: BATCH,
      fn: loop((s) => JSON.stringify({ type: 'trade', channel: TRADES, seq: s, ...TRADE })),
    },
    { id: 'encode.trade_fbs', peer: 'encode.trade_json', name: 'trade → FlatBuffers (FbsEncoder)', unit: 'message', batch: BATCH, fn: loop((s) => fbs.trade(TRADES, s, TRADE)) },
    { id: 'encode.bar_json', peer: 'encode.bar_stringify', name: 'bar → JSON text (prepared channel prefix)', unit: 'message', batch: BATCH, fn: loop((s) => barMessage(barFormat, s, BAR)) },
    {
      id: 'encode.bar_stringify',
      name: 'bar → JSON.stringify of the message object',
      unit: 'message',
      batch: BATCH,
      fn: loop((s) => JSON.stringify({ type: 'bar', channel: BARS, seq: s, exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m', ...BAR })),
    },
    { id: 'encode.bar_fbs', peer: 'encode.bar_json', name: 'bar → FlatBuffers (FbsEncoder)', unit: 'message', batch: BATCH, fn: loop((s) => fbs.bar(BARS, s, BAR)) },
  ]);
  if (bytes === 0) throw new Error('encode bench: nothing was encoded');
  return rows;
}
