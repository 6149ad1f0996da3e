/**
 * Fuzz: malformed frames for the Binance-protocol adapters (spot, the
 * simulated exchange, USDⓈ-M futures); and every adapter of the registry has
 * a fuzz corpus, so a new venue cannot skip this suite.
 */
import { describe, expect, it } from 'vitest';
import { adapterNames } from '../../src/exchanges/registry.ts';
import { fuzzFrames } from './support/frame-suite.ts';
import { venueCorpora } from './support/venue-corpora.ts';

describe('fuzz: exchange frames, Binance protocol', () => {
  it('every adapter in the registry is fuzzed (the three frame suites cover all corpora)', () => {
    const fuzzed = new Set(Object.values(venueCorpora()).map((make) => make().exchange));
    expect([...fuzzed].sort()).toEqual(adapterNames().sort());
  });

  fuzzFrames(['binance', 'simulated', 'binance-usdm']);
});
