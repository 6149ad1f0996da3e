/** Loaders for the recorded exchange frames in ../shared/fixtures (never the network). */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Root of the shared fixture corpus (override with TICKWIRE_FIXTURES). */
export const FIXTURES_DIR =
  process.env['TICKWIRE_FIXTURES'] ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures');

// A clone without the corpus fails here, once per test file that needs it, with what to do instead of a raw ENOENT.
if (!existsSync(FIXTURES_DIR)) {
  throw new Error(
    `the recorded exchange frames these tests replay are not at ${FIXTURES_DIR}: ` +
      'put the fixture corpus there (../shared/fixtures beside this checkout) or set TICKWIRE_FIXTURES=/path/to/fixtures',
  );
}

/** A trade as the aggregator tests replay it. */
export interface FixtureTrade {
  ts: number;
  price: number;
  size: number;
  side: number;
  id: number;
}

/** The 9,757 real BTCUSDT @trade frames, in file order, as plain trades. */
export function binanceLongTrades(): FixtureTrade[] {
  const text = readFileSync(path.join(FIXTURES_DIR, 'binance-spot/long_trades.jsonl'), 'utf8');
  const trades: FixtureTrade[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const d = JSON.parse(line).data;
    // `m`: the buyer is the maker, so the seller was the aggressor.
    trades.push({ ts: d.T, price: Number(d.p), size: Number(d.q), side: d.m ? -1 : 1, id: d.t });
  }
  return trades;
}

/** One bar of long_trades_1m_bars.derived.json, with numeric fields. */
export interface DerivedBar {
  openTime: number;
  closeTime: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  quoteVolume: number;
  buyVolume: number;
  trades: number;
  firstTradeId: number;
  lastTradeId: number;
  complete: boolean;
}

/** The corpus's 1m bars derived from long_trades.jsonl. */
export function binanceDerived1mBars(): DerivedBar[] {
  const raw = JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'binance-spot/long_trades_1m_bars.derived.json'), 'utf8'));
  return raw.bars.map((b: Record<string, string | number | boolean>) => ({
    openTime: b['t'],
    closeTime: b['T'],
    open: Number(b['o']),
    high: Number(b['h']),
    low: Number(b['l']),
    close: Number(b['c']),
    volume: Number(b['v']),
    quoteVolume: Number(b['q']),
    buyVolume: Number(b['V']),
    trades: b['n'],
    firstTradeId: b['firstTradeId'],
    lastTradeId: b['lastTradeId'],
    complete: b['complete'],
  }));
}
