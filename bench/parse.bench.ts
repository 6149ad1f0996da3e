/**
 * Adapter parse throughput: recorded frames through `parse(frame, handler)`
 * into a handler that only counts, per frame. Binance @trade frames from
 * long_trades.jsonl and its bookTicker frames; for every other venue, the
 * recorded (or, where none exist, documentation) frames that carry data.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FeedHandler } from '../src/exchanges/adapter.ts';
import { FrameKind, type ExchangeAdapter } from '../src/exchanges/adapter.ts';
import { BinanceAdapter } from '../src/exchanges/binance.ts';
import { adapterFor } from '../src/exchanges/registry.ts';
import { parseConfig } from '../src/config/load.ts';
import { FIXTURES_DIR } from '../test/support/fixtures.ts';
import { runCases, type Row } from './harness.ts';

const BATCH = 1024;

function frames(file: string, prefix: string): string[] {
  return readFileSync(path.join(FIXTURES_DIR, 'binance-spot', file), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => Buffer.from(l).toString()); // flat strings, as the ws client hands them over
}

/** Measure BinanceAdapter.parse on recorded trade and bookTicker frames, per frame. */
export function parseBench(): Row[] {
  const trades = frames('long_trades.jsonl', '{"stream":"btcusdt@trade"');
  const tickers = frames('frames.jsonl', '{"stream":"btcusdt@bookTicker"');
  const adapter = new BinanceAdapter(['BTCUSDT'], ['trades', 'quotes']);
  let count = 0;
  const handler: FeedHandler = {
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
  const venueCases = VENUES.map((v) => {
    const { adapter: a, data } = venueFrames(v);
    let i = 0;
    return {
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
  const rows = runCases('parse', [
    { name: 'binance parse @trade frame', unit: 'frame', batch: BATCH, fn: run(trades) },
    { name: 'binance parse @bookTicker frame', unit: 'frame', batch: BATCH, fn: run(tickers) },
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
  const sink: FeedHandler = { trade: () => {}, quote: () => {} };
  const data = lines.filter((l) => adapter.parse(l, sink) === FrameKind.DATA);
  if (data.length === 0) throw new Error(`parse bench: no data frame for ${v.exchange}`);
  return { adapter, data };
}
