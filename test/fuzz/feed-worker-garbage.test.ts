/**
 * Fuzz, end to end through the real feed worker: a Binance-protocol server on
 * loopback sends the 9,757 recorded BTCUSDT trades and the recorded
 * bookTicker quotes with malformed frames interleaved — frames the fuzzer
 * builds to be malformed (truncated, wrong types, NaN strings, huge numbers,
 * 10,000+ levels of nesting, mebibyte values), binary frames, and text frames
 * whose bytes are not UTF-8. The worker must take every valid trade and
 * quote, count every malformed frame as exactly one parse error, never be
 * restarted, never reconnect, and build the bars the trades alone make
 * (equal to Binance's own klines for them).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import type { TradeEvent } from '../../src/model/events.ts';
import { bookTickerFrames, longTradeFrames } from '../support/fake-binance.ts';
import { binanceDerived1mBars } from '../support/fixtures.ts';
import { Prng } from '../support/prng.ts';
import { until } from '../support/until.ts';
import { fuzzSeed } from './support/fuzz-seed.ts';
import { GarbageExchange, type WireFrame } from './support/garbage-exchange.ts';
import { FrameMutator, type MutationSize } from './support/json-mutation.ts';
import { venueCorpora, type VenueCorpus } from './support/venue-corpora.ts';

let fake: GarbageExchange | undefined;
let tickwire: Tickwire | undefined;

afterEach(async () => {
  await tickwire?.stop();
  await fake?.stop();
  tickwire = undefined;
  fake = undefined;
});

/** Garbage frames for the wire, each one guaranteed to be counted as one parse error. */
function garbage(rng: Prng, corpus: VenueCorpus, count: number): { frames: WireFrame[]; kinds: Record<string, number> } {
  const seeds = corpus.seeds.filter((s) => s.json !== undefined);
  const withFields = seeds.filter((s) => s.fields.length > 0);
  const mutator = new FrameMutator(rng, []);
  const frames: WireFrame[] = [];
  const kinds: Record<string, number> = {};
  const add = (f: WireFrame, kind: string) => {
    frames.push(f);
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  };
  while (frames.length < count) {
    const r = rng.float();
    if (r < 0.05) {
      // A binary frame: random bytes, or a valid frame sent as binary (a text protocol: still an error).
      add({ binary: rng.chance(0.5) ? Buffer.from(rng.pick(withFields).text) : Buffer.from(Array.from({ length: rng.int(1, 64) }, () => rng.int(0, 255))) }, 'binary frame');
    } else if (r < 0.1) {
      // A text frame that is not UTF-8: a valid frame with a bad byte sequence anywhere in it.
      const text = Buffer.from(rng.pick(withFields).text);
      const at = rng.int(0, text.length);
      add({ text: Buffer.concat([text.subarray(0, at), Buffer.from(rng.pick([[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82]])), text.subarray(at)]) }, 'text frame not UTF-8');
    } else {
      const size: MutationSize = r < 0.103 ? 'megabyte' : r < 0.106 ? 'deep' : 'normal';
      const m = mutator.mutate(rng.chance(0.75) ? rng.pick(withFields) : rng.pick(seeds), size);
      if (m.mustReject) add(m.text, m.kind);
    }
  }
  return { frames, kinds };
}

