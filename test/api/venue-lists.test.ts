/**
 * The runtime's venue symbol lists (src/api/venue-lists.ts), over a scripted
 * source: a failed fetch keeps the list from before and is logged and
 * counted; no list means "unknown", never "unlisted"; concurrent refreshes
 * share one fetch; venues comparing without case are checked so.
 */
import { describe, expect, it } from 'vitest';
import type { ExchangeConfig } from '../../src/config/types.ts';
import { VenueLists } from '../../src/api/venue-lists.ts';
import type { SymbolListSource } from '../../src/exchanges/venue-symbols.ts';
import { captureLog } from '../support/log-capture.ts';

const CONFIG = { symbols: ['BTCUSDT'] } as ExchangeConfig;

/** A source answering each fetch with the next scripted list, or failing where the script says Error. */
function scripted(answers: (string[] | Error)[], caseInsensitive = false): SymbolListSource & { calls: number } {
  const source = {
    endpoint: 'GET /list',
    caseInsensitive,
    calls: 0,
    async fetch(): Promise<string[]> {
      const a = answers[Math.min(source.calls++, answers.length - 1)]!;
      if (a instanceof Error) throw a;
      return a;
    },
  };
  return source;
}

describe('VenueLists', () => {
  it('a failed fetch keeps the previous list, logged and counted', async () => {
    const log = captureLog('info');
    const lists = new VenueLists(log.logger);
    lists.track('binance', scripted([['BTCUSDT', 'ETHUSDT'], new Error('HTTP 503')]), CONFIG, () => 'http://venue');
    await lists.refresh('binance');
    expect(lists.listing('binance', 'ETHUSDT')).toBe('listed');
    expect(lists.listing('binance', 'NOPEUSDT')).toBe('unlisted');
    const fetchedAt = lists.status('binance')!.fetchedAt;

    await lists.refresh('binance');
    expect(lists.listing('binance', 'ETHUSDT')).toBe('listed');
    expect(lists.status('binance')).toEqual({ symbols: 2, fetchedAt, error: 'HTTP 503', fetches: 2, failures: 1 });
    const failed = log.lines.find((l) => l['event'] === 'symbols.list_failed')!;
    expect(failed['msg']).toContain('keeping the list of 2');
  });

  it('no list yet is unknown, never unlisted; a later success fills it', async () => {
    const lists = new VenueLists(captureLog().logger);
    lists.track('kraken', scripted([new Error('timeout'), ['BTC/USD']]), CONFIG, () => 'http://venue');
    await lists.refresh('kraken');
    expect(lists.listing('kraken', 'BTC/USD')).toBe('unknown');
    expect(lists.status('kraken')).toMatchObject({ symbols: null, fetchedAt: null, error: 'timeout', failures: 1 });
    await lists.refresh('kraken');
    expect(lists.listing('kraken', 'ETH/USD')).toBe('unlisted');
    expect(lists.status('kraken')!.error).toBeNull();
  });

  it('an empty list is a failure (a venue listing nothing is a broken answer)', async () => {
    const lists = new VenueLists(captureLog().logger);
    lists.track('okx', scripted([[]]), CONFIG, () => 'http://venue');
    await lists.refresh('okx');
    expect(lists.listing('okx', 'BTC-USDT')).toBe('unknown');
    expect(lists.status('okx')!.error).toContain('listed no tradable symbol');
  });

  it('refreshes at once share one fetch; no REST URL fetches nothing', async () => {
    const lists = new VenueLists(captureLog().logger);
    const source = scripted([['A']]);
    lists.track('coinbase', source, CONFIG, () => 'http://venue');
    await Promise.all([lists.refresh('coinbase'), lists.refresh('coinbase'), lists.refresh('coinbase')]);
    expect(source.calls).toBe(1);

    const none = scripted([['A']]);
    lists.track('bybit', none, CONFIG, () => undefined);
    await lists.refresh('bybit');
    expect(none.calls).toBe(0);
    expect(lists.listing('bybit', 'A')).toBe('unknown');
    expect(lists.status('nowhere')).toBeUndefined();
  });

  it('a venue comparing without case matches any spelling', async () => {
    const lists = new VenueLists(captureLog().logger);
    lists.track('bitstamp', scripted([['BTCUSD']], true), CONFIG, () => 'http://venue');
    await lists.refresh('bitstamp');
    expect(lists.listing('bitstamp', 'btcusd')).toBe('listed');
    expect(lists.listing('bitstamp', 'BtcUsd')).toBe('listed');
  });
});
