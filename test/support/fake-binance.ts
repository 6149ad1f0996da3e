/** A fake Binance for integration tests: the protocol server, plus helpers to replay recorded frames. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import { FIXTURES_DIR } from './fixtures.ts';

/** The recorded BTCUSDT @trade frames, verbatim combined-stream text. */
export function longTradeFrames(): string[] {
  return readFileSync(path.join(FIXTURES_DIR, 'binance-spot/long_trades.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
}

/** The recorded frames of frames.jsonl that are BTCUSDT bookTicker updates. */
export function bookTickerFrames(): string[] {
  return readFileSync(path.join(FIXTURES_DIR, 'binance-spot/frames.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{"stream":"btcusdt@bookTicker"'));
}

/** Start a fake Binance on an ephemeral loopback port. */
export async function startFakeBinance(): Promise<BinanceProtocolServer> {
  const server = new BinanceProtocolServer({ pingIntervalMs: 1_000 });
  await server.start();
  return server;
}
