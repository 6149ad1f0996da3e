/**
 * Regressions outside the adapters that the fuzzers found:
 * - a venue's text frame that is not UTF-8 failed the whole feed connection
 *   (ws closes with 1007): every frame until the reconnect was lost; it is
 *   now one counted parse error;
 * - an error message quoting a value nested a few thousand levels deep threw
 *   (JSON.stringify overflows the stack), so a hostile query or client
 *   message became an INTERNAL_ERROR; quoting now never throws, costs little
 *   and stays short.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidParameterError, showValue } from '../../src/errors.ts';
import { FrameKind } from '../../src/exchanges/adapter.ts';
import { BinanceAdapter } from '../../src/exchanges/binance.ts';
import { FeedConnection } from '../../src/feed/connection.ts';
import { recorder } from '../support/recorder.ts';
import { until } from '../support/until.ts';
import { GarbageExchange } from './support/garbage-exchange.ts';

let fake: GarbageExchange | undefined;
let conn: FeedConnection | undefined;

afterEach(async () => {
  conn?.stop();
  await fake?.stop();
  conn = undefined;
  fake = undefined;
});

const TRADE = (id: number) =>
  `{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":${id},"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}`;

describe('fuzz regressions: the feed connection', () => {
  it('a text frame that is not UTF-8 is one parse error; the connection and the frames after it go on', async () => {
    fake = new GarbageExchange();
    await fake.start();
    const seen = recorder();
    const kinds: FrameKind[] = [];
    const errors: string[] = [];
    conn = new FeedConnection(new BinanceAdapter(['BTCUSDT'], ['trades']), fake.url, seen, {
      onFrame: (k) => kinds.push(k),
      onError: (e) => errors.push(e),
    });
    conn.start();
    const server = fake;
    await until(() => server.streams.length === 1 && conn!.pendingAcks.size === 0, 5_000, 'the subscription');
    const broken = Buffer.from(TRADE(2));
    await server.send([TRADE(1), { text: Buffer.concat([broken.subarray(0, 60), Buffer.from([0xc0, 0xaf]), broken.subarray(60)]) }, { binary: Buffer.from(TRADE(3)) }, TRADE(4)]);
    await until(() => seen.trades.length === 2, 5_000, 'the trade after the bad frames');
    expect(seen.trades.map((t) => t.id)).toEqual([1, 4]);
    expect(conn.parseErrors).toBe(2);
    expect(conn.reconnects).toBe(0);
    expect(server.connections).toBe(1);
    expect(errors).toEqual(['text frame that is not UTF-8', 'binary frame from a text protocol']);
    expect(kinds.slice(-3)).toEqual([FrameKind.MALFORMED, FrameKind.MALFORMED, FrameKind.DATA]);
  });
});

describe('fuzz regressions: quoting values in error messages', () => {
  const deep = (n: number) => JSON.parse('['.repeat(n) + ']'.repeat(n)) as unknown;

  it('a value nested 30,000 deep is quoted short, without throwing (and without walking all of it)', () => {
    const v = deep(30_000);
    expect(() => JSON.stringify(v)).toThrow(RangeError); // what quoting did before
    expect(showValue(v)).toBe(`${'['.repeat(200)}…`);
    const err = new InvalidParameterError('since', v, 'an object');
    expect(err.code).toBe('INVALID_PARAMETER');
    expect(err.message.length).toBeLessThan(300);
  });

  it('quotes ordinary values as JSON, and long ones cut to 200 characters', () => {
    expect(showValue('abc')).toBe('"abc"');
    expect(showValue({ a: 1, b: [2, null, 'x'], c: undefined })).toBe('{"a":1,"b":[2,null,"x"]}');
    expect(showValue(undefined)).toBe('undefined');
    expect(showValue(new Date(0))).toBe('"1970-01-01T00:00:00.000Z"');
    expect(showValue(10n)).toBe('10n');
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    expect(showValue(cycle).length).toBe(201);
    expect(showValue('9'.repeat(12_000))).toBe(`"${'9'.repeat(199)}…`);
    expect(new InvalidParameterError('limit', '9'.repeat(12_000), 'an integer from 1 to 5000').message).toBe(
      `invalid limit: got "${'9'.repeat(199)}…, expected an integer from 1 to 5000`,
    );
  });
});
