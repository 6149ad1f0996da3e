/**
 * The soak's and the bench's subscribers' byte scanner against frames made by
 * the server's own serializers (src/wire/json.ts), so a change of the wire
 * shape breaks this test rather than silently blinding the soak; and against
 * streams whose fields move, which its remembered key offsets must follow.
 */
import { describe, expect, it } from 'vitest';
import { MessageType, messageType, readExchangeTradeId, readSeq, readTradeId } from '../../bench/load/frame-scan.ts';
import { tradeFrame } from '../../bench/frames.ts';
import { BAR_FIELDS, BarField, readBar } from '../../src/model/records.ts';
import {
  barMessage,
  errorMessage,
  gapMessage,
  pongMessage,
  prepareChannel,
  quoteMessage,
  snapshotHead,
  subscribedMessage,
  tradeMessage,
} from '../../src/wire/json.ts';

const frame = (text: string): Buffer => Buffer.from(text);

describe('soak frame scan', () => {
  const trades = prepareChannel('trades', 'trades:binance:BTCUSDT', 'binance', 'BTCUSDT');

  it('reads type, seq and tradeId of a trade', () => {
    const text = tradeMessage(trades, 987_654, {
      exchange: 'binance', symbol: 'BTCUSDT', tradeId: 1_000_000_123, price: 61837.63, size: 0.02, side: 'sell', ts: 1723161255342, recvTs: 1723161255343.12,
    });
    const buf = frame(text);
    expect(messageType(buf)).toBe(MessageType.TRADE);
    expect(readSeq(buf)).toBe(987_654);
    expect(readTradeId(buf)).toBe(1_000_000_123);
    // What JSON.parse reads from the same frame.
    const parsed = JSON.parse(text) as { seq: number; tradeId: number };
    expect([parsed.seq, parsed.tradeId]).toEqual([987_654, 1_000_000_123]);
  });

  it('gives NaN for a trade without an id', () => {
    const buf = frame(tradeMessage(trades, 5, { exchange: 'binance', symbol: 'BTCUSDT', tradeId: null, price: 1, size: 1, side: 'buy', ts: 1, recvTs: 1 }));
    expect(messageType(buf)).toBe(MessageType.TRADE);
    expect(readTradeId(buf)).toBeNaN();
  });

  it('reads a bar and a snapshot', () => {
    const bars = prepareChannel('bars', 'bars:binance:BTCUSDT:1m', 'binance', 'BTCUSDT', '1m');
    const record = new Float64Array(BAR_FIELDS);
    record[BarField.OPEN_TIME] = 1723161240000;
    record[BarField.CLOSE_TIME] = 1723161299999;
    const buf = frame(barMessage(bars, 42, readBar(record, 0)));
    expect(messageType(buf)).toBe(MessageType.BAR);
    expect(readSeq(buf)).toBe(42);
    const snap = frame(snapshotHead('bars:binance:BTCUSDT:1m', 41) + ']}');
    expect(messageType(snap)).toBe(MessageType.SNAPSHOT);
    expect(readSeq(snap)).toBe(41);
  });

  it('tells control messages apart', () => {
    expect(messageType(frame(subscribedMessage(1, ['trades:binance:BTCUSDT'], 'e1')))).toBe(MessageType.SUBSCRIBED);
    expect(messageType(frame(gapMessage('trades:binance:BTCUSDT', 50, 90, 'slow_consumer')))).toBe(MessageType.GAP);
    expect(messageType(frame(errorMessage(1, 'UNKNOWN_CHANNEL', 'no')))).toBe(MessageType.ERROR);
    expect(messageType(frame(pongMessage(3)))).toBe(MessageType.OTHER);
    const quotes = prepareChannel('quotes', 'quotes:binance:BTCUSDT', 'binance', 'BTCUSDT');
    const quote = quoteMessage(quotes, 7, { exchange: 'binance', symbol: 'BTCUSDT', bidPrice: 1, bidSize: 1, askPrice: 2, askSize: 1, ts: 1, recvTs: 1 });
    expect(messageType(frame(quote))).toBe(MessageType.OTHER);
  });

  it('declines shapes it does not know', () => {
    expect(messageType(frame('{"seq":1,"type":"trade"}'))).toBe(MessageType.OTHER);
    expect(messageType(frame('{"type":"trades","seq":1}'))).toBe(MessageType.OTHER);
    expect(messageType(frame(''))).toBe(MessageType.OTHER);
    expect(readSeq(frame('{"type":"trade","seq":x}'))).toBeNaN();
    expect(readSeq(frame('{"type":"trade"}'))).toBeNaN();
  });
  it('reads every message of a stream whose fields move (seq and ids growing digits, shapes interleaved) as JSON.parse does', () => {
    const bars = prepareChannel('bars', 'bars:binance:BTCUSDT:1m', 'binance', 'BTCUSDT', '1m');
    const record = new Float64Array(BAR_FIELDS);
    const seqs = [9, 10, 99, 100, 7, 123_456, 1, 99_999_999, 100_000_000];
    const ids = [5, 1_000, 9, 3_735_683_259, 42, 10, 1_000_000_000_000, 8, 77];
    for (let i = 0; i < seqs.length; i++) {
      const text = tradeMessage(trades, seqs[i]!, { exchange: 'binance', symbol: 'BTCUSDT', tradeId: ids[i]!, price: 1.5, size: 2, side: 'buy', ts: 1, recvTs: 1 });
      const parsed = JSON.parse(text) as { seq: number; tradeId: number };
      // Another message in the chunk before it, so the trade starts at a different offset each time.
      const chunk = frame('x'.repeat(i * 7) + text);
      expect([readSeq(chunk, i * 7), readTradeId(chunk, i * 7)]).toEqual([parsed.seq, parsed.tradeId]);
      const bar = frame(barMessage(bars, seqs[seqs.length - 1 - i]!, readBar(record, 0)));
      expect(readSeq(bar)).toBe((JSON.parse(bar.toString()) as { seq: number }).seq);
      const exchangeFrame = tradeFrame('btcusdt@trade', 'BTCUSDT', 10 ** (i + 3), ids[i]!, '1.00000000', '2.00000000', 1, i % 2 === 0);
      expect(readExchangeTradeId(frame(exchangeFrame))).toBe(ids[i]);
    }
  });

  it('reads the trade id of an exchange frame forwarded unchanged (the floor relay), and only of one', () => {
    const text = tradeFrame('btcusdt@trade', 'BTCUSDT', 1723161255343, 3_735_683_259, '61837.63000000', '0.02000000', 1723161255342, true);
    const buf = frame(text);
    expect(messageType(buf)).toBe(MessageType.OTHER);
    expect(readExchangeTradeId(buf)).toBe(3_735_683_259);
    expect((JSON.parse(text) as { data: { t: number } }).data.t).toBe(3_735_683_259);
    const padded = frame('xx' + text + 'yy');
    expect(readExchangeTradeId(padded, 2, padded.length - 2)).toBe(3_735_683_259);
    const tickwireTrade = tradeMessage(trades, 1, { exchange: 'binance', symbol: 'BTCUSDT', tradeId: 7, price: 1, size: 1, side: 'buy', ts: 1, recvTs: 1 });
    expect(readExchangeTradeId(frame(tickwireTrade))).toBeNaN();
    expect(readExchangeTradeId(frame('{"result":null,"id":1}'))).toBeNaN();
  });
});
