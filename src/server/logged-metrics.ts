/**
 * The server's metrics, plus a log line for the events an operator must see
 * and a client can cause at will: refused credentials and slow consumers
 * (rate-limited: at most 5 lines per kind a minute, then one with the count
 * suppressed). Counting and logging share one call site this way.
 */
import type { Logger } from '../log/logger.ts';
import { RateLimitedLog } from '../log/rate-limit.ts';
import { ServerMetrics, type ServerGaugeSource } from './metrics.ts';

export class LoggedServerMetrics extends ServerMetrics {
  readonly #log: RateLimitedLog;

  constructor(source: ServerGaugeSource, log: Logger) {
    super(source);
    this.#log = new RateLimitedLog(log);
  }

  override authFailure(transport: 'http' | 'ws', reason: string): void {
    super.authFailure(transport, reason);
    this.#log.log('warn', `auth:${transport}:${reason}`, 'auth.refused', `refused ${transport === 'ws' ? 'a WebSocket' : 'an HTTP'} request: ${reason}`, { transport, reason });
  }

  override authThrottled(reason: 'failures' | 'pending'): void {
    super.authThrottled(reason);
    this.#log.log('warn', `throttled:${reason}`, 'auth.throttled', `refused a credential unchecked: too many ${reason === 'failures' ? 'failed attempts from one address' : 'checks pending'}`, { reason });
  }

  override slowConsumer(action: 'conflating' | 'paused' | 'disconnected'): void {
    super.slowConsumer(action);
    if (action === 'conflating') return; // the first, mild step: counted only
    const what = action === 'disconnected' ? 'closed a slow consumer (1013)' : 'paused a slow consumer’s trades and quotes (gap notices follow)';
    this.#log.log(action === 'disconnected' ? 'warn' : 'info', `slow:${action}`, 'stream.slow_consumer', what, { action });
  }
}
