/**
 * GapRecovery: after a reconnect, fetch the trades the outage missed from the
 * venue's REST API and feed them in order before the live ones, so bars that
 * cover the outage come out as if the connection had never dropped.
 *
 * Per symbol, while its connection is down its bars are not closed on the
 * clock (`paused`): nobody knows yet whether it traded. After the reconnect,
 * live trades are held back (`holding`) until the recovery ran; it starts on
 * the first live trade (so the gap is bounded by a known id) or after
 * `waitForLiveMs` for a quiet symbol. Pages are fetched from the last id seen
 * until they reach the first held live trade, or the venue has no more.
 * Then the fetched trades and the held ones are delivered in order (the
 * aggregator drops the overlap by trade id) and the symbol runs as before.
 * Nothing here runs on the hot path except the two flag reads.
 */
import type { RecoveredTrade } from '../exchanges/adapter.ts';

export interface GapRecoveryOptions {
  /** Trades per page the venue returns at most: a shorter page means "caught up". */
  pageSize: number;
  /** Most pages fetched for one gap (default 50). */
  maxPages?: number;
  /** A symbol with no live trade this long after the reconnect is recovered anyway, ms (default 3 000). */
  waitForLiveMs?: number;
}

export interface GapRecoveryHooks {
  /** One page of `symbol`'s trades after the last seen (id ≥ `fromId`, time ≥ `fromTs`), oldest first. */
  fetchPage(symbol: number, fromId: number, fromTs: number): Promise<RecoveredTrade[]>;
  /** Hand one trade to the normal path (aggregator, ring). */
  deliver(symbol: number, trade: RecoveredTrade): void;
  /** The symbol runs live again; `error` says why its gap may be incomplete. */
  done(symbol: number, recovered: number, error: string | undefined): void;
}

export class GapRecovery {
  /** Newest live trade id taken per symbol (NaN before the first). */
  readonly lastId: Float64Array;
  /** Exchange time of that trade, ms. */
  readonly lastTs: Float64Array;
  /** 1 while the symbol's live trades must be held back. */
  readonly holding: Uint8Array;
  /** 1 while the symbol's bars must not close on the clock. */
  readonly paused: Uint8Array;
  /** Trades fetched and delivered, over all gaps. */
  recovered = 0;
  /** Gaps that could not be filled completely. */
  failures = 0;

  private readonly hooks: GapRecoveryHooks;
  private readonly pageSize: number;
  private readonly maxPages: number;
  private readonly waitForLiveMs: number;
  private readonly held: RecoveredTrade[][];
  private readonly running: Uint8Array;
  private readonly timers: (NodeJS.Timeout | undefined)[];

  constructor(symbols: number, hooks: GapRecoveryHooks, options: GapRecoveryOptions) {
    this.hooks = hooks;
    this.pageSize = options.pageSize;
    this.maxPages = options.maxPages ?? 50;
    this.waitForLiveMs = options.waitForLiveMs ?? 3_000;
    this.lastId = new Float64Array(symbols).fill(NaN);
    this.lastTs = new Float64Array(symbols).fill(NaN);
    this.holding = new Uint8Array(symbols);
    this.paused = new Uint8Array(symbols);
    this.running = new Uint8Array(symbols);
    this.held = Array.from({ length: symbols }, () => []);
    this.timers = new Array(symbols).fill(undefined);
  }

  /** The connection carrying `symbols` went down. */
  disconnected(symbols: readonly number[]): void {
    for (const i of symbols) if (this.lastId[i] === this.lastId[i]) this.paused[i] = 1;
  }

  /** It is back: hold live trades of the paused symbols until their gap is filled. */
  reconnected(symbols: readonly number[]): void {
    for (const i of symbols) {
      if (this.paused[i] !== 1 || this.holding[i] === 1) continue;
      this.holding[i] = 1;
      this.timers[i] = setTimeout(() => void this.run(i), this.waitForLiveMs);
      this.timers[i]!.unref();
    }
  }

  /** A live trade arrived while holding: keep it; the first one starts the recovery. */
  hold(symbol: number, ts: number, price: number, size: number, side: number, id: number): void {
    this.held[symbol]!.push({ ts, price, size, side, id });
    void this.run(symbol);
  }

  /** Forget pending work (worker stopping). */
  stop(): void {
    for (const t of this.timers) clearTimeout(t);
  }

  private async run(i: number): Promise<void> {
    if (this.running[i] === 1 || this.holding[i] !== 1) return;
    this.running[i] = 1;
    clearTimeout(this.timers[i]);
    const fetched: RecoveredTrade[] = [];
    let error: string | undefined;
    try {
      let from = this.lastId[i]! + 1;
      let fromTs = this.lastTs[i]!;
      for (let page = 0; ; page++) {
        if (page === this.maxPages) {
          error = `gap longer than ${this.maxPages} pages of trades; the rest is missing`;
          break;
        }
        const trades = await this.hooks.fetchPage(i, from, fromTs);
        fetched.push(...trades);
        const firstLive = this.held[i]![0];
        const last = trades.at(-1);
        if (trades.length < this.pageSize || last === undefined) break;
        if (firstLive !== undefined && (last.id + 1 >= firstLive.id || last.ts >= firstLive.ts)) break;
        from = last.id + 1;
        fromTs = last.ts;
      }
    } catch (err) {
      error = `gap recovery failed: ${(err as Error).message}`;
    }
    if (error !== undefined) this.failures++;
    this.holding[i] = 0;
    this.paused[i] = 0;
    this.running[i] = 0;
    const held = this.held[i]!;
    this.held[i] = [];
    for (const t of fetched) this.hooks.deliver(i, t);
    for (const t of held) this.hooks.deliver(i, t);
    this.recovered += fetched.length;
    this.hooks.done(i, fetched.length, error);
  }
}
