/**
 * The soak's pass/fail decision. Pure: samples and totals in, a verdict with
 * every reason out.
 *
 * It fails when:
 *  - memory keeps growing: the post-GC heap, the post-GC external memory or
 *    the RSS, judged after warm-up by growth.ts (too few judged samples fail
 *    too: nothing was proven);
 *  - anything was lost: a trade sent and never delivered to a subscriber of
 *    its symbol, a hole or a repeat in a channel's seq, a `gap` notice, a ring
 *    overflow, a trade due while the gateway was not subscribed;
 *  - anything broke: a subscriber disconnected or got an `error`, the feed
 *    worker restarted, an HTTP check failed, a process failed, or no trade
 *    was delivered at all.
 * Latency is measured and reported, never judged: the machine is shared.
 */
import { EXTERNAL_LIMITS, HEAP_LIMITS, RSS_LIMITS, assessGrowth, type GrowthAssessment, type GrowthLimits } from './growth.ts';

/** Counts over the whole run. */
export interface SoakTotals {
  /** Trades the fake exchange sent to the gateway. */
  tradesSent: number;
  /** Trade deliveries owed: per subscriber, the trades sent on its symbol. */
  tradesExpected: number;
  /** Trade messages the subscribers received. */
  tradesDelivered: number;
  /** Bar messages the subscribers received. */
  barsDelivered: number;
  /** Messages of any type the subscribers received. */
  messages: number;
  /** Messages missing by seq (gap notices included). */
  missed: number;
  duplicates: number;
  gapNotices: number;
  /** `error` messages the subscribers got. */
  errors: number;
  disconnects: number;
  /** Trades delivered whose send time was unknown (ids the exchange never sent). */
  unmatched: number;
  /** Trades due while the gateway was not subscribed to the fake exchange. */
  unsent: number;
  /** Tick and bar-event ring overflow, from /v1/status. */
  ringOverflow: number;
  /** Feed worker restarts and exchange reconnects, from /v1/status. */
  workerRestarts: number;
  reconnects: number;
  /** Failed HTTP checks (/v1/status, /v1/candles). */
  httpErrors: number;
}

/** The memory figures of one sample that the verdict judges. */
export interface MemoryPoint {
  /** Since load start, ms. */
  tMs: number;
  heapUsedBytes: number;
  externalBytes: number;
  rssBytes: number;
}

export interface SoakVerdict {
  pass: boolean;
  /** Why it failed, one line each; empty when it passed. */
  reasons: string[];
  heap: GrowthAssessment;
  external: GrowthAssessment;
  rss: GrowthAssessment;
}

export interface VerdictLimits {
  heap: GrowthLimits;
  external: GrowthLimits;
  rss: GrowthLimits;
}

/** Judge a run: `points` in time order, `failures` are process-level failures already described. */
export function judgeSoak(
  points: readonly MemoryPoint[],
  warmupMs: number,
  totals: SoakTotals,
  failures: readonly string[] = [],
  limits: VerdictLimits = { heap: HEAP_LIMITS, external: EXTERNAL_LIMITS, rss: RSS_LIMITS },
): SoakVerdict {
  const judged = points.filter((p) => p.tMs >= warmupMs);
  const heap = assessGrowth('heap', judged.map((p) => ({ tMs: p.tMs, bytes: p.heapUsedBytes })), limits.heap);
  const external = assessGrowth('external', judged.map((p) => ({ tMs: p.tMs, bytes: p.externalBytes })), limits.external);
  const rss = assessGrowth('rss', judged.map((p) => ({ tMs: p.tMs, bytes: p.rssBytes })), limits.rss);
  const reasons = [...failures];
  for (const g of [heap, external, rss]) {
    if (!g.judged) reasons.push(g.detail);
    else if (g.growing) reasons.push(`memory keeps growing: ${g.detail}`);
  }
  const lost = totals.tradesExpected - totals.tradesDelivered;
  if (totals.tradesDelivered === 0) reasons.push('no trade was delivered to any subscriber');
  if (lost > 0) reasons.push(`${lost} of ${totals.tradesExpected} trade deliveries never arrived`);
  if (lost < 0) reasons.push(`${-lost} more trades delivered than sent (${totals.tradesDelivered} of ${totals.tradesExpected})`);
  const counted: [number, string][] = [
    [totals.missed, 'messages missing by seq'],
    [totals.duplicates, 'messages repeated or out of order by seq'],
    [totals.gapNotices, 'gap notices (slow consumer)'],
    [totals.ringOverflow, 'records dropped by ring overflow'],
    [totals.unsent, 'trades due while the gateway was not subscribed to the exchange'],
    [totals.disconnects, 'subscriber disconnects'],
    [totals.errors, 'error messages to subscribers'],
    [totals.unmatched, 'trades delivered with an id the exchange never sent'],
    [totals.workerRestarts, 'feed worker restarts'],
    [totals.reconnects, 'exchange reconnects'],
    [totals.httpErrors, 'failed HTTP checks'],
  ];
  for (const [n, what] of counted) if (n > 0) reasons.push(`${n} ${what}`);
  return { pass: reasons.length === 0, reasons, heap, external, rss };
}
