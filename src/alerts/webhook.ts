/**
 * Alerts POSTed to a webhook (`alerts.webhook`): one JSON body per alert
 * (the alert event's fields), header `Idempotency-Key: <alert id>` so a
 * receiver can drop the duplicates retries may cause.
 *
 * Delivery: one request at a time, in order. A 2xx answer is delivered; a
 * 4xx other than 408 and 429 is refused for good (the body is wrong for
 * that receiver: retrying cannot help) and counted `failed`; anything else
 * (5xx, 408, 429, a network error, no answer within `timeoutMs`) is retried
 * up to `retries` times, waiting `backoffMs`, then twice that, and so on.
 * The queue holds at most `maxQueue` alerts: past that the oldest waiting
 * one is dropped and counted. `stop()` abandons what is waiting.
 */
import type { WebhookConfig } from '../config/types.ts';
import type { AlertEvent } from '../model/events.ts';

export interface WebhookStats {
  delivered: number;
  /** Given up after the retries, or refused with a 4xx. */
  failed: number;
  /** Dropped from a full queue. */
  dropped: number;
  retries: number;
  queued: number;
  lastError: string | null;
}

export class WebhookSender {
  readonly #config: WebhookConfig;
  readonly #queue: AlertEvent[] = [];
  readonly #stats: WebhookStats = { delivered: 0, failed: 0, dropped: 0, retries: 0, queued: 0, lastError: null };
  #running = false;
  #stopped = false;
  #abort = new AbortController();

  constructor(config: WebhookConfig) {
    this.#config = config;
  }

  /** Queue `alert` for delivery (never blocks, never throws). */
  send(alert: AlertEvent): void {
    if (this.#stopped) return;
    if (this.#queue.length >= this.#config.maxQueue) {
      this.#queue.shift();
      this.#stats.dropped++;
    }
    this.#queue.push(alert);
    if (!this.#running) void this.#run();
  }

  stats(): WebhookStats {
    return { ...this.#stats, queued: this.#queue.length };
  }

  /** Abandon waiting alerts and any request in flight. */
  stop(): void {
    this.#stopped = true;
    this.#queue.length = 0;
    this.#abort.abort();
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      // The alert in flight leaves the queue first: the bound is on alerts waiting.
      for (let next = this.#queue.shift(); next !== undefined && !this.#stopped; next = this.#queue.shift()) await this.#deliver(next);
    } finally {
      this.#running = false;
    }
  }

  async #deliver(alert: AlertEvent): Promise<void> {
    const body = JSON.stringify(alert);
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#post(alert.id, body);
      if (this.#stopped) return;
      if (outcome === 'ok') {
        this.#stats.delivered++;
        return;
      }
      if (outcome === 'refused' || attempt >= this.#config.retries) {
        this.#stats.failed++;
        return;
      }
      this.#stats.retries++;
      await sleep(this.#config.backoffMs * 2 ** attempt, this.#abort.signal);
    }
  }

  async #post(id: string, body: string): Promise<'ok' | 'retry' | 'refused'> {
    try {
      const res = await fetch(this.#config.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': id },
        body,
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#config.timeoutMs)]),
      });
      await res.arrayBuffer().catch(() => undefined); // release the connection
      if (res.ok) return 'ok';
      this.#stats.lastError = `HTTP ${res.status}`;
      return res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429 ? 'refused' : 'retry';
    } catch (err) {
      this.#stats.lastError = err instanceof Error ? err.message : String(err);
      return 'retry';
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const wake = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', wake);
      resolve();
    };
    const t = setTimeout(wake, ms);
    signal.addEventListener('abort', wake);
  });
}
