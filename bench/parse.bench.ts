/**
 * Adapter parse throughput: recorded frames through `parse(frame, handler)`
 * into a handler that only counts, per frame. Binance @trade frames from
 * long_trades.jsonl (the synthetic tape of frames.ts without the corpus)
 * against what a hand-written parser does (`JSON.parse` and mapping the
 * fields); its bookTicker frames; and, with `venues`, every other venue's
 * recorded (or, where none exist, documentation) frames that carry data.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { FEED_FIELDS, FrameKind, handTrade, type ExchangeAdapter, type FeedHandler } from '../src/exchanges/adapter.ts';
import { BinanceAdapter } from '../src/exchanges/binance.ts';
import { adapterFor } from '../src/exchanges/registry.ts';
import { parseConfig } from '../src/config/load.ts';
import { FIXTURES_DIR } from '../test/support/fixtures.ts';
import { ingestFrames } from './frames.ts';
import { runCases, type Row } from './harness.ts';

const BATCH = 1024;

/** The corpus file's lines starting with `prefix`; none when the corpus is not there. */
function frames(file: string, prefix: string): string[] {
  const at = path.join(FIXTURES_DIR, 'binance-spot', file);
  if (!existsSync(at)) return [];
  return readFileSync(at, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => Buffer.from(l).toString()); // flat strings, as the ws client hands them over
}

/**
 * What a hand-written Binance parser does with a trade frame: `JSON.parse`,
 * then the fields mapped to the same handler call (symbol by Map lookup,
 * decimal strings by `Number`, the maker flag to the aggressor side).
 */
function jsonParseAndMap(frame: string, symbols: Map<string, number>, handler: FeedHandler): void {
  const d = JSON.parse(frame).data;
  if (d === undefined || d.e !== 'trade') return;
  const symbol = symbols.get(d.s);
  if (symbol === undefined) return;
  handTrade(handler, symbol, d.T, Number(d.p), Number(d.q), d.m ? -1 : 1, d.t);
}

/** Measure BinanceAdapter.parse on trade frames (against JSON.parse + mapping) and bookTicker frames, per frame; other venues when `venues`. */
export function parseBench(venues: boolean): Row[] {
  const recorded = frames('long_trades.jsonl', '{"stream":"btcusdt@trade"');
  const trades = recorded.length > 0 ? recorded : ingestFrames(9_757, ['BTCUSDT'], 1).frames;
  const tickers = frames('frames.jsonl', '{"stream":"btcusdt@bookTicker"');
  const adapter = new BinanceAdapter(['BTCUSDT'], ['trades', 'quotes']);
  const symbols = new Map([['BTCUSDT', 0]]);
  let count = 0;
  const handler: FeedHandler = {
    fields: new Float64Array(FEED_FIELDS),
    trade: () => void count++,
    quote: () => void count++,
  };
  const run = (list: string[]) => {
    let i = 0;
    return () => {
      for (let n = 0; n < BATCH; n++) {
        adapter.parse(list[i]!, handler);
        i = i + 1 === list.length ? 0 : i + 1;
      }
    };
  };
  const venueCases = (venues && existsSync(FIXTURES_DIR) ? VENUES : []).map((v) => {
    const { adapter: a, data } = venueFrames(v);
    let i = 0;
    return {
      id: `parse.${v.exchange}`,
      name: `${v.exchange} parse data frame (${data.length} recorded)`,
      unit: 'frame',
      batch: BATCH,
      fn: () => {
        for (let n = 0; n < BATCH; n++) {
          a.parse(data[i]!, handler);
          i = i + 1 === data.length ? 0 : i + 1;
        }
      },
    };
  });
  let j = 0;
  const peer = () => {
    for (let n = 0; n < BATCH; n++) {
      jsonParseAndMap(trades[j]!, symbols, handler);
      j = j + 1 === trades.length ? 0 : j + 1;
    }
  };
  const rows = runCases('parse', [
    { id: 'parse.binance_trade', peer: 'parse.binance_trade_json', name: 'binance parse @trade frame (hot path)', unit: 'frame', batch: BATCH, fn: run(trades) },
    { id: 'parse.binance_trade_json', name: 'binance @trade frame: JSON.parse + mapping', unit: 'frame', batch: BATCH, fn: peer },
    ...(tickers.length > 0 ? [{ id: 'parse.binance_book_ticker', name: 'binance parse @bookTicker frame', unit: 'frame', batch: BATCH, fn: run(tickers) }] : []),
    ...venueCases,
  ]);
  if (count === 0) throw new Error('parse bench: the handler saw nothing');
  return rows;
}

/** Each venue's fixture file and how its frames name symbols. */
const VENUES = [
  { exchange: 'binance-usdm', file: 'binance-usdm/frames.jsonl', symbol: /"s":"([^"]+)"/g, extra: {} },
  { exchange: 'coinbase', file: 'coinbase/frames.jsonl', symbol: /"product_id":"([^"]+)"/g, extra: {} },
  { exchange: 'kraken', file: 'kraken/doc_frames_v2.jsonl', symbol: /"symbol":"([^"]+)"/g, extra: {} },
  { exchange: 'okx', file: 'okx/frames.jsonl', symbol: /"instId":"([^"]+)"/g, extra: {} },
  { exchange: 'bybit', file: 'bybit/frames.jsonl', symbol: /"s":"([^"]+)"/g, extra: {} },
  { exchange: 'bitstamp', file: 'bitstamp/frames.jsonl', symbol: /live_trades_([a-z0-9]+)/g, extra: {} },
  { exchange: 'alpaca', file: 'alpaca/doc_frames.jsonl', symbol: /"S":"([^"]+)"/g, extra: { key: 'k', secret: 's', feed: 'sip' } },
] as const;

/** A venue's adapter for every symbol its frames name, and those frames that parse as data. */
function venueFrames(v: (typeof VENUES)[number]): { adapter: ExchangeAdapter; data: string[] } {
  const lines = readFileSync(path.join(FIXTURES_DIR, v.file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => Buffer.from(l).toString());
  const symbols = [...new Set(lines.flatMap((l) => [...l.matchAll(v.symbol)].map((m) => m[1]!)))].filter((s) => /^[A-Za-z0-9._\-/:]{1,40}$/.test(s));
  const config = parseConfig({ exchanges: { [v.exchange]: { symbols, ...v.extra } } }).exchanges[v.exchange]!;
  const adapter = adapterFor(v.exchange)!.create(symbols, config.channels, config);
  const sink: FeedHandler = { fields: new Float64Array(FEED_FIELDS), trade: () => {}, quote: () => {} };
  const data = lines.filter((l) => adapter.parse(l, sink) === FrameKind.DATA);
  if (data.length === 0) throw new Error(`parse bench: no data frame for ${v.exchange}`);
  return { adapter, data };
}
