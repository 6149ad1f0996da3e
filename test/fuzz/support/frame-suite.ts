/**
 * One vitest `it` per adapter configuration: 100,000 malformed frames with
 * valid ones interleaved (see frame-fuzzer.ts for what is checked), a few
 * hundred of them a mebibyte in size or nested 10,000+ levels deep; all three
 * counts times FUZZ_SCALE (a tenth in `npm test`, see fuzz-scale.ts). Each
 * test file runs a group of adapters, so progress shows per group.
 */
import { expect, it } from 'vitest';
import { fuzzAdapter, summary } from './frame-fuzzer.ts';
import { fuzzCount } from './fuzz-scale.ts';
import { fuzzSeed } from './fuzz-seed.ts';
import { allVenueFrames, venueCorpora } from './venue-corpora.ts';

/** Malformed frames per adapter configuration (100,000 at FUZZ_SCALE=1). */
export const GARBAGE_FRAMES = fuzzCount(100_000);
/** Of those, a mebibyte in size (200 at full scale)... */
export const MEGABYTE_FRAMES = fuzzCount(200);
/** ...and nested 10,000 to 30,000 levels deep (100 at full scale). */
export const DEEP_FRAMES = fuzzCount(100);

let foreign: string[] | undefined;

/** Register the fuzz test of each labelled adapter configuration (labels of `venueCorpora()`). */
export function fuzzFrames(labels: readonly string[]): void {
  const corpora = venueCorpora();
  for (const label of labels) {
    const make = corpora[label];
    if (make === undefined) throw new Error(`no fuzz corpus for ${label}`);
    it(`${label}: ${GARBAGE_FRAMES.toLocaleString('en')} malformed frames, valid ones interleaved`, () => {
      foreign ??= allVenueFrames();
      const stats = fuzzAdapter(make(), foreign, { garbage: GARBAGE_FRAMES, seed: fuzzSeed(label), megabyte: MEGABYTE_FRAMES, deep: DEEP_FRAMES });
      console.log(summary(stats));
      expect(stats.garbage).toBe(GARBAGE_FRAMES);
      expect(stats.megabyte).toBe(MEGABYTE_FRAMES);
      expect(stats.deep).toBe(DEEP_FRAMES);
      // What the feed counts as parse errors is exactly the garbage it rejected: all of the garbage
      // built to be malformed, and the part of the rest that was (no valid frame was rejected).
      expect(stats.rejected).toBe(stats.mustReject + stats.mayPassRejected);
      expect(stats.mustReject).toBeGreaterThan(GARBAGE_FRAMES / 2);
      // The valid traffic around the garbage flowed: frames with trades or quotes, records out.
      expect(stats.validData).toBeGreaterThan(1_000);
      expect(stats.trades + stats.quotes).toBeGreaterThan(stats.validData);
      expect(stats.maxFrameMs).toBeLessThan(1_000);
    });
  }
}
