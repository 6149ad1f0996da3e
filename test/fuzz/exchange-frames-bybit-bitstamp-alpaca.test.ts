/** Fuzz: malformed frames for the Bybit, Bitstamp and Alpaca (stocks and crypto) adapters. */
import { describe } from 'vitest';
import { fuzzFrames } from './support/frame-suite.ts';

describe('fuzz: exchange frames, Bybit / Bitstamp / Alpaca', () => {
  fuzzFrames(['bybit', 'bitstamp', 'alpaca (stocks)', 'alpaca (crypto)']);
});
