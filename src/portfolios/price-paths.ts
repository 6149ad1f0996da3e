/**
 * How an asset is priced in a portfolio's quote: a path over the price
 * graph whose edges are the configured feeds (`BTC-USD`), the configured
 * markets (`binance:SOLUSDT` is SOL-USDT) and the pegs (`USDT: USD`, one
 * for one). The shortest path wins; among paths as short, feeds before
 * markets before pegs, each in config order. Paths are fixed when a
 * portfolio's holdings are set (at start or by a PUT), and each holding
 * says which path it used (`binance:SOLUSDT*peg:USDT=USD`).
 */

import type { ExchangeConfig, PriceFeedConfig } from '../config/types.ts';
import { symbolRef } from '../model/symbols.ts';

/** One edge: 1 `base` = price `quote`. */
export interface PriceEdge {
  /** `feed:BTC-USD`, `binance:SOLUSDT`, `peg:USDT=USD`. */
  key: string;
  base: string;
  quote: string;
}

/** A step of a path: the edge, read forward (× price) or backward (÷ price). */
export interface PathStep {
  edge: PriceEdge;
  invert: boolean;
}

/** Longest path searched (hops): a conversion through more than two intermediate assets is not sought. */
export const MAX_HOPS = 3;

/** The graph of every way to price one asset in another. */
export class PriceGraph {
  readonly edges: readonly PriceEdge[];
  readonly #byAsset = new Map<string, PriceEdge[]>();

  /** `edges`: feeds first, then markets, then pegs (the tie-break order). */
  constructor(edges: readonly PriceEdge[]) {
    this.edges = edges;
    for (const e of edges) {
      for (const a of [e.base, e.quote]) {
        const list = this.#byAsset.get(a);
        if (list === undefined) this.#byAsset.set(a, [e]);
        else list.push(e);
      }
    }
  }

  /** The path pricing `asset` in `quote` ([] when they are the same), undefined when there is none within MAX_HOPS. */
  path(asset: string, quote: string): PathStep[] | undefined {
    if (asset === quote) return [];
    // Breadth-first: the first path found is among the shortest, edges in tie-break order.
    const from = new Map<string, PathStep | null>([[asset, null]]);
    let frontier = [asset];
    for (let hop = 0; hop < MAX_HOPS && frontier.length > 0; hop++) {
      const next: string[] = [];
      for (const a of frontier) {
        for (const edge of this.#byAsset.get(a) ?? []) {
          const invert = edge.quote === a;
          const to = invert ? edge.base : edge.quote;
          if (from.has(to)) continue;
          from.set(to, { edge, invert });
          if (to === quote) return unwind(from, quote);
          next.push(to);
        }
      }
      frontier = next;
    }
    return undefined;
  }
}

function unwind(from: ReadonlyMap<string, PathStep | null>, end: string): PathStep[] {
  const steps: PathStep[] = [];
  let at = end;
  for (let step = from.get(at); step !== null && step !== undefined; step = from.get(at)) {
    steps.push(step);
    at = step.invert ? step.edge.quote : step.edge.base;
  }
  return steps.reverse();
}

/** How a path is shown: `quote` for the quote itself, else the edges joined by `*`. */
export function pathName(steps: readonly PathStep[]): string {
  return steps.length === 0 ? 'quote' : steps.map((s) => (s.invert ? `1/${s.edge.key}` : s.edge.key)).join('*');
}

/** The graph of a portfolio: the feeds, every configured market with a quote asset, and its pegs. */
export function priceGraph(
  feeds: Readonly<Record<string, PriceFeedConfig>>,
  exchanges: Readonly<Record<string, ExchangeConfig>>,
  pegs: Readonly<Record<string, string>>,
): PriceGraph {
  const edges: PriceEdge[] = Object.values(feeds).map((f) => ({ key: `feed:${f.name}`, base: f.base, quote: f.quote }));
  for (const [exchange, ex] of Object.entries(exchanges)) {
    for (const native of ex.symbols) {
      const ref = symbolRef(native);
      if (ref.quote !== '') edges.push({ key: `${exchange}:${native}`, base: ref.base, quote: ref.quote });
    }
  }
  for (const [base, quote] of Object.entries(pegs)) edges.push({ key: `peg:${base}=${quote}`, base, quote });
  return new PriceGraph(edges);
}
