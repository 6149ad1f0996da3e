/**
 * Resumes further back than a channel's resume history (history.ts), read
 * from the library's archive (`Tickwire.archive`: a cluster edge's
 * JetStream, docs/scale-out.md).
 *
 * The stream holds the subscribe's channels off their topics while the
 * archive is read (asynchronously: other connections go on; this one's later
 * requests wait), then in one turn sends what was read (`send`) and
 * replay.ts sends the rest from history up to the channel's seq, and the
 * channel joins its topic: nothing is published in between, so the client
 * sees no gap and no duplicate where the archive met the history.
 *
 * What is read: the seqs after the client's `since` up to where the history
 * starts, the newest `archive.maxPerResume` of them at most, for the whole
 * subscribe (its channels in order, each taking what the budget has left).
 * Seqs before those, and seqs the archive no longer keeps (past its
 * retention), are one `gap` of reason `history`. The history moves on while
 * the archive is read, so the read continues up to where it starts now, for
 * a few rounds within the same budget. A read that fails (the cluster
 * unreachable, a timeout) counts as nothing kept: a `gap`, never an error to
 * the client. Sending: as any replay, within the room left for replies, the
 * oldest part cut (`gap` reason `slow_consumer`). The client's request budget
 * is charged for the messages read (chargeWork: one message, one unit).
 */
import type { ArchiveChannel, ArchivedEvent, ChannelArchive } from '../api/types.ts';
import type { BarUpdate, QuoteEvent, TradeEvent } from '../model/events.ts';
import type { FbsEncoder } from '../wire/fbs.ts';
import { barMessage, quoteMessage, tradeMessage } from '../wire/json.ts';
import type { Channel } from './channels.ts';
import { historyStart } from './replay.ts';
import { WS_FRAME_HEADER, type Conn } from './stream-conn.ts';
import type { StreamReplies } from './stream-replies.ts';

/** Reads of one channel while its history moves on under them (the first, then catching up). */
const MAX_ROUNDS = 3;

/** What a resume of one channel read from the archive. */
export interface ArchiveRead {
  /** The client's `since`. */
  readonly after: number;
  /** First seq asked of the archive; `after + 1 .. from - 1` were not (past the budget). */
  readonly from: number;
  /** Last seq asked: everything up to here is sent or announced once these are (history goes on from through + 1). */
  readonly through: number;
  /** What the archive kept of `from..through`, by seq. */
  readonly events: readonly ArchivedEvent[];
}

/** Reads and sends the archive part of resumes; see the module comment. */
export class ArchiveReplays {
  readonly #archive: ChannelArchive;
  readonly #fbs: FbsEncoder;

  constructor(archive: ChannelArchive, fbs: FbsEncoder) {
    this.#archive = archive;
    this.#fbs = fbs;
  }

  /** Messages one subscribe may read from the archive, over all its channels. */
  get budget(): number {
    return this.#archive.maxPerResume;
  }

  /** Does a resume of `ch` after `after` need seqs older than the history holds (a market channel only)? */
  needs(conn: Conn, ch: Channel, after: number): boolean {
    return ch.format !== undefined && after < ch.seq && after + 1 < historyStart(conn, ch);
  }

  /** Read `ch`'s seqs after `after` up to where the history starts, the newest `budget` at most (see the module comment). */
  async read(conn: Conn, ch: Channel, after: number, budget: number): Promise<ArchiveRead> {
    const channel = archiveChannel(ch);
    let through = historyStart(conn, ch) - 1;
    const from = Math.max(after + 1, through - budget + 1);
    const events: ArchivedEvent[] = [];
    let next = from;
    for (let round = 0; round < MAX_ROUNDS && next <= through && next - from < budget && !conn.closed; round++) {
      const to = Math.min(through, from + budget - 1);
      try {
        for (const e of await this.#archive.read(channel, next, to)) if (e.seq >= next && e.seq <= to) events.push(e);
      } catch {
        // Counted by the archive; these seqs are announced as not kept.
      }
      next = to + 1;
      through = Math.max(next - 1, Math.min(historyStart(conn, ch) - 1, from + budget - 1));
    }
    return { after, from, through: next - 1, events: sortedUnique(events) };
  }

  /**
   * Send a read's messages to `conn` in `room` bytes at most: `gap`s (reason
   * history) for what was not asked or not kept, the oldest cut to fit (reason
   * slow_consumer). Returns the bytes sent.
   */
  send(replies: StreamReplies, conn: Conn, ch: Channel, read: ArchiveRead, room: number): number {
    const payloads = read.events.map((e) => this.#encode(conn, ch, e));
    // Newest first: how far back fits in `room`.
    let cut = payloads.length;
    let used = 0;
    while (cut > 0) {
      const n = payloads[cut - 1]!.length + WS_FRAME_HEADER;
      if (used + n > room) break;
      used += n;
      cut--;
    }
    let expected = read.after + 1; // first seq neither sent nor announced
    if (cut > 0) {
      // The oldest part does not fit: what was not asked or not kept before it, then the part cut.
      const oldestKept = read.events[0]!.seq;
      if (oldestKept > expected) replies.gap(conn, ch, expected, oldestKept - 1, 'history');
      const first = read.events[cut]?.seq ?? read.through + 1;
      replies.gap(conn, ch, oldestKept, first - 1, 'slow_consumer');
      expected = first;
    }
    for (let i = cut; i < payloads.length && !conn.closed; i++) {
      const seq = read.events[i]!.seq;
      if (seq > expected) replies.gap(conn, ch, expected, seq - 1, 'history');
      replies.send(conn, payloads[i]!, conn.binary);
      expected = seq + 1;
    }
    if (expected <= read.through && !conn.closed) replies.gap(conn, ch, expected, read.through, 'history');
    return used;
  }

  /** One archived message in `conn`'s format (binary copied: the encoder reuses its buffer). */
  #encode(conn: Conn, ch: Channel, e: ArchivedEvent): string | Uint8Array {
    if (ch.kind === 'trades') return conn.binary ? this.#fbs.trade(ch.name, e.seq, e as TradeEvent).slice() : tradeMessage(ch.format!, e.seq, e as TradeEvent);
    if (ch.kind === 'quotes') return conn.binary ? this.#fbs.quote(ch.name, e.seq, e as QuoteEvent).slice() : quoteMessage(ch.format!, e.seq, e as QuoteEvent);
    const bar = (e as BarUpdate).bar;
    return conn.binary ? this.#fbs.bar(ch.name, e.seq, bar).slice() : barMessage(ch.format!, e.seq, bar);
  }
}

/** A market channel as the archive names it. */
function archiveChannel(ch: Channel): ArchiveChannel {
  return { kind: ch.kind as ArchiveChannel['kind'], exchange: ch.exchange, symbol: ch.symbol, timeframe: ch.timeframe };
}

/** Events by seq, each seq once (rounds never overlap; an archive may repeat a copy). */
function sortedUnique(events: ArchivedEvent[]): ArchivedEvent[] {
  events.sort((a, b) => a.seq - b.seq);
  return events.filter((e, i) => i === 0 || e.seq !== events[i - 1]!.seq);
}
