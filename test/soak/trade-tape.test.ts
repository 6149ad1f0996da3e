/** The soak's fixed-rate trade tape: its rate accounting, its ids, and frames the real Binance adapter reads. */
import { describe, expect, it } from 'vitest';
import { FIRST_TRADE_ID, TradeTape } from '../../scripts/soak/trade-tape.ts';
import { SendTimes } from '../../bench/load/send-times.ts';
import { FrameKind } from '../../src/exchanges/adapter.ts';
import { BinanceAdapter } from '../../src/exchanges/binance.ts';
import { recorder } from '../support/recorder.ts';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];

describe('TradeTape', () => {
  it('owes exactly rate × elapsed trades, catching up after a hold-up', () => {
    const tape = new TradeTape(SYMBOLS, 2_000, 1);
    expect(tape.due(5e6)).toBe(0); // not started
    tape.start(1_000_000);
    expect(tape.due(1_000_000)).toBe(0);
    expect(tape.due(1_000_999)).toBe(1); // 0.999 ms at 2/ms
    expect(tape.due(1_010_000)).toBe(20);
    for (let i = 0; i < 15; i++) tape.next(1);
    expect(tape.due(1_010_000)).toBe(5);
    expect(tape.due(2_000_000)).toBe(2_000 - 15); // one second later, whatever was skipped is owed
  });

  it('numbers trades from one counter, round-robin over the symbols', () => {
    const tape = new TradeTape(SYMBOLS, 100, 2);
    const seen: { s: string; t: number }[] = [];
    for (let i = 0; i < 9; i++) seen.push(JSON.parse(tape.next(1_700_000_000_000)) as { s: string; t: number });
    expect(seen.map((x) => x.t)).toEqual(Array.from({ length: 9 }, (_, i) => FIRST_TRADE_ID + i));
    expect(seen.map((x) => x.s)).toEqual([...SYMBOLS, ...SYMBOLS, ...SYMBOLS]);
    expect(tape.produced).toEqual([3, 3, 3]);
    expect(tape.count).toBe(9);
  });

  it('is reproducible from its seed', () => {
    const a = new TradeTape(SYMBOLS, 100, 9);
    const b = new TradeTape(SYMBOLS, 100, 9);
    const c = new TradeTape(SYMBOLS, 100, 10);
    const run = (t: TradeTape) => Array.from({ length: 50 }, () => t.next(1)).join('\n');
    expect(run(a)).toBe(run(b));
    expect(run(c)).not.toBe(run(a));
  });

  it('writes frames the Binance adapter takes as trades, field for field', () => {
    const tape = new TradeTape(SYMBOLS, 100, 3);
    const adapter = new BinanceAdapter(SYMBOLS, ['trades']);
    const rec = recorder();
    for (let i = 0; i < 300; i++) {
      const payload = tape.next(1_723_161_255_000 + i);
      const frame = `{"stream":"${SYMBOLS[i % 3]!.toLowerCase()}@trade","data":${payload}}`;
      expect(adapter.parse(frame, rec)).toBe(FrameKind.DATA);
      const p = JSON.parse(payload) as Record<string, unknown>;
      // The field order of Binance's @trade payload, which the adapter's allocation-free path reads.
      expect(Object.keys(p)).toEqual(['e', 'E', 's', 't', 'p', 'q', 'T', 'm', 'M']);
      const t = rec.trades[i]!;
      expect(t).toEqual({ symbol: i % 3, ts: p['T'], price: Number(p['p']), size: Number(p['q']), side: p['m'] ? -1 : 1, id: p['t'] });
      expect(t.price).toBeGreaterThan(0);
      expect(t.size).toBeGreaterThan(0);
    }
  });
});

describe('SendTimes', () => {
  it('returns what was recorded for an id, NaN for ids it does not hold', () => {
    const times = new SendTimes(SendTimes.allocate());
    times.record(FIRST_TRADE_ID, 123.5);
    expect(times.sentAt(FIRST_TRADE_ID)).toBe(123.5);
    expect(times.sentAt(FIRST_TRADE_ID + 1)).toBeNaN();
    // An id a full table later takes the slot over.
    times.record(FIRST_TRADE_ID + (1 << 20), 999);
    expect(times.sentAt(FIRST_TRADE_ID)).toBeNaN();
    expect(times.sentAt(FIRST_TRADE_ID + (1 << 20))).toBe(999);
  });

  it('is shared: a second view over the buffer sees the writes', () => {
    const buffer = SendTimes.allocate();
    new SendTimes(buffer).record(42, 7);
    expect(new SendTimes(buffer).sentAt(42)).toBe(7);
  });
});
