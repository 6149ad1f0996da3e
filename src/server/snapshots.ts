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
 * as many as fit at the size of the channel's newest bar (measured, with a
 * margin; rebuilt smaller in the rare case it still overflows), and is
 * preceded by a `gap` (reason slow_consumer) from 0 to its seq. A connection
 * or process out of snapshot bytes is answered RATE_LIMITED before anything
 * changes; the process's bytes are reserved when a message is admitted and
 * what it did not use is given back when it is answered.
 *
 * Snapshots are built and sent in slices (`slice`: whole channels, up to
 * SLICE_BYTES or SLICE_MS a turn) so that no turn holds the main thread long;
 * snapshot-turns.ts schedules the turns, stream.ts holds each channel off its
 * topic until its snapshot is sent.
 */
import type { StreamConfig } from '../config/types.ts';
import { ErrorCode, TickwireError } from '../errors.ts';
import type { Channel } from './channels.ts';
import { TokenBucket } from './rate-limit.ts';
import type { BufferLimits, Conn } from './stream-conn.ts';
import type { StreamReplies } from './stream-replies.ts';

/** The snapshots of one subscribe message, built a slice at a time. */
export interface SnapshotJob {
  readonly conn: Conn;
  /** Bars channels to snapshot, in the message's order. */
  readonly channels: readonly Channel[];
  /** Bars asked for per channel. */
  readonly n: number;
  /** Bytes the snapshots not yet built may still take. */
  left: number;
  /** Process bytes reserved at admission (settled by `send`). */
  readonly reserved: number;
  /** Channels done (built and sent), from the first. */
  next: number;
  /** Bytes sent. */
  sent: number;
}

/** Snapshot bytes one subscribe token pays for: with the default subscribeRate (10/s, bursts of 20), 640 KiB/s and 1.25 MiB at once per connection. */
export const SNAPSHOT_BYTES_PER_TOKEN = 64 * 1024;
/**
 * One slice builds and sends channels until this many bytes (at least one channel). Measured here: 1000 bars
 * of JSON (~220 KB) built in 1.4 ms (median); sending to a loopback reader cost 12–20 ms per MB more (the
 * kernel delivers to the receiver in the sender's syscall).
 */
export const SLICE_BYTES = 128 * 1024;
/** …or until this much wall time has passed. */
export const SLICE_MS = 2;
/** Margin on the newest bar's size when estimating how many bars fit (older bars may carry more digits). */
const BAR_SIZE_MARGIN = 1.15;

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
   * Admit the snapshots of `n` bars of `channels` for `conn`: their allowance
   * is reserved from the process's bytes. Throws RATE_LIMITED like
   * `allowance`, before anything is built or reserved.
   */
  start(conn: Conn, channels: readonly Channel[], n: number): SnapshotJob {
    const left = channels.length === 0 ? 0 : this.allowance(conn, channels);
    this.#process.charge(left);
    return { conn, channels, n, left, reserved: left, next: 0, sent: 0 };
  }

  /**
   * Build and send the job's next snapshots, whole channels, each cut to an
   * even share of what is left and preceded by a `gap` (0 to its seq,
   * slow_consumer) when cut, until `bytes` sent or `ms` of wall time (at
   * least one channel); `sent(ch)` after each, in the same turn (the caller
   * puts the channel on its topic: live from seq + 1). True when every one
   * is sent (or the connection closed); then call `settle`.
   */
  slice(replies: StreamReplies, job: SnapshotJob, sent: (ch: Channel) => void, bytes = SLICE_BYTES, ms = SLICE_MS): boolean {
    const { conn, channels, n } = job;
    const t0 = performance.now();
    let made = 0;
    while (job.next < channels.length && !conn.closed) {
      const ch = channels[job.next]!;
      const share = Math.floor(job.left / (channels.length - job.next));
      job.next++;
      const { data, cut } = buildOne(replies, conn, ch, n, share);
      if (cut) replies.gap(conn, ch, 0, ch.seq, 'slow_consumer');
      replies.send(conn, data, conn.binary);
      job.left -= sizeOf(data);
      job.sent += sizeOf(data);
      made += sizeOf(data);
      sent(ch);
      if (made >= bytes || performance.now() - t0 >= ms) break;
    }
    return conn.closed || job.next === channels.length;
  }

  /** Pay for the job's bytes: what the process reserved and did not use goes back; the connection's bucket pays a token per SNAPSHOT_BYTES_PER_TOKEN. */
  settle(job: SnapshotJob): number {
    this.#process.charge(job.sent - job.reserved);
    const tokens = Math.floor(job.sent / SNAPSHOT_BYTES_PER_TOKEN);
    if (tokens > 0) job.conn.bucket.charge(tokens);
    return job.sent;
  }
}

function sizeOf(data: string | Uint8Array): number {
  return typeof data === 'string' ? data.length : data.byteLength;
}

/**
 * `ch`'s snapshot of at most `n` bars in at most `share` bytes: as many as
 * fit at the newest bar's size (with a margin); rebuilt smaller when older
 * bars turn out larger, and at the channel's largest message size last.
 */
function buildOne(replies: StreamReplies, conn: Conn, ch: Channel, n: number, share: number): { data: string | Uint8Array; cut: boolean } {
  const empty = sizeOf(replies.snapshot(conn, ch, 0));
  const bar = Math.max(1, sizeOf(replies.snapshot(conn, ch, 1)) - empty + 1);
  let fit = barsThatFit(n, share - empty, Math.ceil(bar * BAR_SIZE_MARGIN));
  let data = replies.snapshot(conn, ch, fit);
  if (sizeOf(data) > share && fit > 0) {
    fit = Math.max(0, Math.min(fit - 1, Math.floor((fit * (share - empty)) / (sizeOf(data) - empty))));
    data = replies.snapshot(conn, ch, fit);
    if (sizeOf(data) > share) {
      fit = barsThatFit(n, share, ch.maxBytes);
      data = replies.snapshot(conn, ch, fit);
    }
  }
  // Cut only when the channel has more than fit: counting fit + 1 bars, not all n, keeps this cheap.
  const cut = fit < n && replies.snapshotBars(ch, fit + 1) > fit;
  return { data, cut };
}

/** Bars of `perBar` bytes that fit in `bytes`, at most `n` (one bar's room kept for the head at the worst-case size). */
export function barsThatFit(n: number, bytes: number, perBar: number): number {
  return Math.max(0, Math.min(n, Math.floor(bytes / perBar) - 1));
}
