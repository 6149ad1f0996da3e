/**
 * One `subscribe()` call: the channels as the user wrote them, its handlers,
 * and the concrete channels the server resolved them to. Handler calls are
 * guarded in delivery.ts (`Delivery.call`): a handler that throws is
 * reported, never breaks delivery.
 */
import { InvalidParameterError } from '../errors.ts';
import { looseWildcardMatches, parseLooseWildcard, type LooseWildcard } from '../wire/channels.ts';
import { MAX_CHANNELS_PER_MESSAGE, MAX_SNAPSHOT } from '../wire/protocol.ts';
import type { SubscribeOptions, SubscriptionHandlers } from './types.ts';


const HANDLER_NAMES = ['subscribed', 'trade', 'quote', 'bar', 'snapshot', 'gap', 'system', 'alert', 'error'] as const;

/**
 * `pending`: not yet acknowledged by the server; `active`: acknowledged (kept
 * across reconnects); `closed`: unsubscribed by the user; `failed`: refused.
 */
export type SubscriptionState = 'pending' | 'active' | 'closed' | 'failed';

/** One subscription's request and state; the client keeps it across reconnects until it is unsubscribed or refused. */
export class Subscription {
  readonly key: number;
  /** Channel names as given (concrete or wildcard). */
  readonly given: readonly string[];
  readonly patterns: readonly LooseWildcard[];
  readonly handlers: Readonly<SubscriptionHandlers>;
  /** Bars to snapshot first (0: none). */
  readonly snapshot: number;
  /** Concrete channels the server acknowledged for this subscription. */
  readonly concrete = new Set<string>();
  state: SubscriptionState = 'pending';

  /** Validates everything up front; throws InvalidParameterError naming the bad part. */
  constructor(key: number, channels: unknown, handlers: unknown, options: unknown) {
    const list = typeof channels === 'string' ? [channels] : channels;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_CHANNELS_PER_MESSAGE) {
      throw new InvalidParameterError('channels', channels, `a channel name or an array of 1 to ${MAX_CHANNELS_PER_MESSAGE} of them`);
    }
    for (const c of list) {
      if (typeof c !== 'string' || c === '') throw new InvalidParameterError('channels', c, 'non-empty channel names');
    }
    if (typeof handlers !== 'object' || handlers === null) {
      throw new InvalidParameterError('handlers', handlers, `an object of callbacks (${HANDLER_NAMES.join(', ')})`);
    }
    for (const [name, fn] of Object.entries(handlers)) {
      if (!(HANDLER_NAMES as readonly string[]).includes(name)) {
        throw new InvalidParameterError(`handlers.${name}`, typeof fn, `one of ${HANDLER_NAMES.join(', ')}`);
      }
      if (fn !== undefined && typeof fn !== 'function') throw new InvalidParameterError(`handlers.${name}`, typeof fn, 'a function');
    }
    const opts = (options ?? {}) as SubscribeOptions;
    if (typeof opts !== 'object') throw new InvalidParameterError('options', options, 'an object { snapshot? }');
    const snapshot = opts.snapshot ?? 0;
    if (!Number.isInteger(snapshot) || snapshot < 0 || snapshot > MAX_SNAPSHOT) {
      throw new InvalidParameterError('snapshot', opts.snapshot, `an integer from 1 to ${MAX_SNAPSHOT}`);
    }
    this.key = key;
    this.given = [...new Set(list as string[])];
    this.patterns = this.given.map((name) => parseLooseWildcard(name)).filter((p) => p !== undefined);
    this.handlers = { ...(handlers as SubscriptionHandlers) };
    this.snapshot = snapshot;
  }

  /** Still wanted (not unsubscribed or refused). */
  get live(): boolean {
    return this.state === 'pending' || this.state === 'active';
  }

  /** True when a channel that appeared later falls under one of this subscription's wildcards. */
  claims(channel: string): boolean {
    for (const p of this.patterns) if (looseWildcardMatches(p, channel)) return true;
    return false;
  }
}
