/**
 * FeatureSet: strategies sharing series, lookback and features share one set,
 * so the same bar object fed again right after (the next strategy) must not
 * move the indicators a second time, while a new bar, or the same bar fed as
 * an amendment, must.
 */
import { describe, expect, it } from 'vitest';
import { FeatureSet } from '../../src/strategies/features.ts';
import { makeBar } from '../support/fake-tickwire.ts';

const SEC = 1000;
/** A bar whose close is `close`. */
const bar = (i: number, close: number) => makeBar(1_700_000_000_000 + i * SEC, SEC, 100, true, { close });

describe('FeatureSet', () => {
  it('answers the same bar fed again from its first computation, and computes a new bar or an amendment afresh', () => {
    const set = new FeatureSet({ sma2: { kind: 'sma', period: 2 } });
    set.update(bar(0, 100), false);
    const b1 = bar(1, 110);
    const first = set.update(b1, false);
    expect(first['sma2']).toBe(105);
    // The next strategy of the set feeds the same object: the same answer, the SMA not fed 110 twice.
    expect(set.update(b1, false)).toBe(first);
    expect(set.update(bar(2, 120), false)['sma2']).toBe(115);
    // An amendment of the newest bar replaces its close: (110 + 130) / 2, not a third value fed.
    const amended = bar(2, 130);
    expect(set.update(amended, true)['sma2']).toBe(120);
    expect(set.update(amended, true)['sma2']).toBe(120);
  });
});
