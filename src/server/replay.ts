/**
 * Replays from a channel's history (history.ts) to one connection: every
 * message after a seq for a `since` resume, or what a catch-up must deliver
 * after a slow consumer drained (slow-consumer.ts). Sent inside the caller's
 * handler: the event loop is single-threaded, so nothing is published between
 * the replay's last seq and the first live message.
 */
import { WireFormat } from './history.ts';
import type { Channel } from './channels.ts';
import { WS_FRAME_HEADER, type Conn } from './stream-conn.ts';
import type { GapReason, StreamReplies } from './stream-replies.ts';

/** The oldest seq of `ch` its history holds in `conn`'s format; the channel's seq + 1 when it holds none. */
export function historyStart(conn: Conn, ch: Channel): number {
  const h = ch.history;
  return Math.min(h === null ? Infinity : h.oldest(conn.binary ? WireFormat.FBS : WireFormat.JSON), ch.seq + 1);
}

/** Bytes a resume replay of `ch` after `after` would send from history (every message from there, uncut). */
export function historyBytes(conn: Conn, ch: Channel, after: number): number {
  let bytes = 0;
  for (let s = Math.max(after + 1, historyStart(conn, ch)); s <= ch.seq; s++) bytes += sizeOf(conn, ch, s);
  return bytes;
}

/** Size on the wire of `ch`'s history message of `seq`, in `conn`'s format. */
function sizeOf(conn: Conn, ch: Channel, seq: number): number {
  const h = ch.history!;
  return (conn.binary ? h.bin(seq).byteLength : h.text(seq).length) + WS_FRAME_HEADER;
}

/**
 * Send `ch`'s messages after `after` up to its seq from history: every one
 * (`all`: a resume), or those a catch-up must deliver (closed bars, room
 * messages) and the newest. What history no longer holds is one `gap` of
 * `oldReason`; the oldest part that would not fit in `room` bytes, and the
 * superseded messages, `gap`s of reason slow_consumer. Returns the bytes sent.
 */
export function replay(
  replies: StreamReplies,
  conn: Conn,
  ch: Channel,
  after: number,
  all: boolean,
  room: number,
  oldReason: GapReason,
): number {
  const last = ch.seq;
  if (last <= after || conn.closed) return 0;
  const h = ch.history;
  // First seq to consider: after `after`, where history starts (last + 1 when it holds nothing).
  const oldest = Math.max(after + 1, historyStart(conn, ch));
  const size = (s: number): number => sizeOf(conn, ch, s);
  const wanted = (s: number): boolean => all || s === last || h!.keep(s);
  // Newest first: how far back fits in `room`.
  let cut = oldest;
  let used = 0;
  for (let s = last; s >= oldest; s--) {
    if (!wanted(s)) continue;
    const n = size(s);
    if (used + n > room) {
      cut = s + 1;
      break;
    }
    used += n;
  }
  if (oldest > after + 1) replies.gap(conn, ch, after + 1, oldest - 1, oldReason);
  let from = oldest; // first seq neither sent nor announced
  for (let s = cut; s <= last && !conn.closed; s++) {
    if (!wanted(s)) continue;
    if (from < s) replies.gap(conn, ch, from, s - 1, 'slow_consumer');
    replies.send(conn, conn.binary ? h!.bin(s) : h!.text(s), conn.binary);
    from = s + 1;
  }
  if (from <= last) replies.gap(conn, ch, from, last, 'slow_consumer');
  return used;
}
