/**
 * One outbound REST limiter per venue, shared by the threads that call the
 * venue: the main thread (backfill, symbol lists) and the exchange's worker
 * (gap recovery). Its state lives in a SharedArrayBuffer the main thread
 * allocates (`RestLimiter.allocate`) and hands to the worker; each thread
 * builds its own `RestLimiter` view over it. The main thread reads the same
 * memory for `/v1/status` and `/metrics`.
 *
 * How it adapts (`observe`, after every answer):
 *  - 429 (too many requests) or 418 (Binance's ban): the spacing between
 *    requests doubles (at least SLOWDOWN_FLOOR_MS, at most `maxIntervalMs`)
 *    and nothing is sent before `Retry-After` (or one spacing when absent).
 *  - Usage headers (rest-usage.ts): past 80 % of the window's budget, the
 *    requests left are spread over the rest of the window, each costed at
 *    the budget the last request used (Binance weighs requests); with none
 *    left, nothing is sent before the window resets.
 *  - Any other answer, with usage below half the budget or no usage figures:
 *    the spacing relaxes by a quarter towards `minIntervalMs`.
 * `acquire` (before every request) reserves the next turn with one
 * compare-and-swap, so two threads never take the same slot, then sleeps
 * until it; a turn that would wait longer than `maxWaitMs` is refused at
 * once (RATE_LIMITED) rather than hold gap recovery for an hour's ban.
 *
 * Layout: BigInt64 slots, one value each (Atomics; all times epoch ms).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, VenueRestError } from '../errors.ts';
import type { RestLimiterStatus } from '../model/status.ts';
import { readUsage, retryAfterMs, type HeaderReader } from './rest-usage.ts';

const NEXT_AT = 0; // when the next turn may start
const INTERVAL = 1; // the spacing now
const PAUSED_UNTIL = 2; // nothing before this (Retry-After, spent window)
const REQUESTS = 3;
const THROTTLED = 4;
const WAITED = 5;
const USED = 6; // the venue's last usage figures (LIMIT 0: none yet)
const LIMIT = 7;
const RESET_AT = 8;
const COST = 9; // budget one request used, as last measured
const MIN_INTERVAL = 10;
const MAX_INTERVAL = 11;
const SLOTS = 12;

/** The least spacing a 429 widens to, ms, when the spacing was shorter (0 by default). */
export const SLOWDOWN_FLOOR_MS = 500;
/** The longest a request waits for its turn before it is refused, ms, unless the limiter is told otherwise. */
export const DEFAULT_MAX_WAIT_MS = 120_000;
/** Usage at or past this share of the budget spaces the requests left over the window. */
const PRESSURE = 0.8;
/** Usage below this share lets the spacing relax. */
const RELAXED = 0.5;

/** What a limiter is configured with (`exchanges.<name>.reliability.rest`). */
export interface RestPacing {
  minIntervalMs: number;
  maxIntervalMs: number;
}

export class RestLimiter {
  readonly venue: string;
  readonly buffer: SharedArrayBuffer;
  readonly #s: BigInt64Array;
  readonly #now: () => number;
  readonly #maxWaitMs: number;

