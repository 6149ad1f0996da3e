/**
 * Rooms: server-pushed channels of `/v1/stream` that carry no market data.
 *
 *  - `system`: `{"type":"system","channel":"system","seq","exchange","state",
 *    "reconnects","restarts","lastError","ts"}` whenever an exchange's
 *    connection state, reconnect count, restart count or last error changes
 *    (the library reports status every second; unchanged reports publish
 *    nothing); and `{"type":"system","channel":"system","seq",
 *    "source":"storage","state","reason","errno","corrupt","movedTo","ts"}`
 *    whenever storage goes degraded, changes its reason or recovers (with
 *    storage on; `corrupt` and `movedTo` tell what start-up verification
 *    found); and `{"type":"system","channel":"system","seq","source":
 *    "strategy","strategy","state","errors","timeouts","lastError","ts"}`
 *    whenever a strategy fails or changes state (docs/strategies.md). A
 *    subscriber first gets every exchange's current state, then storage's,
 *    then every strategy's, each message carrying the channel's current seq (like a
 *    snapshot: the state as of that seq); live changes continue at seq + 1.
 *    And `{"type":"system","channel":"system","seq","source":"config",
 *    "action","exchange","symbol","restoredBars","ts"}` for each live change
 *    applied (docs/operations.md); binary subscribers get it as an `Alert`
 *    body (level info, source `config`, the action in its text) until the
 *    schema has a table of its own. Changes are events, not states: a joiner
 *    is not sent past ones (resume replays them). On an edge (`--role edge`,
 *    docs/scale-out.md), `{"type":"system","channel":"system","seq","source":
 *    "cluster","exchange","state":"leader"|"standby","node","term","reason",
 *    "ts"}` when a feed takes or loses an exchange's publisher lease: an
 *    event too, an `Alert` body (source `cluster`) for binary subscribers.
 *  - `alerts`: `{"type":"alert","channel":"alerts","seq","id","level","source",
 *    "message","ts"}`, raised by embedding code through
 *    `TickwireServer.publishAlert` and by the alert rules of the config (`alerts.rules`, src/alerts/rules.ts).
 *
 * Both are subscribed like any channel, obey auth (`system` and `alerts` are
 * channel names a token's patterns can allow), have a seq and a resume
 * history, and are never conflated. This module keeps the system states and
 * validates alerts; the stream publishes them.
 */
import { randomUUID } from 'node:crypto';
import type { ConfigChange, LeadershipEvent } from '../model/events.ts';
import type { ExchangeStatus, StorageStatus } from '../model/status.ts';
import type { StrategySummary } from '../model/strategy.ts';
import { InvalidParameterError } from '../errors.ts';
import { ALERTS_ROOM, SYSTEM_ROOM } from '../wire/channels.ts';
import type { AlertLevel, SystemBody } from '../wire/messages.ts';

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

/** One exchange's state, or storage's, as the `system` room carries it (without type, channel and seq). */
export type SystemState = SystemBody;
type ExchangeSystemState = Exclude<SystemState, { source: 'storage' | 'strategy' }>;
type StrategySystemState = Extract<SystemState, { source: 'strategy' }>;
type StorageSystemState = Extract<SystemState, { source: 'storage' }>;

/** Longest text of a storage state field, in characters: four of them stay well inside ROOM_MESSAGE_BOUND. */
export const MAX_STORAGE_TEXT = 300;

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

/** The last published state of every exchange and of storage; tells which reports are changes. */
export class SystemStates {
  readonly #byExchange = new Map<string, ExchangeSystemState>();
  readonly #byStrategy = new Map<string, StrategySystemState>();
  #storage: StorageSystemState | undefined;

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

  /** Record storage's status (null: storage off); the new state when state, reason or corruption differ from the last, else undefined. */
  updateStorage(s: StorageStatus | null, now: number): SystemState | undefined {
    if (s === null) return undefined;
    const next = storageStateOf(s, now);
    const last = this.#storage;
    if (
      last !== undefined &&
      last.state === next.state &&
      last.reason === next.reason &&
      last.errno === next.errno &&
      last.corrupt === next.corrupt &&
      last.movedTo === next.movedTo
    ) {
      return undefined;
    }
    this.#storage = next;
    return next;
  }

