/**
 * Symbols fed on demand (docs/on-demand.md): which symbols of which exchange
 * a subscriber brought in, whether anyone still receives them, and when
 * each goes. Policy only: the runtime adds and removes symbols through its
 * live-change path; this decides when.
 *
 * Idle: every `sweepMs` each symbol's `inUse` (the server: does any of its
 * channels have a subscriber?) is asked; a symbol no one has received for
 * `idleS` seconds is released. A symbol asked for again before then simply
 * stays. Asking is cheap (a few channel counts), so a sweep over the most
 * symbols allowed (1,000 per exchange) is a few microseconds a second.
 */

/** How often the symbols on demand are looked at, ms. */
export const ON_DEMAND_SWEEP_MS = 1_000;

interface Held {
  idleMs: number;
  inUse: () => boolean;
  /** When it was last seen in use (or added), performance.now() ms. */
  usedAt: number;
}

/** The symbols on demand of a runtime's exchanges. */
export class OnDemandSymbols {
  readonly #held = new Map<string, Map<string, Held>>();
  readonly #release: (exchange: string, symbol: string) => void;
  readonly #sweepMs: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;

  /** `release` removes a symbol gone idle (the live remove path); `now` is a monotonic clock, ms (tests pin it). */
  constructor(release: (exchange: string, symbol: string) => void, options: { sweepMs?: number; now?: () => number } = {}) {
    this.#release = release;
    this.#sweepMs = options.sweepMs ?? ON_DEMAND_SWEEP_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Symbols on demand on `exchange` now. */
  count(exchange: string): number {
    return this.#held.get(exchange)?.size ?? 0;
  }

  /** Is `symbol` on `exchange` fed on demand (not configured)? */
  has(exchange: string, symbol: string): boolean {
    return this.#held.get(exchange)?.has(symbol) === true;
  }

  /** The symbols on demand of `exchange`, in the order they came. */
  symbols(exchange: string): string[] {
    return [...(this.#held.get(exchange)?.keys() ?? [])];
  }

  /** `symbol` was just added on demand: released `idleS` after `inUse` last held. */
  hold(exchange: string, symbol: string, idleS: number, inUse: () => boolean): void {
    let bySymbol = this.#held.get(exchange);
    if (bySymbol === undefined) this.#held.set(exchange, (bySymbol = new Map()));
    bySymbol.set(symbol, { idleMs: idleS * 1000, inUse, usedAt: this.#now() });
  }

  /** Stop tracking `symbol` (removed by an operator, or named by the config file now: no longer on demand). */
  forget(exchange: string, symbol: string): void {
    this.#held.get(exchange)?.delete(symbol);
  }

  /** Release every symbol idle past its time (the timer calls it; tests may too). */
  sweep(): void {
    const now = this.#now();
    for (const [exchange, bySymbol] of this.#held) {
      for (const [symbol, held] of bySymbol) {
        if (held.inUse()) held.usedAt = now;
        else if (now - held.usedAt >= held.idleMs) {
          bySymbol.delete(symbol);
          this.#release(exchange, symbol);
        }
      }
    }
  }

  start(): void {
    this.#timer ??= setInterval(() => this.sweep(), this.#sweepMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
