/**
 * The venues' public REST APIs as gap recovery and backfill use them, written
 * once: one GET with a timeout, paced by the venue's limiter, its body read as text and as JSON; typed
 * errors (VenueRestError: venue, URL, status, cause); the pager of the venues
 * that page trades backward by id from the newest (Coinbase, OKX); and the
 * oldest-first order `tradesFrom` answers in. Off the hot path: runs once per
 * page of a gap or of a backfill.
 */
import { VenueRestError } from '../errors.ts';
import type { RecoveredTrade } from './adapter.ts';
import { restLimiterFor } from './rest-limiter.ts';

/** How long one request may take before it is aborted, ms. */
export const REST_TIMEOUT_MS = 10_000;

/** Options of one GET. */
export interface RestRequest {
  /** Request headers (some venues refuse requests without `accept` or `user-agent`). */
  headers?: Record<string, string>;
  /** Abort on this signal instead of after REST_TIMEOUT_MS (a caller bounding several requests at once). */
  signal?: AbortSignal;
}

/** One answer, whatever its status. */
export interface RestAnswer {
  readonly venue: string;
  readonly url: string;
  readonly status: number;
  /** A 2xx status. */
  readonly ok: boolean;
  /** The body as text; '' when it could not be read. */
  readonly text: string;
  /** The body as JSON; undefined when it is not JSON or could not be read (each caller says so in its words). */
  readonly body: unknown;
}

/**
 * GET `url` from `venue`'s REST API and read the whole answer, in turn: the
 * venue's shared limiter (rest-limiter.ts) paces the request first and
 * learns from the answer's status and usage headers. Throws VenueRestError
 * only when no answer came (network failure, timeout or abort: the
 * underlying error's message, the error as `cause`; RATE_LIMITED when the
 * venue asked to wait longer than the limiter waits); an error status or a
 * body that is not JSON is the caller's to judge.
 */
export async function restGet(venue: string, url: string | URL, request: RestRequest = {}): Promise<RestAnswer> {
  const href = String(url);
  const limiter = restLimiterFor(venue);
  let res: Response;
  try {
    await limiter.acquire(request.signal);
    // The request's own timeout starts once its turn came.
    res = await fetch(url, { signal: request.signal ?? AbortSignal.timeout(REST_TIMEOUT_MS), headers: request.headers });
  } catch (err) {
    if (err instanceof VenueRestError) throw err;
    throw new VenueRestError(venue, err instanceof Error ? err.message : String(err), { url: href, cause: err });
  }
  limiter.observe(res.status, res.headers);
  let text = '';
  let body: unknown;
  try {
    text = await res.text();
    body = JSON.parse(text);
  } catch {
    // Unreadable (cut off, timed out) or not JSON: `body` stays undefined.
  }
  return { venue, url: href, status: res.status, ok: res.ok, text, body };
}

/** A VenueRestError about `answer` (its venue, URL and status), with `message` as the venue adapter words it. */
export function answerError(answer: RestAnswer, message: string): VenueRestError {
  return new VenueRestError(answer.venue, message, { url: answer.url, status: answer.status });
}

/** A venue API that pages trades backward only: `after=<id>` answers the trades older than it, newest first. */
export interface BackwardPager {
  venue: string;
  /** The endpoint, as error messages name it. */
  endpoint: string;
  /** Trades asked for per page. */
  limit: number;
  /** Most pages fetched for one gap. */
  maxPages: number;
  /** The items of the page older than `cursor` (NaN: the newest page); throws VenueRestError when the answer holds no list. */
  page(cursor: number): Promise<{ answer: RestAnswer; items: readonly unknown[] }>;
  /** One item as a trade; undefined when any field is off. */
  trade(item: unknown): RecoveredTrade | undefined;
}

/**
 * Every trade with id ≥ `fromId`, oldest first, from an API that pages
 * backward only: pages from the newest trade back until a page reaches an id
 * at or below `fromId`, or an empty page says the history ends, keeping the
 * trades ≥ `fromId`. The answer runs up to the newest trade, possibly beyond
 * the live ones held (the aggregator drops those by id). Throws
 * VenueRestError for a malformed item, a page that did not move back past
 * its cursor, or a gap needing more than `maxPages` pages.
 */
export async function tradesPagedBackward(fromId: number, pager: BackwardPager): Promise<RecoveredTrade[]> {
  const { venue, endpoint } = pager;
  const kept: RecoveredTrade[] = [];
  let cursor = NaN; // the oldest id seen so far; NaN: start from the newest
  for (let page = 0; page < pager.maxPages; page++) {
    const { answer, items } = await pager.page(cursor);
    if (items.length === 0) return oldestFirst(kept); // the history ends here
    let oldest = Infinity;
    for (const item of items) {
      const t = pager.trade(item);
      if (t === undefined) throw answerError(answer, `${venue} REST: malformed trade in ${endpoint}: ${JSON.stringify(item)?.slice(0, 200)}`);
      // A page not older than its cursor would repeat itself until the bound: say so instead.
      if (cursor === cursor && t.id >= cursor) throw answerError(answer, `${venue} REST: ${endpoint} after=${cursor} answered trade ${t.id}, not an older one`);
      if (t.id < oldest) oldest = t.id;
      if (t.id >= fromId) kept.push(t);
    }
    if (oldest <= fromId) return oldestFirst(kept); // reached the last trade seen (or before it)
    cursor = oldest;
  }
  throw new VenueRestError(venue, `${venue} REST: gap longer than ${pager.maxPages} pages of ${pager.limit} trades (trade ${fromId} not reached)`);
}

/** `trades` by id, oldest first, each id once (sorted in place; pages come newest first, this does not rely on it). */
export function oldestFirst(trades: RecoveredTrade[]): RecoveredTrade[] {
  trades.sort((a, b) => a.id - b.id);
  return trades.filter((t, i) => i === 0 || t.id !== trades[i - 1]!.id);
}
