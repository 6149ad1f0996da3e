/**
 * What a bars channel has delivered, by open time, so a resync (a snapshot
 * asked again after a server restart or a gap) hands the user only bars that
 * are new or changed: never a bar it already got unchanged.
 *
 * "Unchanged" compares every field of the JSON bar (OHLC, volumes, counts,
 * vwap, spread, closed, revision, gapped, source), not the revision alone: a
 * forming bar changes without a new revision, and a restarted server that
 * rebuilt a bar differently must be heard.
 *
 * Bounded: the newest `capacity` open times are kept. Once older ones were
 * let go, a bar older than everything kept is taken as delivered long ago
 * (a snapshot reaching further back than the window is not news).
 */
import type { BarJson } from '../wire/messages.ts';

const FIELDS = [
  'closeTime', 'open', 'high', 'low', 'close', 'volume', 'quoteVolume', 'buyVolume', 'sellVolume', 'trades', 'vwap',
  'spread', 'closed', 'revision', 'gapped', 'source',
] as const;

type Kept = Pick<BarJson, (typeof FIELDS)[number]>;

/** The bars a channel delivered, newest `capacity` by open time. */
export class BarDedup {
  readonly capacity: number;
  readonly #byOpen = new Map<number, Kept>();
  #evicted = false;
  #oldest = Infinity;
  #newest = -Infinity;

  constructor(capacity: number) {
    this.capacity = Math.max(1, Math.floor(capacity));
  }

  /** Open time of the newest bar delivered, undefined when none. */
  get newestOpenTime(): number | undefined {
    return this.#byOpen.size === 0 ? undefined : this.#newest;
  }

  /** Bars remembered. */
  get size(): number {
    return this.#byOpen.size;
  }

  /**
   * True when `bar` is news (a new open time, or different from what was
   * delivered for it): the caller delivers it, and it is remembered. False
   * when it was delivered unchanged, or is older than the remembered window.
   */
  accept(bar: BarJson): boolean {
    const t = bar.openTime;
    const kept = this.#byOpen.get(t);
    if (kept === undefined) {
      if (this.#evicted && t < this.#oldest) return false;
    } else if (same(kept, bar)) {
      return false;
    }
    this.#byOpen.set(t, copy(bar));
    if (t > this.#newest) this.#newest = t;
    if (t < this.#oldest) this.#oldest = t;
    if (this.#byOpen.size > this.capacity) this.#evictOldest();
    return true;
  }

  #evictOldest(): void {
    this.#byOpen.delete(this.#oldest);
    this.#evicted = true;
    let oldest = Infinity;
    for (const t of this.#byOpen.keys()) if (t < oldest) oldest = t;
    this.#oldest = oldest;
  }
}

function same(kept: Kept, bar: BarJson): boolean {
  for (const f of FIELDS) {
    const a = kept[f];
    const c = bar[f];
    // Absent and null/false mean the same for the optional flags.
    if (a !== c && !((a === undefined || a === false) && (c === undefined || c === false))) return false;
  }
  return true;
}

function copy(b: BarJson): Kept {
  const out: Kept = {
    closeTime: b.closeTime, open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume,
    quoteVolume: b.quoteVolume, buyVolume: b.buyVolume, sellVolume: b.sellVolume, trades: b.trades, vwap: b.vwap,
    spread: b.spread, closed: b.closed, revision: b.revision,
  };
  if (b.gapped !== undefined) out.gapped = b.gapped;
  if (b.source !== undefined) out.source = b.source;
  return out;
}
