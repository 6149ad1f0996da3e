/**
 * Channels as the client tracks them: per concrete channel, the sequence
 * bookkeeping that makes delivery exact, and the registry of the client's
 * subscriptions and the concrete channels they hold. Names and wildcards are
 * parsed by src/wire/channels.ts (`channelParts`, `parseLooseWildcard`).
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
import { channelParts, type ChannelKind, type ChannelParts } from '../wire/channels.ts';
import { BarDedup } from './bar-dedup.ts';
import type { Subscription } from './subscription.ts';

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

/** Bars remembered per bars channel for resyncs, at least. */
const MIN_BAR_MEMORY = 128;

/** The client's live subscriptions and the concrete channels they hold, each channel once. */
export class ChannelRegistry {
  /** Subscriptions neither unsubscribed nor failed. */
  readonly subs = new Set<Subscription>();
  /** Concrete channels held by at least one subscription, by name. */
  readonly byName = new Map<string, ChannelState>();

  /** Track `name` (known to be a valid channel, `parts` its parts) for `owners`, remembering as many bars as the largest snapshot asked. */
  add(name: string, parts: ChannelParts, owners: readonly Subscription[]): ChannelState {
    const st = new ChannelState(name, parts, Math.max(MIN_BAR_MEMORY, ...owners.map((s) => s.snapshot)));
    this.byName.set(name, st);
    return st;
  }

  /** A channel the server added later under a wildcard (a new symbol): attach it to the subscriptions it matches. */
  adopt(name: string): ChannelState | undefined {
    const parts = channelParts(name);
    if (parts === undefined) return undefined;
    let st: ChannelState | undefined;
    for (const sub of this.subs) {
      if (sub.state !== 'active' || !sub.claims(name)) continue;
      st ??= new ChannelState(name, parts, Math.max(MIN_BAR_MEMORY, sub.snapshot));
      st.subs.add(sub);
      sub.concrete.add(name);
    }
    if (st !== undefined) this.byName.set(name, st);
    return st;
  }

  /** Detach `sub` from its channels; returns the channels nobody holds any more (forgotten). */
  release(sub: Subscription): string[] {
    const dropped: string[] = [];
    for (const name of sub.concrete) {
      const st = this.byName.get(name);
      if (st === undefined) continue;
      st.subs.delete(sub);
      if (st.subs.size === 0) {
        this.byName.delete(name);
        dropped.push(name);
      }
    }
    return dropped;
  }
}
