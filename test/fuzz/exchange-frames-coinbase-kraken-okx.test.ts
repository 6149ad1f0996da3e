/** Fuzz: malformed frames for the Coinbase, Kraken (v2) and OKX adapters. */
import { describe } from 'vitest';
import { fuzzFrames } from './support/frame-suite.ts';

describe('fuzz: exchange frames, Coinbase / Kraken / OKX', () => {
  fuzzFrames(['coinbase', 'kraken', 'okx']);
});
