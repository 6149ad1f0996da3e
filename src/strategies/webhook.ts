/**
 * The webhook executor, for users who execute elsewhere: each buy or sell
 * signal is POSTed as JSON (the signal message's fields) to `url`, with the
 * header `Idempotency-Key: <signal id>` (stable per strategy, bar and
 * revision, so a retry or a restart that judges the same bar again is
 * recognized by the receiver). A 2xx answer delivers it; a network error, a
 * timeout, a 429 or a 5xx is retried up to `retries` times with backoff; any
 * other answer fails at once. Failures are counted and reported, never
 * thrown: the strategy never waits for a webhook (at most MAX_IN_FLIGHT
 * deliveries run at once; past that a signal is dropped and counted).
 */
import type { WebhookExecutorConfig } from '../config/types.ts';
import { Jitter, JitteredBackoff } from '../model/backoff.ts';
import type { SignalEvent } from '../model/strategy.ts';
import type { Executor } from './executor.ts';

/** Deliveries in progress at most per strategy (each retrying for up to a few seconds). */
export const MAX_IN_FLIGHT = 256;
const BACKOFF_INITIAL_MS = 200;
const BACKOFF_MAX_MS = 5_000;

/** What became of deliveries, for the strategy's status. */
export interface WebhookCounts {
  delivered: number;
  failed: number;
  retries: number;
  dropped: number;
}

export class WebhookExecutor implements Executor {
  readonly kind = 'webhook';
  readonly wantsTrades = false;
  readonly counts: WebhookCounts = { delivered: 0, failed: 0, retries: 0, dropped: 0 };
  readonly #cfg: WebhookExecutorConfig;
  readonly #onFailure: (message: string) => void;
  readonly #inFlight = new Set<AbortController>();
  #closed = false;

  /** `onFailure`: a delivery given up (after its retries), with why. */
  constructor(cfg: WebhookExecutorConfig, onFailure: (message: string) => void) {
    this.#cfg = cfg;
    this.#onFailure = onFailure;
  }

  submit(signal: SignalEvent): void {
    if (this.#closed) return;
    if (this.#inFlight.size >= MAX_IN_FLIGHT) {
      this.counts.dropped++;
      this.#onFailure(`webhook: ${MAX_IN_FLIGHT} deliveries in progress; signal ${signal.id} dropped`);
      return;
    }
    void this.#deliver(signal);
  }

  /** Deliveries still in progress. */
  get pending(): number {
    return this.#inFlight.size;
  }

  onTrade(): void {}
  barClosed(): void {}

  position(): null {
    return null;
  }

  account(): null {
    return null;
  }

  close(): void {
    this.#closed = true;
    for (const c of this.#inFlight) c.abort();
    this.#inFlight.clear();
  }

  async #deliver(signal: SignalEvent): Promise<void> {
    const body = JSON.stringify({ type: 'signal', ...signal });
    const backoff = new JitteredBackoff(BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, Jitter.EQUAL);
    const stop = new AbortController();
    this.#inFlight.add(stop);
    let why = '';
    try {
      for (let attempt = 0; attempt <= this.#cfg.retries && !this.#closed; attempt++) {
        if (attempt > 0) {
          this.counts.retries++;
          await sleep(backoff.next(), stop.signal);
          if (this.#closed) return;
        }
        const outcome = await this.#post(body, signal.id, stop.signal);
        if (outcome === 'ok') {
          this.counts.delivered++;
          return;
        }
        why = outcome.why;
        if (!outcome.retry) break;
      }
      if (this.#closed) return;
      this.counts.failed++;
      this.#onFailure(`webhook: signal ${signal.id} not delivered: ${why}`);
    } finally {
      this.#inFlight.delete(stop);
    }
  }

  async #post(body: string, id: string, stop: AbortSignal): Promise<'ok' | { retry: boolean; why: string }> {
    try {
      const res = await fetch(this.#cfg.url, {
        method: 'POST',
        headers: { ...this.#cfg.headers, 'content-type': 'application/json', 'idempotency-key': id },
        body,
        signal: AbortSignal.any([stop, AbortSignal.timeout(this.#cfg.timeoutMs)]),
      });
      await res.arrayBuffer().catch(() => undefined); // free the connection
      if (res.ok) return 'ok';
      return { retry: res.status === 429 || res.status >= 500, why: `HTTP ${res.status}` };
    } catch (err) {
      return { retry: true, why: (err as Error).name === 'TimeoutError' ? `no answer within ${this.#cfg.timeoutMs} ms` : (err as Error).message };
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