describe('fuzz: garbage through the real feed worker', () => {
  it('every valid trade and quote taken, every malformed frame counted once, no restart, bars equal the klines', async () => {
    const seed = fuzzSeed('feed worker');
    const rng = new Prng(seed);
    const trades = longTradeFrames();
    const quotes = bookTickerFrames();
    // Garbage is built from frames of every symbol in the recordings; the worker subscribes them all,
    // as a frame for a symbol not subscribed is (rightly) ignored unread, not counted.
    const corpus = venueCorpora()['binance']!();
    const bad = garbage(rng, corpus, 6_000);

    // The recorded stream (quotes spread among the trades), garbage spliced in at random places.
    const valid: string[] = [...trades];
    quotes.forEach((q, i) => valid.splice(Math.floor(((i + 1) * valid.length) / (quotes.length + 1)), 0, q));
    const wire: WireFrame[] = [...valid];
    for (const g of bad.frames) wire.splice(rng.int(0, wire.length), 0, g);

    fake = new GarbageExchange();
    await fake.start();
    tickwire = createTickwire(
      { timeframes: ['1m'], exchanges: { binance: { url: fake.url, symbols: corpus.symbols, channels: ['trades', 'quotes'] } } },
      { statusMs: 100, tickMs: 50, connection: { backoffBaseMs: 20, backoffMaxMs: 200 }, supervisor: { restartDelayMs: 20 } },
    );
    const got: TradeEvent[] = [];
    let quoted = 0;
    tickwire.on('trade', (t) => got.push(t));
    tickwire.on('quote', () => quoted++);
    await tickwire.start();
    const server = fake;
    await until(() => server.streams.includes('btcusdt@trade'), 10_000, 'the worker to subscribe');

    const started = performance.now();
    await server.send(wire);
    const tw = tickwire;
    const status = () => tw.status().exchanges['binance']!;
    const context = `seed ${seed} (replay: FUZZ_SEED=${seed})`;
    const progress = () => {
      const st = status();
      return `${got.length}/${trades.length} trades, ${quoted}/${quotes.length} quotes, ${st.parseErrors}/${bad.frames.length} parse errors, ${st.restarts} restarts, ${st.reconnects} reconnects, last error ${st.lastError}`;
    };
    try {
      await until(() => got.length >= trades.length && quoted >= quotes.length && status().parseErrors >= bad.frames.length, 60_000, 'every frame');
    } catch (err) {
      throw new Error(`${String(err)}: ${progress()} (${context})`);
    }
    const elapsed = performance.now() - started;
    // A little longer, so that anything counted twice or restarted late would show.
    await new Promise((r) => setTimeout(r, 300));

    const s = status();
    expect(s.parseErrors, context).toBe(bad.frames.length);
    expect(s.restarts, context).toBe(0);
    expect(s.reconnects, context).toBe(0);
    expect(server.connections, context).toBe(1);
    expect(s.trades, context).toBe(trades.length);
    expect(s.quotes, context).toBe(quotes.length);
    expect(s.duplicateTradesDropped + s.lateTradesDropped, context).toBe(0);
    expect(got.map((t) => t.tradeId), context).toEqual(trades.map((f) => JSON.parse(f).data.t));
    expect(quoted, context).toBe(quotes.length);
    expect(await tw.metrics()).toMatch(new RegExp(`tickwire_parse_errors_total\\{exchange="binance"\\} ${bad.frames.length}\\b`));

    const closed = tw.bars('binance', 'BTCUSDT', '1m', { closed: true });
    const complete = binanceDerived1mBars().filter((b) => b.complete);
    expect(complete.length).toBeGreaterThanOrEqual(5);
    for (const want of complete) {
      const bar = closed.find((b) => b.openTime === want.openTime);
      expect(bar, `bar ${want.openTime} (${context})`).toMatchObject({
        open: want.open, high: want.high, low: want.low, close: want.close,
        volume: want.volume, quoteVolume: want.quoteVolume, buyVolume: want.buyVolume, trades: want.trades, closed: true,
      });
    }
    console.log(
      `fuzz feed worker (seed ${seed}): ${valid.length} valid frames and ${bad.frames.length} malformed ones ` +
        `(${Object.entries(bad.kinds).map(([k, n]) => `${k} ${n}`).join(', ')}) through one worker in ${(elapsed / 1000).toFixed(1)} s; ` +
        `parseErrors ${s.parseErrors}, restarts ${s.restarts}, reconnects ${s.reconnects}`,
    );
  });
});
