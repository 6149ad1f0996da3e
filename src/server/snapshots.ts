/**
 * What bars snapshots a subscribe may send: the bytes are bounded three ways,
 * so a 60-byte request cannot turn into tens of megabytes (issue 18: 400
 * bars channels × 1000 bars was 62.8 MB and 3.6 s of CPU per message).
 *
 *  - the reply room: what is left of the half of `maxBackpressure` kept for
 *    replies (the same bound as a resume replay's);
 *  - the connection's subscribe bucket: every SNAPSHOT_BYTES_PER_TOKEN bytes
 *    sent cost one more token, paid after sending (the next requests wait);
 *  - the process: `stream.snapshotBytesRate` bytes per second over all
 *    connections (bursts of twice that).
 *
 * The allowance is shared evenly by the message's bars channels; a snapshot
 * that would not fit its share keeps its newest bars (the forming one last),
 * as many as fit at the channel's largest message size, and is preceded by a
 * `gap` (reason slow_consumer) from 0 to its seq. A connection or process out
 * of snapshot bytes is answered RATE_LIMITED before anything changes.
 */
import type { StreamConfig } from '../config/types.ts';
import { ErrorCode, TickwireError } from '../errors.ts';
import type { Channel } from './channels.ts';
import { TokenBucket } from './rate-limit.ts';
import type { BufferLimits, Conn } from './stream-conn.ts';
import type { StreamReplies } from './stream-replies.ts';

/** A snapshot built for one channel, and whether it was cut at its oldest end. */
export interface BuiltSnapshot {
  ch: Channel;
  data: string | Uint8Array;
  cut: boolean;
}

/** Snapshot bytes one subscribe token pays for: with the default subscribeRate (10/s, bursts of 20), 640 KiB/s and 1.25 MiB at once per connection. */
export const SNAPSHOT_BYTES_PER_TOKEN = 64 * 1024;

/** The byte budgets of snapshots, per connection (its subscribe bucket) and for the process. */
export class SnapshotBudget {
  readonly #limits: BufferLimits;
  readonly #process: TokenBucket;

  constructor(cfg: StreamConfig, limits: BufferLimits) {
    this.#limits = limits;
    this.#process = new TokenBucket(cfg.snapshotBytesRate, cfg.snapshotBytesRate * 2);
  }

  /**
   * Bytes the snapshots of `channels` may take in all for `conn` now (the
   * request's own token included). Throws RATE_LIMITED when the connection or
   * the process cannot pay for one bar per channel.
   */
  allowance(conn: Conn, channels: readonly Channel[]): number {
    let least = 0;
    for (const ch of channels) least += 2 * ch.maxBytes;
    const own = (conn.bucket.available() + 1) * SNAPSHOT_BYTES_PER_TOKEN;
    const shared = this.#process.available();
    if (own < least || shared < least) {
      const ms = own < least
        ? conn.bucket.waitMs(Math.ceil(least / SNAPSHOT_BYTES_PER_TOKEN))
        : this.#process.waitMs(least);
      throw new TickwireError(
        ErrorCode.RATE_LIMITED,
        `snapshot bytes: ${own < least ? 'this connection' : 'the server'} is at its snapshot rate; retry in ${ms} ms`,
      );
    }
    const room = conn.closed ? 0 : this.#limits.replies - conn.ws!.getBufferedAmount();
    return Math.max(0, Math.min(room, own, shared));
  }

  /**
   * The snapshots of `n` bars of `channels` for `conn`, built (not sent),
   * cut to the allowance shared evenly (what one leaves goes to the next).
   * Throws RATE_LIMITED like `allowance`, before anything is built.
   */
  build(replies: StreamReplies, conn: Conn, channels: readonly Channel[], n: number): BuiltSnapshot[] {
    if (channels.length === 0) return [];
    let left = this.allowance(conn, channels);
    const out: BuiltSnapshot[] = [];
    for (let i = 0; i < channels.length; i++) {
      const ch = channels[i]!;
      const fit = barsThatFit(ch, n, Math.floor(left / (channels.length - i)));
      // Cut only when the channel has more than fit: counting fit + 1 bars, not all n, keeps this cheap.
      const cut = fit < n && replies.snapshotBars(ch, fit + 1) > fit;
      const data = replies.snapshot(conn, ch, fit);
      left -= typeof data === 'string' ? data.length : data.byteLength;
      out.push({ ch, data, cut });
    }
    return out;
  }

  /** Send what `build` made, each cut one after a `gap` (0 to its seq, slow_consumer), and pay for the bytes. */
  send(replies: StreamReplies, conn: Conn, built: readonly BuiltSnapshot[]): number {
    let bytes = 0;
    for (const { ch, data, cut } of built) {
      if (cut) replies.gap(conn, ch, 0, ch.seq, 'slow_consumer');
      replies.send(conn, data, conn.binary);
      bytes += typeof data === 'string' ? data.length : data.byteLength;
    }
    if (bytes > 0) this.#charge(conn, bytes);
    return bytes;
  }

  /** Pay for `bytes` of snapshots sent to `conn` (its request's first token already taken). */
  #charge(conn: Conn, bytes: number): void {
    this.#process.charge(bytes);
    const tokens = Math.floor(bytes / SNAPSHOT_BYTES_PER_TOKEN);
    if (tokens > 0) conn.bucket.charge(tokens);
  }
}

/** Bars of `ch` that fit in `bytes` (head included), at most `n`: counted at the channel's largest message. */
export function barsThatFit(ch: Channel, n: number, bytes: number): number {
  return Math.max(0, Math.min(n, Math.floor(bytes / ch.maxBytes) - 1));
}
