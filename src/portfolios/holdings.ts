/**
 * Holdings as given (the YAML or a PUT body): asset → amount. Checked whole
 * before anything is applied, so a bad one changes nothing.
 */
import { InvalidParameterError } from '../errors.ts';
import type { PathStep, PriceGraph } from './price-paths.ts';

/** Assets per portfolio at most (memory and the valuation's cost stay bounded). */
export const MAX_HOLDINGS = 1000;
const ASSET = /^[A-Z0-9]{1,20}$/;

/** A checked holding with the path that prices it. */
export interface CheckedHolding {
  asset: string;
  amount: number;
  path: PathStep[];
}

/**
 * Check `given` (a plain object asset → amount, amounts finite and ≥ 0,
 * every asset priceable in `quote` through `graph`); throws
 * INVALID_PARAMETER naming the first bad entry.
 */
export function checkHoldings(given: unknown, graph: PriceGraph, quote: string): CheckedHolding[] {
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new InvalidParameterError('holdings', given, 'an object of asset → amount ({"BTC": 0.5, "USD": 2500})');
  }
  const entries = Object.entries(given);
  if (entries.length > MAX_HOLDINGS) throw new InvalidParameterError('holdings', `${entries.length} assets`, `at most ${MAX_HOLDINGS} assets`);
  return entries.map(([asset, amount]) => {
    if (!ASSET.test(asset)) throw new InvalidParameterError('holdings asset', asset, 'an asset code of 1 to 20 upper-case letters and digits');
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0) {
      throw new InvalidParameterError(`holdings.${asset}`, amount, 'a finite amount ≥ 0');
    }
    const path = graph.path(asset, quote);
    if (path === undefined) {
      throw new InvalidParameterError(`holdings.${asset}`, asset, `an asset priced in ${quote} by a configured feed, market or peg (directly or through one or two others)`);
    }
    return { asset, amount, path };
  });
}
