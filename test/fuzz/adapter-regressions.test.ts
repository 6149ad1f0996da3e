/**
 * Regressions: each bug the frame fuzzer found in an adapter, as the smallest
 * frame that showed it. Before the fixes, each of these frames crashed the
 * parse (an exception out of `parse` kills the feed worker), handed out a
 * trade or quote that no venue sends (Infinity, a 1970 or year-9999 time, a
 * price whose bar sums overflow), or was swallowed as IGNORED instead of
 * being counted as a parse error.
 */
import { describe, expect, it } from 'vitest';
import type { ExchangeConfig, FeedChannel } from '../../src/config/types.ts';
import { FrameKind, type ExchangeAdapter } from '../../src/exchanges/adapter.ts';
import { adapterFor } from '../../src/exchanges/registry.ts';
import { BarAggregator } from '../../src/bars/aggregator.ts';
import { recorder } from '../support/recorder.ts';

function adapter(exchange: string, symbols: string[], channels: FeedChannel[] = ['trades', 'quotes'], extra: Partial<ExchangeConfig> = {}): ExchangeAdapter {
  const config: ExchangeConfig = {
    url: undefined, symbols, channels, rate: 0, seed: 1, restUrl: undefined, key: 'k', secret: 's', assetClass: 'stocks', feed: undefined, ...extra,
  };
  const a = adapterFor(exchange)!.create(symbols, channels, config);
  let id = 1;
  a.subscribeRequests(() => id++);
  return a;
}

/** Parse `frame`: it must not throw, must be MALFORMED and must hand out nothing. */
function rejected(a: ExchangeAdapter, frame: string): void {
  const seen = recorder();
  expect(a.parse(frame, seen), frame.slice(0, 200)).toBe(FrameKind.MALFORMED);
  expect([...seen.trades, ...seen.quotes]).toEqual([]);
}

const BINANCE_TRADE = (t: string, p: string, q: string, T: string, e = '"trade"') =>
  `{"stream":"btcusdt@trade","data":{"e":${e},"E":1723161255343,"s":"BTCUSDT","t":${t},"p":"${p}","q":"${q}","T":${T},"m":true,"M":true}}`;

describe('fuzz regressions: Binance spot and the simulated exchange', () => {
  it('a negative trade time or id is malformed (the fast path took both)', () => {
    for (const name of ['binance', 'simulated']) {
      const a = adapter(name, ['BTCUSDT']);
      rejected(a, BINANCE_TRADE('-5', '61837.63', '0.02', '1723161255342'));
      rejected(a, BINANCE_TRADE('3735683259', '61837.63', '0.02', '-7'));
    }
  });

  it('"Infinity", "1e400", " 1", "0x1A" and "+1" are no decimals (Number() read them)', () => {
    const a = adapter('binance', ['BTCUSDT']);
    for (const bad of ['Infinity', '1e400', ' 1', '0x1A', '+1', '1e308']) rejected(a, BINANCE_TRADE('1', bad, '0.02', '1723161255342'));
    rejected(a, '{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"61837.63","B":"1","a":"Infinity","A":"1"}}');
    // Exponents within bounds stay readable, as before.
    const seen = recorder();
    expect(a.parse(BINANCE_TRADE('1', '6.183763e4', '2E-2', '1723161255342'), seen)).toBe(FrameKind.DATA);
    expect(seen.trades).toEqual([{ symbol: 0, ts: 1723161255342, price: 61837.63, size: 0.02, side: -1, id: 1 }]);
  });

  it('a trade dated 1970, year 2286 or 1e308 is malformed, so it cannot make every later trade "late"', () => {
    const a = adapter('binance', ['BTCUSDT']);
    for (const T of ['1', '1e308', '9007199254740991', '4102444800000']) rejected(a, BINANCE_TRADE('1', '61837.63', '0.02', T));
    // What one such trade did to the bars before: every later trade dropped as late.
    const agg = new BarAggregator(['1m'], { onBar() {} }, { graceMs: 250, fillEmpty: true, lateToleranceMs: 5000 });
    agg.addTrade(1723161255342, 10, 1, 1, 1);
    agg.addTrade(9007199254740991, 10, 1, 1, 2);
    agg.addTrade(1723161256342, 10, 1, 1, 3);
    expect(agg.lateDropped).toBe(1);
  });

  it('an event type that is not a string is malformed, not IGNORED (it went uncounted)', () => {
    rejected(adapter('binance', ['BTCUSDT']), BINANCE_TRADE('1', '61837.63', '0.02', '1723161255342', '123'));
  });
});

describe('fuzz regressions: Binance USDⓈ-M', () => {
  it('the fast path takes no trade or quote time before 2000', () => {
    const a = adapter('binance-usdm', ['BTCUSDT']);
    rejected(a, '{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161257772,"T":1,"s":"BTCUSDT","t":5266583990,"p":"61800.10","q":"0.035","X":"MARKET","m":false}}');
    rejected(a, '{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":5123107876322,"s":"BTCUSDT","b":"61800.10","B":"0.603","a":"61800.20","A":"3.804","T":173161256846,"E":1723161256846}}');
  });
});

describe('fuzz regressions: Coinbase', () => {
  const match = (size: string, time = '2021-04-17T16:44:04.766379Z') =>
    `{"type":"match","trade_id":1568316,"side":"buy","size":"${size}","price":"0.7901","product_id":"SKL-USD","sequence":201393662,"time":"${time}"}`;

  it('"1e400" (Infinity) and "1e308" (overflowing price × size) are no sizes; 1970 is no trade time', () => {
    const a = adapter('coinbase', ['SKL-USD']);
    rejected(a, match('1e400'));
    rejected(a, match('1e308'));
    rejected(a, match('1', '1970-01-01T00:00:00.000000Z'));
  });
});

