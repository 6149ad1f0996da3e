import { describe, expect, it } from 'vitest';
import { klineInterval, parseKlines } from '../../src/backfill/binance-klines.ts';
import { TickwireError } from '../../src/errors.ts';
import { BarField as F, BarSource, readBar } from '../../src/model/records.ts';
import { parseTimeframe } from '../../src/model/timeframes.ts';

const M1 = parseTimeframe('1m');
// As Binance documents a kline (GET /api/v3/klines), with real-looking values.
const KLINE = [1723161240000, '61830.01', '61845.00', '61820.50', '61837.63', '12.50000000', 1723161299999, '772970.12500000', 1234, '7.25000000', '448300.00000000', '0'];

describe('Binance klines', () => {
  it('maps a kline to a closed, backfilled bar', () => {
    const [rec] = parseKlines([KLINE], M1, 'test');
    const bar = readBar(rec!, 0);
    expect(bar).toEqual({
      openTime: 1723161240000,
      closeTime: 1723161299999,
      open: 61830.01,
      high: 61845,
      low: 61820.5,
      close: 61837.63,
      volume: 12.5,
      quoteVolume: 772970.125,
      buyVolume: 7.25,
      sellVolume: 5.25,
      trades: 1234,
      firstTradeId: null,
      lastTradeId: null,
      vwap: 772970.125 / 12.5,
      spread: null,
      closed: true,
      revision: 0,
      source: 'backfill',
    });
    expect(rec![F.SOURCE]).toBe(BarSource.BACKFILL);
  });

  it('an empty kline has no vwap', () => {
    const empty = [...KLINE];
    empty[5] = '0.00000000';
    empty[7] = '0.00000000';
    empty[8] = 0;
    empty[9] = '0.00000000';
    expect(readBar(parseKlines([empty], M1, 't')[0]!, 0).vwap).toBeNull();
  });

  it.each([
    ['not an array', {}],
    ['short kline', [[1723161240000, '1']]],
    ['unaligned open time', [[1723161240001, ...KLINE.slice(1)]]],
    ['number instead of decimal string', [[KLINE[0], 61830.01, ...KLINE.slice(2)]]],
    ['NaN string', [[KLINE[0], 'NaN', ...KLINE.slice(2)]]],
    ['negative volume', [[...KLINE.slice(0, 5), '-1', ...KLINE.slice(6)]]],
    ['low above high', [[KLINE[0], '1', '1', '2', ...KLINE.slice(4)]]],
    ['fractional trade count', [[...KLINE.slice(0, 8), 1.5, ...KLINE.slice(9)]]],
    ['open times not increasing', [KLINE, KLINE]],
  ])('rejects a malformed answer (%s) whole, with INVALID_PARAMETER', (_, body) => {
    try {
      parseKlines(body, M1, 'klines BTCUSDT 1m');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TickwireError);
      expect((err as TickwireError).code).toBe('INVALID_PARAMETER');
      expect((err as Error).message).toContain('klines BTCUSDT 1m');
    }
  });

  it('knows which timeframes Binance has intervals for', () => {
    expect(klineInterval('1m')).toBe('1m');
    expect(klineInterval('1s')).toBe('1s');
    expect(klineInterval('1w')).toBe('1w');
    expect(klineInterval('5s')).toBeUndefined();
  });
});
