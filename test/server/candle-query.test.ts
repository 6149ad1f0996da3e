/**
 * The candles query (src/server/candle-query.ts): parsed and checked as the
 * route always did, valid queries kept by their text (the same object given
 * again), invalid ones never kept, the kept set bounded.
 */
import { describe, expect, it } from 'vitest';
import { CandleQueries, MAX_KEPT_QUERIES } from '../../src/server/candle-query.ts';
import { DEFAULT_CANDLE_LIMIT, MAX_CANDLE_LIMIT } from '../../src/wire/protocol.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('CandleQueries', () => {
  it('parses every parameter, with the defaults', () => {
    const queries = new CandleQueries();
    expect(queries.parse('')).toEqual({ limit: DEFAULT_CANDLE_LIMIT, start: undefined, end: undefined, format: 'json', closed: false });
    expect(queries.parse('limit=7&start=60000&end=120000&format=fbs&closed=true&token=abc')).toEqual({
      limit: 7,
      start: 60_000,
      end: 120_000,
      format: 'fbs',
      closed: true,
    });
    expect(queries.parse(`limit=${MAX_CANDLE_LIMIT}&format=csv`)).toMatchObject({ limit: MAX_CANDLE_LIMIT, format: 'csv' });
  });

  it('refuses what the route refuses, with INVALID_PARAMETER, and keeps none of it', () => {
    const queries = new CandleQueries();
    for (const bad of ['limit=0', `limit=${MAX_CANDLE_LIMIT + 1}`, 'limit=1.5', 'limit=-3', 'start=9&end=8', 'format=xml', 'closed=yes', 'limit=5&limit=6', 'colour=red']) {
      expect(codeOf(() => queries.parse(bad)), bad).toBe('INVALID_PARAMETER');
      expect(codeOf(() => queries.parse(bad)), `${bad}, asked again`).toBe('INVALID_PARAMETER');
    }
    expect(queries.size).toBe(0);
  });

  it('gives the same frozen object for the same text, and keeps at most MAX_KEPT_QUERIES', () => {
    const queries = new CandleQueries();
    const first = queries.parse('limit=50');
    expect(queries.parse('limit=50')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    for (let i = 1; i <= MAX_KEPT_QUERIES * 3; i++) {
      expect(queries.parse(`limit=${i}`).limit).toBe(i);
      expect(queries.size).toBeLessThanOrEqual(MAX_KEPT_QUERIES);
    }
    expect(queries.parse('limit=50')).toEqual(first); // parsed again once dropped, the same query
  });
});