describe('fuzz regressions: Kraken', () => {
  const trade = (price: string, ts = '2023-09-25T07:48:36.925533Z') =>
    `{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":${price},"qty":1,"ord_type":"limit","trade_id":1,"timestamp":"${ts}"}]}`;

  it('a price of 1e308 or 1.7976931348623157e308 is malformed; so is a trade in year 9999', () => {
    const a = adapter('kraken', ['BTC/USD']);
    rejected(a, trade('1e308'));
    rejected(a, trade('1.7976931348623157e308'));
    rejected(a, trade('1', '9999-09-25T07:48:36.925533Z'));
  });

  it('a megabyte of venue error text is cut short in the adapter error (it goes to /v1/status)', () => {
    const a = adapter('kraken', ['BTC/USD']);
    expect(a.parse(JSON.stringify({ error: 'x'.repeat(1 << 20), method: 'subscribe', success: false, symbol: 'y'.repeat(1 << 20) }), recorder())).toBe(FrameKind.ERROR);
    expect(a.error.length).toBeLessThan(1000);
  });
});

describe('fuzz regressions: OKX', () => {
  const deep = '['.repeat(20_000) + ']'.repeat(20_000);

  it('a subscribe ack or a notice with deeply nested values does not throw (String() recursed)', () => {
    const a = adapter('okx', ['BTC-USDT']);
    expect(a.parse(`{"event":"subscribe","arg":{"channel":"books","instId":${deep}}}`, recorder())).toBe(FrameKind.ACK);
    expect(a.ackId).toBeNaN();
    expect(a.parse(`{"event":"notice","code":${deep},"msg":${deep}}`, recorder())).toBe(FrameKind.IGNORED);
  });

  it('a trade time of "0" or "1" and a decimal of 39 nines (rounds to 1e39) are malformed', () => {
    const a = adapter('okx', ['BTC-USDT']);
    const trade = (sz: string, ts: string) => `{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"338476310","px":"30243.5","sz":"${sz}","side":"buy","ts":"${ts}"}]}`;
    rejected(a, trade('0.1', '0'));
    rejected(a, trade('0.1', '1'));
    rejected(a, trade('9'.repeat(39), '1652459226765'));
  });
});

describe('fuzz regressions: Bybit', () => {
  it('failTopics holding nested arrays does not throw (join recursed): malformed', () => {
    const a = adapter('bybit', ['BTCUSDT']);
    rejected(a, `{"success":true,"ret_msg":"","conn_id":"x","req_id":"1","type":"COMMAND_RESP","data":{"failTopics":[${'['.repeat(20_000)}${']'.repeat(20_000)}]}}`);
  });

  it('a price of 39 nines and a push time before 2000 are malformed', () => {
    const a = adapter('bybit', ['BTCUSDT']);
    const frame = (p: string, ts: string) => `{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":${ts},"data":[{"T":1680688979983,"s":"BTCUSDT","S":"Buy","v":"0.4","p":"${p}","i":"4c7b6bdc-b4a3-5716-9c7b-bbe01dc7072f","BT":false}]}`;
    rejected(a, frame('9'.repeat(39), '1680688979985'));
    rejected(a, frame('94.53', '946684799999'));
  });
});

describe('fuzz regressions: Bitstamp', () => {
  const trade = (amount: string, us: string) =>
    `{"data":{"microtimestamp":"${us}","amount":0.001643,"amount_str":"${amount}","price_str":"3651.30","price":3651.3,"type":0,"id":84550458},"event":"trade","channel":"live_trades_btceur"}`;

  it('"1e400" is no amount (Infinity); a microtimestamp of "1" is no time', () => {
    const a = adapter('bitstamp', ['btceur'], ['trades']);
    rejected(a, trade('1e400', '1554076803243152'));
    rejected(a, trade('0.00164300', '1'));
  });
});

describe('fuzz regressions: Alpaca', () => {
  const trade = (i: string, p = '126.55', t = '2021-02-22T15:51:44.208Z') => `[{"T":"t","i":${i},"S":"AAPL","x":"D","p":${p},"s":1,"t":"${t}","z":"C"}]`;

  it('the big-id marker spelled on the wire does not throw (BigInt("abc") did) and is no id', () => {
    for (const assetClass of ['stocks', 'crypto'] as const) {
      const a = adapter('alpaca', ['AAPL'], ['trades', 'quotes'], { assetClass });
      rejected(a, trade('"\\u0001abc"'));
      rejected(a, trade('"\\u0001"'));
      rejected(a, trade('"\\u00011234567890123456789"'));
    }
  });

  it('a price of 1e308 and a time in year 0000 (a negative epoch) are malformed', () => {
    const a = adapter('alpaca', ['AAPL']);
    rejected(a, trade('96921', '1e308'));
    rejected(a, trade('96921', '126.55', '0000-02-22T15:51:44.208Z'));
    // Big ids written as numbers still read exactly (the rewrite is the adapter's own).
    const seen = recorder();
    expect(adapter('alpaca', ['AAPL'], ['trades'], { assetClass: 'crypto' }).parse(trade('3447222699101865076'), seen)).toBe(FrameKind.DATA);
    expect(seen.trades[0]!.id).toBe(Number(3447222699101865076n % 2n ** 53n));
  });
});
