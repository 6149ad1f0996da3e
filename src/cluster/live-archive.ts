/**
 * An edge's archive (`Tickwire.archive`): a market channel's messages read
 * back from the live stream (`<name>_live`, kept `history.trades`) when a
 * client resumes with a `since` older than the edge's resume history
 * (docs/scale-out.md, "Durable history"). The server asks for seqs
 * `from..to`: the ones between the client's `since` and where its memory
 * starts.
 *
 * Finding seq `from`: on one channel's subject the feed's seqs grow with the
 * stream's sequence, so the first message at or after `from` is found by
 * bisecting stream sequences with `next_by_subj` message gets (about
 * log2(messages in the stream) requests: 20 for a million). An ordered
 * consumer filtered by the subject reads from there: nothing to acknowledge,
 * removed by the server once idle.
 *
 * Bounded: the server asks at most `maxPerResume` seqs a read; at most
 * CONCURRENT reads run at once, the others wait their turn (a waiting resume
 * holds only its own client's answer, never the event loop); a read gives up
 * after READ_TIMEOUT_MS (it rejects, and the server serves a `gap`).
 *
 * A message that cannot be decoded, or repeats a seq already read (a copy
 * stored across a stream-leader election), is skipped: the server announces
 * the seqs it did not get as a `gap`.
 */
import { DeliverPolicy, type MsgRequest, type StoredMsg } from '@nats-io/jetstream';
import type { ArchiveChannel, ArchivedEvent, ChannelArchive } from '../api/types.ts';
import { ErrorCode, TickwireError } from '../errors.ts';
import { decodeMessage } from '../wire/fbs.ts';
import type { StreamMessage } from '../wire/messages.ts';
import { liveEvent } from './live-events.ts';
import type { ClusterConnection } from './nats.ts';
import { Header } from './subjects.ts';

/** Reads running at once; more wait in line. */
const CONCURRENT = 4;
/** A read (finding the start and reading the messages) that takes longer fails, ms. */
const READ_TIMEOUT_MS = 10_000;

/** A channel's messages by seq from the cluster's live stream; see the module comment. */
export class LiveArchive implements ChannelArchive {
  readonly maxPerResume: number;
  readonly #cluster: ClusterConnection;
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  /** Reads finished, messages they returned, reads that failed: the edge's status. */
  reads = 0;
  messages = 0;
  failures = 0;

  constructor(cluster: ClusterConnection, maxPerResume: number) {
    this.#cluster = cluster;
    this.maxPerResume = maxPerResume;
  }

  /** The kept messages of `channel` with seqs `from..to` (see the module comment); rejects with CLUSTER_UNAVAILABLE. */
  async read(channel: ArchiveChannel, from: number, to: number): Promise<ArchivedEvent[]> {
    if (to < from) return [];
    if (this.#running >= CONCURRENT) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    const deadline = performance.now() + READ_TIMEOUT_MS;
    try {
      const events = await this.#read(channel, from, to, deadline);
      this.reads++;
      this.messages += events.length;
      return events;
    } catch (err) {
      this.failures++;
      throw new TickwireError(ErrorCode.CLUSTER_UNAVAILABLE, `cannot read ${channel.kind} of ${channel.symbol} on ${channel.exchange} from the cluster: ${(err as Error).message}`, { cause: err });
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  async #read(channel: ArchiveChannel, from: number, to: number, deadline: number): Promise<ArchivedEvent[]> {
    const { js, names } = this.#cluster;
    const subject = names.subject(channel.kind, channel.exchange, channel.symbol, channel.timeframe);
    const start = await this.#locate(subject, from, deadline);
    if (start === undefined) return [];
    const consumer = await js.consumers.get(names.liveStream, { filter_subjects: subject, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start });
    // Whole ms: the server refuses a fractional duration.
    const expires = Math.max(1_000, Math.floor(deadline - performance.now()));
    const batch = await consumer.fetch({ max_messages: to - from + 1, expires });
    const events: ArchivedEvent[] = [];
    let last = from - 1;
    for await (const m of batch) {
      const seq = seqOf(m.headers?.get(Header.SEQ));
      if (seq > to) break;
      const msg = seq > last ? decoded(m.data) : undefined;
      const e = msg === undefined ? undefined : liveEvent(channel, msg, seq);
      if (e !== undefined) {
        events.push(e as ArchivedEvent);
        last = seq;
      }
      if (seq === to || m.info.pending === 0 || performance.now() > deadline) break;
    }
    return events;
  }

  /** Stream sequence of the first message on `subject` whose seq is `from` or later; undefined when none is kept. */
  async #locate(subject: string, from: number, deadline: number): Promise<number | undefined> {
    const first = await this.#next(subject, 1);
    if (first === null) return undefined;
    if (seqOf(first.header.get(Header.SEQ)) >= from) return first.seq;
    const newest = await this.#cluster.jsm.streams.getMessage(this.#cluster.names.liveStream, { last_by_subj: subject });
    if (newest === null || seqOf(newest.header.get(Header.SEQ)) < from) return undefined;
    // Invariant: the first message at or after stream seq `lo` is older than `from`; the one at or after `hi` is not (it is `found`).
    let lo = first.seq;
    let hi = newest.seq;
    let found = newest.seq;
    while (hi - lo > 1) {
      if (performance.now() > deadline) throw new Error(`timed out after ${READ_TIMEOUT_MS} ms finding seq ${from}`);
      const mid = Math.floor((lo + hi) / 2);
      const m = await this.#next(subject, mid);
      if (m === null || seqOf(m.header.get(Header.SEQ)) >= from) {
        hi = mid;
        found = m?.seq ?? found;
      } else {
        lo = m.seq; // nothing on the subject between mid and m: the same answer from there
      }
    }
    return found;
  }

  /** The first message on `subject` at or after stream seq `seq`, or null. */
  #next(subject: string, seq: number): Promise<StoredMsg | null> {
    // The stream API takes `next_by_subj` (NATS 2.9+); the client's type for this call names only seq and last_by_subj.
    const query = { seq, next_by_subj: subject } as unknown as MsgRequest;
    return this.#cluster.jsm.streams.getMessage(this.#cluster.names.liveStream, query);
  }
}

/** A `Tw-Seq` header's value; 0 when absent or not a number (such a message is skipped). */
function seqOf(header: string | undefined): number {
  const n = Number(header);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

function decoded(data: Uint8Array): StreamMessage | undefined {
  try {
    return decodeMessage(data);
  } catch {
    return undefined;
  }
}
