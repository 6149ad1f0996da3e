/**
 * Channels as the client tracks them: names and wildcard patterns, and per
 * concrete channel the sequence bookkeeping that makes delivery exact.
 *
 * Sequence rules (per concrete channel, within one server epoch):
 *  - `lastSeq` is the seq of the last message delivered or skipped by a gap
 *    notice; null until the channel's first message (the `subscribed` reply
 *    carries no seqs).
 *  - A message with seq ≤ lastSeq is a duplicate (a resume overlap) and is
 *    dropped; one past lastSeq + 1 left a hole the server did not announce,
 *    reported as a gap `unannounced` (bars: repaired by a resync instead).
 */
import { isTimeframe, parseTimeframe } from '../model/timeframes.ts';
import { BarDedup } from './bar-dedup.ts';
import type { Subscription } from './subscription.ts';

/** What a channel carries: the three market kinds and the two rooms. */
export type ChannelKind = 'trades' | 'quotes' | 'bars' | 'system' | 'alerts';

/** The parts of a channel name; symbols may hold `:` (the timeframe is after the last one). */
export interface ChannelParts {
  kind: ChannelKind;
  exchange: string;
  symbol: string;
  /** Bars only; as written (not canonicalized). */
  timeframe: string;
}

/** Split a channel name (concrete or pattern); undefined when it has no known shape. */
export function channelParts(name: string): ChannelParts | undefined {
  if (name === 'system' || name === 'alerts') return { kind: name, exchange: '', symbol: '', timeframe: '' };
  const c1 = name.indexOf(':');
  const kind = name.slice(0, c1);
  if (kind !== 'trades' && kind !== 'quotes' && kind !== 'bars') return undefined;
  const c2 = name.indexOf(':', c1 + 1);
  if (c2 < 0) return undefined;
  const exchange = name.slice(c1 + 1, c2);
  if (kind !== 'bars') return exchange === '' || c2 + 1 >= name.length ? undefined : { kind, exchange, symbol: name.slice(c2 + 1), timeframe: '' };
  const c3 = name.lastIndexOf(':');
  if (c3 <= c2 + 1 || c3 === name.length - 1 || exchange === '') return undefined;
  return { kind, exchange, symbol: name.slice(c2 + 1, c3), timeframe: name.slice(c3 + 1) };
}

/** Symbols compared the way users write them: case and separators ignored (`BTC-USDT` = `btcusdt`). */
function looseSymbol(s: string): string {
  return s.replace(/[^0-9A-Za-z]/g, '').toUpperCase();
}

/** A wildcard subscription pattern (`*` for a whole exchange or symbol segment). */
export interface ChannelPattern {
  readonly text: string;
  readonly kind: ChannelKind;
  /** null: any. */
  readonly exchange: string | null;
  /** null: any; else compared loosely. */
  readonly symbol: string | null;
  /** Canonical timeframe (bars). */
  readonly timeframe: string;
}

/** The pattern of `name` when it holds a `*` segment; undefined for a concrete name. */
export function parsePattern(name: string): ChannelPattern | undefined {
  const p = channelParts(name);
  if (p === undefined || (p.exchange !== '*' && p.symbol !== '*')) return undefined;
  const timeframe = p.kind === 'bars' && isTimeframe(p.timeframe) ? parseTimeframe(p.timeframe).name : p.timeframe;
  return {
    text: name,
    kind: p.kind,
    exchange: p.exchange === '*' ? null : p.exchange,
    symbol: p.symbol === '*' ? null : looseSymbol(p.symbol),
    timeframe,
  };
}

/** Does the concrete channel `name` fall under `pattern`? (a channel that appeared after subscribing) */
export function patternMatches(pattern: ChannelPattern, name: string): boolean {
  const p = channelParts(name);
  if (p === undefined || p.kind !== pattern.kind) return false;
  if (pattern.exchange !== null && pattern.exchange !== p.exchange) return false;
  if (pattern.symbol !== null && pattern.symbol !== looseSymbol(p.symbol)) return false;
  if (p.kind === 'bars') return isTimeframe(p.timeframe) && parseTimeframe(p.timeframe).name === pattern.timeframe;
  return true;
}

/** Why a bars channel wants a snapshot again. */
export type ResyncReason = 'restart' | 'history' | 'slow_consumer' | 'unannounced';

/** One concrete channel this client receives, shared by the subscriptions that hold it. */
export class ChannelState {
  readonly name: string;
  readonly kind: ChannelKind;
  readonly parts: ChannelParts;
  /** Bar duration, ms (bars only, else 0). */
  readonly tfMs: number;
  readonly subs = new Set<Subscription>();
  lastSeq: number | null = null;
  /** Bars only: what was delivered, for resyncs. */
  readonly bars: BarDedup | undefined;
  /**
   * Bars: a snapshot is wanted to repair the channel, and why. `system`: the
   * current states are wanted again (after a server restart).
   */
  resync: ResyncReason | null = null;
  /** The resync request went out on the current connection. */
  resyncSent = false;
  /**
   * `system` only: the server follows a subscribe with every exchange's
   * state, all at the channel's current seq (a snapshot in several
   * messages): they go to `subs`, and the run ends at the first other seq.
   */
  states: { subs: Subscription[]; seq: number | null } | null = null;

  constructor(name: string, parts: ChannelParts, barMemory: number) {
    this.name = name;
    this.kind = parts.kind;
    this.parts = parts;
    const bars = parts.kind === 'bars' && isTimeframe(parts.timeframe);
    this.tfMs = bars ? parseTimeframe(parts.timeframe).ms : 0;
    this.bars = parts.kind === 'bars' ? new BarDedup(barMemory) : undefined;
  }

  /**
   * Classify an arriving seq: 'dup' (drop), 'next' (deliver), or the number of
   * seqs skipped without notice (deliver after reporting them). Advances lastSeq
   * unless 'dup'.
   */
  advance(seq: number): 'dup' | 'next' | number {
    const last = this.lastSeq;
    if (last !== null && seq <= last) return 'dup';
    this.lastSeq = seq;
    if (last === null || seq === last + 1) return 'next';
    return seq - last - 1;
  }
}
