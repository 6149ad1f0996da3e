/**
 * Adapter parse throughput: recorded frames through `parse(frame, handler)`
 * into a handler that only counts, per frame. Binance @trade frames from
 * long_trades.jsonl, and the bookTicker frames of frames.jsonl.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FeedHandler } from '../src/exchanges/adapter.ts';
import { BinanceAdapter } from '../src/exchanges/binance.ts';
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
  const rows = runCases('parse', [
    { name: 'binance parse @trade frame', unit: 'frame', batch: BATCH, fn: run(trades) },
    { name: 'binance parse @bookTicker frame', unit: 'frame', batch: BATCH, fn: run(tickers) },
  ]);
  if (count === 0) throw new Error('parse bench: the handler saw nothing');
  return rows;
}
