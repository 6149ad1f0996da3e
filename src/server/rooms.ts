/**
 * Rooms: server-pushed channels of `/v1/stream` that carry no market data.
 *
 *  - `system`: `{"type":"system","channel":"system","seq","exchange","state",
 *    "reconnects","restarts","lastError","ts"}` whenever an exchange's
 *    connection state, reconnect count, restart count or last error changes
 *    (the library reports status every second; unchanged reports publish
 *    nothing). A subscriber first gets every exchange's current state, each
 *    message carrying the channel's current seq (like a snapshot: the state as
 *    of that seq); live changes continue at seq + 1.
 *  - `alerts`: `{"type":"alert","channel":"alerts","seq","id","level","source",
 *    "message","ts"}`, raised by embedding code through
 *    `TickwireServer.publishAlert` (and by rules in later work).
 *
 * Both are subscribed like any channel, obey auth (`system` and `alerts` are
 * channel names a token's patterns can allow), have a seq and a resume
 * history, and are never conflated. This module keeps the system states and
 * validates alerts; the stream publishes them.
 */
import { randomUUID } from 'node:crypto';
import type { ExchangeState, ExchangeStatus } from '../model/status.ts';
import { InvalidParameterError } from '../errors.ts';
import { ALERTS_ROOM, SYSTEM_ROOM } from '../wire/channels.ts';
import type { AlertLevel } from '../wire/messages.ts';

const LEVELS: readonly AlertLevel[] = ['info', 'warning', 'critical'];

/** Longest alert id and source, and message, in characters (keeps one alert well under 2 KiB on the wire). */
export const MAX_ALERT_ID = 100;
export const MAX_ALERT_SOURCE = 100;
export const MAX_ALERT_MESSAGE = 1000;
/** Upper bound of one room message in JSON, bytes, for backpressure accounting of the rooms' subscribers. */
export const ROOM_MESSAGE_BOUND = 2048;

/** What embedding code passes to `publishAlert`. */
export interface AlertInput {
  /** Unique id (e.g. the rule and the time); default: a random UUID. */
  id?: string;
  level: AlertLevel;
  /** Who raised it (a rule name, a component). */
  source: string;
  message: string;
}

/** An alert as published (without type, channel and seq). */
export interface Alert {
  id: string;
  level: AlertLevel;
  source: string;
  message: string;
  /** When it was raised, ms. */
  ts: number;
}

/** One exchange's state as the `system` room carries it (without type, channel and seq). */
export interface SystemState {
  exchange: string;
  state: ExchangeState;
  reconnects: number;
  restarts: number;
  lastError: string | null;
  /** When this state was observed, ms. */
  ts: number;
}

function text(v: unknown, name: string, max: number, optional: boolean): string | undefined {
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    throw new InvalidParameterError(name, v, `a non-empty string of at most ${max} characters`);
  }
  return v;
}

/** Validate `publishAlert`'s argument (throws INVALID_PARAMETER naming the field) and stamp it. */
export function makeAlert(input: unknown, now: number): Alert {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidParameterError('alert', input, 'an object { id?, level, source, message }');
  }
  const a = input as Record<string, unknown>;
  for (const key of Object.keys(a)) {
    if (key !== 'id' && key !== 'level' && key !== 'source' && key !== 'message') {
      throw new InvalidParameterError(`alert key ${key}`, a[key], 'only id, level, source and message');
    }
  }
  const level = a['level'];
  if (!(LEVELS as readonly unknown[]).includes(level)) throw new InvalidParameterError('alert level', level, LEVELS.join(', '));
  return {
    id: text(a['id'], 'alert id', MAX_ALERT_ID, true) ?? randomUUID(),
    level: level as AlertLevel,
    source: text(a['source'], 'alert source', MAX_ALERT_SOURCE, false)!,
    message: text(a['message'], 'alert message', MAX_ALERT_MESSAGE, false)!,
    ts: now,
  };
}

/** The last published state of every exchange; tells which status reports are changes. */
export class SystemStates {
  readonly #byExchange = new Map<string, SystemState>();

  /** Seed with the library's current status (exchange order kept). */
  constructor(initial: Iterable<ExchangeStatus>, now: number) {
    for (const s of initial) this.#byExchange.set(s.exchange, stateOf(s, now));
  }

  /** Record a status report; the new state when it differs from the last one, else undefined. */
  update(s: ExchangeStatus, now: number): SystemState | undefined {
    const last = this.#byExchange.get(s.exchange);
    if (
      last !== undefined &&
      last.state === s.state &&
      last.reconnects === s.reconnects &&
      last.restarts === s.restarts &&
      last.lastError === s.lastError
    ) {
      return undefined;
    }
    const next = stateOf(s, now);
    this.#byExchange.set(s.exchange, next);
    return next;
  }

  /** Every exchange's last published state. */
  current(): IterableIterator<SystemState> {
    return this.#byExchange.values();
  }
}

function stateOf(s: ExchangeStatus, now: number): SystemState {
  return { exchange: s.exchange, state: s.state, reconnects: s.reconnects, restarts: s.restarts, lastError: s.lastError, ts: now };
}

/** A `system` room message in JSON. */
export function systemMessage(seq: number, s: SystemState): string {
  return JSON.stringify({
    type: 'system', channel: SYSTEM_ROOM, seq,
    exchange: s.exchange, state: s.state, reconnects: s.reconnects, restarts: s.restarts, lastError: s.lastError, ts: s.ts,
  });
}

/** An `alerts` room message in JSON. */
export function alertMessage(seq: number, a: Alert): string {
  return JSON.stringify({ type: 'alert', channel: ALERTS_ROOM, seq, id: a.id, level: a.level, source: a.source, message: a.message, ts: a.ts });
}
