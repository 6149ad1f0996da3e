/**
 * The ingest benchmarks' peer pipeline (bench/tardis-pipeline.ts), checked
 * so its CPU per trade is the cost of real work: every bench frame becomes
 * one normalized trade, bars come out per symbol as tardis-dev closes them
 * (one per second bucket left, when the next bucket's first trade arrives),
 * and frames its normalizer does not handle are counted, not taken.
 */
import { describe, expect, it } from 'vitest';
import { ingestFrames } from '../../bench/frames.ts';
import { tardisBarFactories, TardisPipeline } from '../../bench/tardis-pipeline.ts';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];

describe('tardis-dev peer pipeline', () => {
  it('takes every frame as one trade and closes a 1s bar per second bucket left, per symbol', () => {
    const { frames, perSymbol } = ingestFrames(5_000, SYMBOLS, 3);
    const pipeline = new TardisPipeline(tardisBarFactories(['1s']));
    for (const f of frames) pipeline.frame(f);

    const seconds = SYMBOLS.map(() => new Set<number>());
    for (const f of frames) {
      const d = JSON.parse(f).data as { s: string; T: number };
      seconds[SYMBOLS.indexOf(d.s)]!.add(Math.floor(d.T / 1000));
    }
    expect(perSymbol.every((n) => n > 0)).toBe(true);
    expect(pipeline.trades).toBe(5_000);
    expect(pipeline.skipped).toBe(0);
    expect(pipeline.bars).toBe(seconds.reduce((a, s) => a + s.size - 1, 0));
  });

  it('counts a frame its normalizer does not handle (a SUBSCRIBE ack) as skipped', () => {
    const pipeline = new TardisPipeline(tardisBarFactories(['1m', '1h']));
    pipeline.frame('{"result":null,"id":1}');
    const { frames } = ingestFrames(10, SYMBOLS, 1);
    for (const f of frames) pipeline.frame(f);
    expect(pipeline.skipped).toBe(1);
    expect(pipeline.trades).toBe(10);
  });
});
