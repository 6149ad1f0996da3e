/**
 * Channels as the client tracks them: per concrete channel, the sequence
 * bookkeeping that makes delivery exact. Names and wildcards are parsed by
 * src/wire/channels.ts (`channelParts`, `parseLooseWildcard`).
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
import type { ChannelKind, ChannelParts } from '../wire/channels.ts';
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
