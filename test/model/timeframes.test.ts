import { describe, expect, it } from 'vitest';
import { TickwireError } from '../../src/errors.ts';
import { bucketStart, isTimeframe, METATRADER_ALIASES, parseTimeframe, TIMEFRAMES } from '../../src/model/timeframes.ts';

describe('timeframes', () => {
  it('parses every canonical name and MetaTrader alias', () => {
    expect(TIMEFRAMES.map((n) => parseTimeframe(n).ms)).toEqual([
      1e3, 5e3, 15e3, 60e3, 180e3, 300e3, 900e3, 1800e3, 3600e3, 7200e3, 14400e3, 21600e3, 43200e3, 86400e3, 604800e3,
    ]);
    for (const [alias, name] of Object.entries(METATRADER_ALIASES)) expect(parseTimeframe(alias)).toBe(parseTimeframe(name));
    expect(isTimeframe('H4')).toBe(true);
    expect(isTimeframe('2m')).toBe(false);
  });

  it('rejects unknown names with INVALID_TIMEFRAME and the accepted list', () => {
    for (const bad of ['2m', '1M', 'm1', '', ' 1m', '60']) {
      let err: unknown;
      try {
        parseTimeframe(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TickwireError);
      expect((err as TickwireError).code).toBe('INVALID_TIMEFRAME');
      expect((err as TickwireError).message).toContain('1m');
    }
  });

  it('aligns buckets to UTC, weeks to Monday', () => {
    const ts = Date.UTC(2024, 7, 8, 23, 54, 15, 342); // Thursday
    const start = (name: string) => new Date(bucketStart(ts, parseTimeframe(name).ms, parseTimeframe(name).origin)).toISOString();
    expect(start('1s')).toBe('2024-08-08T23:54:15.000Z');
    expect(start('15s')).toBe('2024-08-08T23:54:15.000Z');
    expect(start('3m')).toBe('2024-08-08T23:54:00.000Z');
    expect(start('5m')).toBe('2024-08-08T23:50:00.000Z');
    expect(start('4h')).toBe('2024-08-08T20:00:00.000Z');
    expect(start('12h')).toBe('2024-08-08T12:00:00.000Z');
    expect(start('1d')).toBe('2024-08-08T00:00:00.000Z');
    expect(start('1w')).toBe('2024-08-05T00:00:00.000Z'); // Monday
  });

  it('handles times before the alignment origin', () => {
    const w = parseTimeframe('1w');
    expect(new Date(bucketStart(0, w.ms, w.origin)).toISOString()).toBe('1969-12-29T00:00:00.000Z');
    expect(bucketStart(-1, 60_000, 0)).toBe(-60_000);
  });
});