  /** Record a strategy's summary; the new state when its state, counts or last error differ from the last, else undefined. */
  updateStrategy(s: StrategySummary, now: number): SystemState | undefined {
    const last = this.#byStrategy.get(s.name);
    if (last !== undefined && last.state === s.state && last.errors === s.errors && last.timeouts === s.timeouts && last.lastError === s.lastError) {
      return undefined;
    }
    const next: StrategySystemState = {
      source: 'strategy', strategy: s.name, state: s.state, errors: s.errors, timeouts: s.timeouts, lastError: cut(s.lastError), ts: now,
    };
    this.#byStrategy.set(s.name, next);
    return next;
  }

  /** Every exchange's last published state, then storage's (when on), then every strategy's. */
  *current(): IterableIterator<SystemState> {
    yield* this.#byExchange.values();
    if (this.#storage !== undefined) yield this.#storage;
    yield* this.#byStrategy.values();
  }
}

function stateOf(s: ExchangeStatus, now: number): ExchangeSystemState {
  return { exchange: s.exchange, state: s.state, reconnects: s.reconnects, restarts: s.restarts, lastError: s.lastError, ts: now };
}

function cut(text: string | null): string | null {
  return text === null || text.length <= MAX_STORAGE_TEXT ? text : `${text.slice(0, MAX_STORAGE_TEXT - 1)}…`;
}

function storageStateOf(s: StorageStatus, now: number): StorageSystemState {
  return {
    source: 'storage', state: s.state, reason: cut(s.reason), errno: cut(s.errno),
    corrupt: cut(s.corrupt?.reason ?? null), movedTo: cut(s.corrupt?.movedTo ?? null), ts: now,
  };
}

/** A `system` room message in JSON. */
export function systemMessage(seq: number, s: SystemState): string {
  if (s.source === 'strategy') {
    return JSON.stringify({
      type: 'system', channel: SYSTEM_ROOM, seq,
      source: 'strategy', strategy: s.strategy, state: s.state, errors: s.errors, timeouts: s.timeouts, lastError: s.lastError, ts: s.ts,
    });
  }
  if (s.source === 'storage') {
    return JSON.stringify({
      type: 'system', channel: SYSTEM_ROOM, seq,
      source: 'storage', state: s.state, reason: s.reason, errno: s.errno, corrupt: s.corrupt, movedTo: s.movedTo, ts: s.ts,
    });
  }
  return JSON.stringify({
    type: 'system', channel: SYSTEM_ROOM, seq,
    exchange: s.exchange, state: s.state, reconnects: s.reconnects, restarts: s.restarts, lastError: s.lastError, ts: s.ts,
  });
}

/** A live change on the `system` room, in JSON. */
export function configChangeMessage(seq: number, c: ConfigChange): string {
  return JSON.stringify({
    type: 'system', channel: SYSTEM_ROOM, seq,
    source: 'config', action: c.action, exchange: c.exchange, symbol: c.symbol, restoredBars: c.restoredBars, ts: c.ts,
    ...(c.cause === undefined ? {} : { cause: c.cause }),
  });
}

/** A live change as the `Alert` body binary subscribers of the `system` room get (see the header). */
export function configChangeAlert(c: ConfigChange): Alert {
  const what = c.symbol === null ? c.exchange : `${c.exchange} ${c.symbol}`;
  return { id: `config:${c.action}:${what}:${c.ts}`.slice(0, MAX_ALERT_ID), level: 'info', source: 'config', message: `${c.action} ${what}`, ts: c.ts };
}

/** A feed's lease taken or lost, on the `system` room in JSON (edges). */
export function leadershipMessage(seq: number, e: LeadershipEvent): string {
  return JSON.stringify({
    type: 'system', channel: SYSTEM_ROOM, seq,
    source: 'cluster', exchange: e.exchange, state: e.state, node: e.node, term: e.term, reason: e.reason, ts: e.ts,
  });
}

/** The same as the `Alert` body binary subscribers of the `system` room get. */
export function leadershipAlert(e: LeadershipEvent): Alert {
  const message = `${e.exchange}: ${e.node} ${e.state === 'leader' ? 'leads' : 'stands by'} (term ${e.term}: ${e.reason})`;
  return { id: `cluster:${e.exchange}:${e.state}:${e.term}:${e.ts}`.slice(0, MAX_ALERT_ID), level: 'info', source: 'cluster', message: message.slice(0, MAX_ALERT_MESSAGE), ts: e.ts };
}

/** An `alerts` room message in JSON. */
export function alertMessage(seq: number, a: Alert): string {
  return JSON.stringify({ type: 'alert', channel: ALERTS_ROOM, seq, id: a.id, level: a.level, source: a.source, message: a.message, ts: a.ts });
}
