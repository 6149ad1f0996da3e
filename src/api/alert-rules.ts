/**
 * The runtime's alert rules: the engine (src/alerts/rules.ts) fed with the
 * pump's trades, quotes and closed bars, the feeds' prices and switches,
 * the exchanges' states and the portfolios' values; checked every 250 ms;
 * each alert emitted on the bus (`alert`, which the server raises on the
 * `alerts` room) and handed to the webhook when one is configured.
 */
import { AlertEngine, type RuleState } from '../alerts/rules.ts';
import { WebhookSender, type WebhookStats } from '../alerts/webhook.ts';
import type { AlertsConfig } from '../config/types.ts';
import type { EventBus } from '../events/bus.ts';
import { nowMs } from '../model/clock.ts';
import type { AlertEvent } from '../model/events.ts';
import type { TickwireEvents } from './types.ts';

/** How often time-based rules (stale, spread for a duration) are judged, ms. */
export const ALERT_CHECK_MS = 250;

/** What `GET /v1/alerts` answers. */
export interface AlertsReport {
  rules: RuleState[];
  /** The last 100 alerts, oldest first. */
  recent: AlertEvent[];
  /** null without a webhook. */
  webhook: WebhookStats | null;
}

export class RuntimeAlerts {
  readonly engine: AlertEngine;
  readonly #webhook: WebhookSender | undefined;
  readonly #enabled: boolean;
  #timer: NodeJS.Timeout | undefined;

  constructor(config: AlertsConfig | undefined, bus: EventBus<TickwireEvents>) {
    this.#enabled = (config?.rules.length ?? 0) > 0;
    this.#webhook = config?.webhook === undefined ? undefined : new WebhookSender(config.webhook);
    const webhook = this.#webhook;
    this.engine = new AlertEngine(config?.rules ?? [], (a) => {
      bus.emit('alert', a);
      webhook?.send(a);
    }, nowMs());
  }

  start(): void {
    if (!this.#enabled || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.engine.check(nowMs()), ALERT_CHECK_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#webhook?.stop();
  }

  report(): AlertsReport {
    return { ...this.engine.report(), webhook: this.#webhook?.stats() ?? null };
  }
}