  /** Shared memory for one venue's limiter, set to `pacing`. */
  static allocate(pacing: RestPacing): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(SLOTS * 8);
    const s = new BigInt64Array(buffer);
    s[MIN_INTERVAL] = BigInt(pacing.minIntervalMs);
    s[MAX_INTERVAL] = BigInt(pacing.maxIntervalMs);
    s[INTERVAL] = BigInt(pacing.minIntervalMs);
    s[COST] = 1n;
    return buffer;
  }

  /** A view over `buffer` (from `allocate`); `now` is the wall clock, ms (tests pin it). */
  constructor(venue: string, buffer: SharedArrayBuffer, options: { now?: () => number; maxWaitMs?: number } = {}) {
    this.venue = venue;
    this.buffer = buffer;
    this.#s = new BigInt64Array(buffer);
    this.#now = options.now ?? Date.now;
    this.#maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  }

  /** Wait for this request's turn; throws VenueRestError RATE_LIMITED when it is further than maxWaitMs away, or the signal's reason when aborted. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const s = this.#s;
    for (;;) {
      signal?.throwIfAborted();
      const now = this.#now();
      const next = Atomics.load(s, NEXT_AT);
      const start = Math.max(now, Number(next), Number(Atomics.load(s, PAUSED_UNTIL)));
      const wait = start - now;
      if (wait > this.#maxWaitMs) {
        throw new VenueRestError(this.venue, `${this.venue} REST: rate limited by the venue, next request allowed in ${Math.ceil(wait / 1000)} s`, {
          code: ErrorCode.RATE_LIMITED,
        });
      }
      if (Atomics.compareExchange(s, NEXT_AT, next, BigInt(start + Number(Atomics.load(s, INTERVAL)))) !== next) continue; // the other thread took it
      if (wait > 0) {
        Atomics.add(s, WAITED, BigInt(wait));
        await sleep(wait, undefined, { signal });
      }
      // A Retry-After that arrived while this request slept moves it behind the pause.
      if (this.#now() < Number(Atomics.load(s, PAUSED_UNTIL))) continue;
      Atomics.add(s, REQUESTS, 1n);
      return;
    }
  }

  /** Learn from an answer: its status and headers (see the module comment). */
  observe(status: number, headers: HeaderReader): void {
    const s = this.#s;
    const now = this.#now();
    const usage = readUsage(headers, now);
    if (usage !== undefined) {
      const sameWindow = Number(Atomics.load(s, RESET_AT)) === usage.resetAt;
      const spent = usage.used - Number(Atomics.load(s, USED));
      if (sameWindow && spent > 0) Atomics.store(s, COST, BigInt(Math.ceil(spent)));
      Atomics.store(s, USED, BigInt(Math.ceil(usage.used)));
      Atomics.store(s, LIMIT, BigInt(Math.ceil(usage.limit)));
      Atomics.store(s, RESET_AT, BigInt(usage.resetAt));
    }
    if (status === 429 || status === 418) {
      Atomics.add(s, THROTTLED, 1n);
      const widened = this.#setInterval(Math.max(2 * Number(Atomics.load(s, INTERVAL)), SLOWDOWN_FLOOR_MS));
      this.#pauseUntil(now + (retryAfterMs(headers.get('retry-after'), now) ?? widened));
      return;
    }
    if (usage === undefined) {
      this.#relax();
      return;
    }
    const left = usage.limit - usage.used;
    if (left <= 0) {
      this.#pauseUntil(usage.resetAt);
    } else if (usage.used >= PRESSURE * usage.limit) {
      const requestsLeft = Math.max(1, Math.floor(left / Number(Atomics.load(s, COST))));
      this.#setInterval(Math.max(Number(Atomics.load(s, INTERVAL)), Math.ceil((usage.resetAt - now) / requestsLeft)));
    } else if (usage.used < RELAXED * usage.limit) {
      this.#relax();
    }
  }

  /** The limiter as `/v1/status` shows it. */
  status(): RestLimiterStatus {
    const s = this.#s;
    const paused = Number(Atomics.load(s, PAUSED_UNTIL));
    const limit = Number(Atomics.load(s, LIMIT));
    return {
      intervalMs: Number(Atomics.load(s, INTERVAL)),
      pausedUntil: paused > this.#now() ? paused : null,
      requests: Number(Atomics.load(s, REQUESTS)),
      throttled: Number(Atomics.load(s, THROTTLED)),
      waitedMs: Number(Atomics.load(s, WAITED)),
      usage: limit > 0 ? { used: Number(Atomics.load(s, USED)), limit } : null,
    };
  }

  /** Set the spacing within the configured bounds; returns what was set. */
  #setInterval(ms: number): number {
    const s = this.#s;
    const bounded = Math.min(Number(s[MAX_INTERVAL]), Math.max(Number(s[MIN_INTERVAL]), Math.ceil(ms)));
    Atomics.store(s, INTERVAL, BigInt(bounded));
    return bounded;
  }

  #relax(): void {
    this.#setInterval(Math.floor((Number(Atomics.load(this.#s, INTERVAL)) * 3) / 4));
  }

  #pauseUntil(at: number): void {
    const s = this.#s;
    for (;;) {
      const was = Atomics.load(s, PAUSED_UNTIL);
      if (Number(was) >= at || Atomics.compareExchange(s, PAUSED_UNTIL, was, BigInt(at)) === was) return;
    }
  }
}

// ── the limiters of this thread ──────────────────────────────────────────

/** Default pacing of a venue nobody configured (library use, tests): no spacing until the venue pushes back. */
const DEFAULT_PACING: RestPacing = { minIntervalMs: 0, maxIntervalMs: 60_000 };

const byVenue = new Map<string, RestLimiter>();
let forThread: RestLimiter | undefined;

/** The limiter `restGet` uses for `venue` in this thread: the worker's own, else the one installed for the venue, else a default one made on first use. */
export function restLimiterFor(venue: string): RestLimiter {
  if (forThread !== undefined) return forThread;
  let limiter = byVenue.get(venue);
  if (limiter === undefined) byVenue.set(venue, (limiter = new RestLimiter(venue, RestLimiter.allocate(DEFAULT_PACING))));
  return limiter;
}

/** Make `limiter` the one this thread's requests to its venue go through (the main thread: one per configured exchange). */
export function installRestLimiter(limiter: RestLimiter): void {
  byVenue.set(limiter.venue, limiter);
}

/** An exchange worker: every REST request of this thread goes through `limiter` (the worker serves one venue, whatever name its adapter's requests give). */
export function useRestLimiterForThread(limiter: RestLimiter): void {
  forThread = limiter;
}
