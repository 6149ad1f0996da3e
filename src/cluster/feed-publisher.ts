/**
 * The feed side of the cluster (docs/scale-out.md): turns the runtime's
 * trade, quote and bar events into JetStream messages, assigning each
 * channel's seq exactly once.
 *
 * Per message: the channel's next seq, the stream's FlatBuffers message
 * (src/wire/fbs.ts, the same bytes a binary subscriber gets), published on
 * the channel's subject (subjects.ts) with the seq and the lease term in
 * headers, acknowledged and in order (outbox.ts). Each message has an id
 * JetStream de-duplicates within DEDUP_WINDOW_MS: a trade its channel and
 * trade id, a closed or amended bar (also published on its series' history
 * subject) its open time and revision, anything else its channel and seq.
 *
 * Leadership is per exchange (lease.ts). While standing by, the publisher
 * publishes nothing and keeps the newest trades (RECENT_TRADES per channel)
 * and closed bars (RECENT_BARS per series). On taking the lease it reads each
 * channel's last message from JetStream — its seq, and for trades the trade
 * id (the exchange time for venues without ids), for bars the newest closed
 * bar's open time and revision — continues the seqs from there and publishes
 * first what it kept that the old leader had not: nothing is published
 * twice, and the seqs stay contiguous. Where this feed missed trades the old
 * leader had not published either (its own connection dropped them), that
 * is, where the first kept trade after the stream's last is not the next
 * id, the missed ones are fetched over the venue's REST API first
 * (trade-fetcher.ts, the gap recovery's `tradesFrom`; at most FILL_PAGES
 * pages per channel) and published before the kept ones. A feed that starts, or restarts, goes
 * through the same path, so seqs continue across restarts.
 *
 * Quotes and forming bars are conflated (conflator.ts): per channel at most
 * one goes out per `cluster.conflate` window, the newest; one replaced
 * before it went out takes no seq. Closed bars and amendments are never
 * conflated: each is published at once, and a waiting forming update of the
 * same bar or an older one is dropped (the closed bar supersedes it), so a
 * later forming update always follows them. The single process conflates
 * forming bars too, per pump wake (src/reader/pump.ts); the feed's window is
 * longer because each message costs an acknowledged JetStream store.
 *
 * Decisions where the issue is silent: quotes and forming bars are not kept
 * while standing by (the next one supersedes them); trades are compared by
 * trade id (ids increase per symbol on every supported venue), by exchange
 * time where a venue has none; a channel with no message left in the stream
 * (quiet for longer than `history.trades`) starts again at seq 1.
 *
 * Hot path (a leader's event): a Map lookup pair, the seq bump, one encode
 * into the encoder's reused buffer, one copy (kept until acknowledged), a
 * stamp (term, seq, message id) whose headers are written in one step
 * (stamp-headers.ts) and a numbered publish whose acknowledgement comes
 * back on the publisher's own inbox (acked-publisher.ts).
 */
import type { Tickwire } from '../api/types.ts';
import type { LatencyReport, OutboxStatus } from '../model/status.ts';
import { summarize } from '../api/latency.ts';
import type { BarUpdate, QuoteEvent, TradeEvent } from '../model/events.ts';
import type { TimeframeName } from '../model/timeframes.ts';
import { channelName } from '../wire/channels.ts';
import { FbsEncoder } from '../wire/fbs.ts';
import { decodeMessage } from '../wire/fbs.ts';
import type { ClusterConnection } from './nats.ts';
import { Conflator } from './conflator.ts';
import { ACK_TIMEOUT_MS, Outbox, type FencedMessage } from './outbox.ts';
import { AckedPublisher } from './acked-publisher.ts';
import { toBar } from './live-events.ts';
import type { TradeFetcher } from './trade-fetcher.ts';
import type { Stamp } from './stamp-headers.ts';
import { Header } from './subjects.ts';
import type { RecoveredTrade } from '../exchanges/adapter.ts';

/**
 * Trades kept per channel while standing by: the newest, at most this many
 * (about 3 MB per channel when full), and none older than RECENT_MS: enough
 * for a takeover within the lease TTL at thousands of trades per second.
 */
export const RECENT_TRADES = 16_384;
/** Closed bars and amendments kept per series while standing by. */
export const RECENT_BARS = 8;
/** Pages of REST trades fetched per channel at a takeover, at most. */
export const FILL_PAGES = 20;

/** A channel as the feed publishes it. */
interface FeedChannel {
  readonly name: string;
  readonly subject: string;
  /** Bars: the history subject of its closed bars; '' otherwise. */
  readonly closedSubject: string;
  readonly kind: 'trades' | 'quotes' | 'bars';
  readonly exchange: string;
  readonly symbol: string;
  seq: number;
  /** What this process published last on it (a takeover compares it with what the stream holds). */
  readonly last: LastPublished;
  /** Newest events kept while standing by (trades, or closed bars). */
  readonly recent: Recent;
  /** Quotes and bars: the newest quote or forming bar waiting for its conflation window's end (conflator.ts). */
  pending: QuoteEvent | BarUpdate | undefined;
  /** The conflation window it last published in. */
  window: number;
}

/** What a publisher counts (the feed's status and metrics). */
export interface PublisherCounters {
  published: number;
  /** Kept events published at a takeover. */
  replayed: number;
  /** Kept events found already published at a takeover. */
  skipped: number;
  /** Events for channels the config does not have. */
  unknown: number;
  /** Trades this feed missed, fetched over REST and published at a takeover. */
  filled: number;
  /** Takeovers whose REST fetch failed or did not reach the first kept trade (trades missing between them). */
  fillFailures: number;
}

/** The runtime's event surface the publisher reads. */
export type EventSource = Pick<Tickwire, 'on' | 'config'>;

/** The feed's publisher; see the module comment. */
export class FeedPublisher {
  readonly counters: PublisherCounters = { published: 0, replayed: 0, skipped: 0, unknown: 0, filled: 0, fillFailures: 0 };
  /** Why the last takeover's REST fetch failed, null when none did. */
  lastFillError: string | null = null;
  /** Acknowledged, in-order publishing (resent after a failure). */
  readonly outbox: Outbox;
  /** What the outbox publishes through (acknowledgements on an inbox of its own). */
  readonly #acks: AckedPublisher;
  readonly #cluster: ClusterConnection;
  readonly #source: EventSource;
  readonly #fbs = new FbsEncoder();
  /** Quotes and forming bars, per channel, at most one per `cluster.conflate` window. */
  readonly #conflator: Conflator<QuoteEvent | BarUpdate, FeedChannel>;
  /** exchange → symbol → channel. */
  readonly #trades = new Map<string, Map<string, FeedChannel>>();
  readonly #quotes = new Map<string, Map<string, FeedChannel>>();
  /** exchange → symbol → timeframe → channel. */
  readonly #bars = new Map<string, Map<string, Map<string, FeedChannel>>>();
  readonly #byExchange = new Map<string, FeedChannel[]>();
  /** subject → channel (the live subjects only). */
  readonly #bySubject = new Map<string, FeedChannel>();
  /** exchange → the term this feed publishes it under; absent: standing by. */
  readonly #terms = new Map<string, number>();
  /** exchange → true while a lease is held and valid (checked per publish). */
  readonly #valid: (exchange: string, now?: number) => boolean;
  readonly #fetchers: (exchange: string) => TradeFetcher | undefined;
  #off: (() => void)[] = [];

  /**
   * `valid(exchange, now?)`: whether this feed's lease on it still holds (lease.ts `valid`); false makes it stand by.
   * `fetchers(exchange)`: its venue's REST trades (trade-fetcher.ts), undefined where it serves none.
   */
  constructor(cluster: ClusterConnection, source: EventSource, valid: (exchange: string, now?: number) => boolean, fetchers: (exchange: string) => TradeFetcher | undefined = () => undefined) {
    this.#cluster = cluster;
    this.#source = source;
    this.#valid = valid;
    this.#fetchers = fetchers;
    this.#acks = new AckedPublisher(cluster.nc, ACK_TIMEOUT_MS);
    this.outbox = new Outbox(this.#acks, cluster.onConnection, { valid, onFenced: (m) => this.#takeBack(m) });
    this.#conflator = new Conflator(cluster.config.conflateMs, this.#publishConflated);
    const names = cluster.names;
    const { exchanges, timeframes } = source.config;
    for (const [exchange, ex] of Object.entries(exchanges)) {
      const list: FeedChannel[] = [];
      const make = (kind: 'trades' | 'quotes' | 'bars', symbol: string, tf?: string): FeedChannel => {
        const ch: FeedChannel = {
          name: channelName(kind, exchange, symbol, tf),
          subject: names.subject(kind, exchange, symbol, tf),
          closedSubject: tf === undefined ? '' : names.closedSubject(exchange, symbol, tf),
          kind,
          exchange,
          symbol,
          seq: 0,
          last: { seq: 0, tradeId: null, ts: -Infinity, openTime: -Infinity, revision: -1 },
          recent: new Recent(kind === 'trades' ? RECENT_TRADES : RECENT_BARS),
          pending: undefined,
          window: 0,
        };
        list.push(ch);
        this.#bySubject.set(ch.subject, ch);
        return ch;
      };
      const trades = new Map<string, FeedChannel>();
      const quotes = new Map<string, FeedChannel>();
      const bars = new Map<string, Map<string, FeedChannel>>();
      for (const symbol of ex.symbols) {
        if (ex.channels.includes('trades')) trades.set(symbol, make('trades', symbol));
        if (ex.channels.includes('quotes')) quotes.set(symbol, make('quotes', symbol));
        bars.set(symbol, new Map(timeframes.map((tf) => [tf, make('bars', symbol, tf)])));
      }
      this.#trades.set(exchange, trades);
      this.#quotes.set(exchange, quotes);
      this.#bars.set(exchange, bars);
      this.#byExchange.set(exchange, list);
    }
  }

  /** Start reading the runtime's events (standing by on every exchange until `lead`). */
  listen(): void {
    this.#off = [this.#source.on('trade', this.#onTrade), this.#source.on('quote', this.#onQuote), this.#source.on('bar', this.#onBar)];
  }

  /** Stop reading events. */
  close(): void {
    for (const off of this.#off) off();
    this.#off = [];
    this.#conflator.close();
    this.outbox.close();
    this.#acks.close();
  }

  /** The outbox's state and counts (`/v1/status` `cluster.outbox`). */
  outboxStatus(): OutboxStatus {
    const o = this.outbox;
    return { unacked: o.unacked, unackedBytes: o.unackedBytes, recovering: o.recovering, ...o.counters, inboxFailures: this.#acks.inboxFailures, sendToAck: summarize(o.sendToAck) };
  }

  /**
   * The outbox's stages (µs, since start; per key `outbox`): `outbox_wait` (event → published),
   * `publish_to_ack` (published → JetStream's acknowledgement), `send_to_ack` (the two together).
   */
  latency(histograms: boolean): LatencyReport {
    const o = this.outbox;
    return {
      outbox_wait: { outbox: summarize(o.sendToPublish, histograms) },
      publish_to_ack: { outbox: summarize(o.publishToAck, histograms) },
      send_to_ack: { outbox: summarize(o.sendToAck, histograms) },
    };
  }

  /** Quotes and forming bars superseded before they went out (conflated: never given a seq). */
  get conflated(): number {
    return this.#conflator.conflated;
  }

  /** The term `exchange` is published under, or undefined while standing by. */
  termOf(exchange: string): number | undefined {
    return this.#terms.get(exchange);
  }

  /**
   * Become `exchange`'s publisher under `term`: read each channel's last
   * message, continue its seq, publish what was kept and not yet published.
   * Resolves false when the lease was lost meanwhile (`stillValid`).
   */
  async lead(exchange: string, term: number, stillValid: () => boolean): Promise<boolean> {
    const channels = this.#byExchange.get(exchange) ?? [];
    const lasts = (await Promise.all(channels.map((ch) => this.#lastOf(ch)))).map((l, i) => newest(l, channels[i]!.last));
    if (!stillValid()) return false;
    // Trades missed here and not published by the old leader: from REST, before anything kept (events meanwhile are kept).
    const fetcher = this.#fetchers(exchange);
    const missed = fetcher === undefined ? [] : await Promise.all(channels.map((ch, i) => this.#missed(ch, lasts[i]!, fetcher)));
    if (!stillValid()) return false;
    channels.forEach((ch, i) => {
      const last = lasts[i]!;
      ch.seq = Math.max(ch.seq, last.seq);
      for (const e of missed[i] ?? []) {
        this.#publishTrade(ch, e, term);
        last.tradeId = e.tradeId;
        last.ts = e.ts;
        this.counters.filled++;
      }
      for (const e of ch.recent.drain()) {
        if (!isNewer(e, last)) {
          this.counters.skipped++;
          continue;
        }
        if ('bar' in e) this.#publishBar(ch, e, term);
        else this.#publishTrade(ch, e, term);
        this.counters.replayed++;
      }
    });
    this.#terms.set(exchange, term);
    return true;
  }

  /** Stop publishing `exchange` (the lease was lost); keep its newest events from now on. */
  standBy(exchange: string): void {
    this.#terms.delete(exchange);
    for (const ch of this.#byExchange.get(exchange) ?? []) this.#conflator.discard(ch); // superseded by the next, as while standing by
    this.outbox.fence(exchange);
  }

  // ── events ─────────────────────────────────────────────────────────────

  readonly #onTrade = (e: TradeEvent): void => {
    const ch = this.#trades.get(e.exchange)?.get(e.symbol);
    if (ch === undefined) {
      this.counters.unknown++;
      return;
    }
    const term = this.#leading(e.exchange);
    if (term === undefined) ch.recent.push(e, this.#keepSince());
    else this.#publishTrade(ch, e, term);
  };

  readonly #onQuote = (e: QuoteEvent): void => {
    const ch = this.#quotes.get(e.exchange)?.get(e.symbol);
    if (ch === undefined) {
      this.counters.unknown++;
      return;
    }
    if (this.#leading(e.exchange) === undefined) return; // superseded by the next quote
    this.#conflator.offer(ch, e);
  };

  readonly #onBar = (u: BarUpdate): void => {
    const ch = this.#bars.get(u.exchange)?.get(u.symbol)?.get(u.timeframe);
    if (ch === undefined) {
      this.counters.unknown++;
      return;
    }
    const term = this.#leading(u.exchange);
    if (term === undefined) {
      if (u.bar.closed) ch.recent.push(u, -Infinity);
      return;
    }
    if (!u.bar.closed) return this.#conflator.offer(ch, u);
    // Never conflated; a forming update waiting for this bar (or an older one) is superseded by it.
    const waiting = ch.pending;
    if (waiting !== undefined && 'bar' in waiting && waiting.bar.openTime <= u.bar.openTime) this.#conflator.discard(ch);
    this.#publishBar(ch, u, term);
  };

  /** A conflated quote or forming bar whose turn came (conflator.ts): published if this feed still leads its exchange. */
  readonly #publishConflated = (ch: FeedChannel, update: QuoteEvent | BarUpdate): void => {
    const term = this.#leading(ch.exchange);
    if (term === undefined) return; // standing by now: superseded by the next
    if ('bar' in update) this.#publishBar(ch, update, term);
    else this.#publishQuote(ch, update, term);
  };

  /** The term to publish `exchange` under now, or undefined: standing by (a lease found lapsed here stands by too). */
  #leading(exchange: string): number | undefined {
    const term = this.#terms.get(exchange);
    if (term === undefined || this.#valid(exchange)) return term;
    this.standBy(exchange);
    return undefined;
  }

  /**
   * A message the outbox did not publish (the lease ran out first). Its seq
   * and every later one of its channel were never published (the outbox
   * gives back all of an owner's waiting messages at once), so the channel's
   * seq goes back to before it. A trade or closed bar goes back to the kept
   * ones, published if this feed leads again (`lead` orders them); quotes
   * and forming bars are superseded by the next.
   */
  #takeBack(m: FencedMessage): void {
    if (this.#terms.has(m.owner)) this.standBy(m.owner); // gives back the owner's other waiting messages too
    const ch = this.#bySubject.get(m.subject);
    if (ch === undefined) return; // a closed bar's history copy: its live message is taken back instead
    if (m.stamp.seq > 0) ch.seq = Math.min(ch.seq, m.stamp.seq - 1);
    const msg = decodeMessage(m.data);
    if (ch.kind === 'trades' && msg.type === 'trade') {
      ch.recent.push({ exchange: ch.exchange, symbol: ch.symbol, tradeId: msg.tradeId, price: msg.price, size: msg.size, side: msg.side, ts: msg.ts, recvTs: Date.now() }, -Infinity);
    } else if (ch.kind === 'bars' && msg.type === 'bar' && msg.closed) {
      ch.recent.push({ exchange: ch.exchange, symbol: ch.symbol, timeframe: msg.timeframe as TimeframeName, bar: toBar(msg) } /* our own encoding */, -Infinity);
    }
  }

  #publishTrade(ch: FeedChannel, e: TradeEvent, term: number): void {
    const seq = ++ch.seq;
    this.#send(ch.exchange, ch.subject, this.#fbs.trade(ch.name, seq, e), { term, seq, msgID: e.tradeId !== null ? `${ch.name}:${e.tradeId}` : `${ch.name}#${seq}` });
    ch.last.tradeId = e.tradeId;
    ch.last.ts = e.ts;
  }

  #publishQuote(ch: FeedChannel, e: QuoteEvent, term: number): void {
    const seq = ++ch.seq;
    this.#send(ch.exchange, ch.subject, this.#fbs.quote(ch.name, seq, e), { term, seq, msgID: `${ch.name}#${seq}` });
  }

  #publishBar(ch: FeedChannel, u: BarUpdate, term: number): void {
    const seq = ++ch.seq;
    const bytes = this.#fbs.bar(ch.name, seq, u.bar);
    this.#send(ch.exchange, ch.subject, bytes, { term, seq, msgID: `${ch.name}#${seq}` });
    if (!u.bar.closed) return;
    ch.last.openTime = u.bar.openTime;
    ch.last.revision = u.bar.revision;
    // The same bytes on the history subject: an edge rebuilding candles reads them (their seq is not used there).
    this.#send(ch.exchange, ch.closedSubject, bytes, { term, seq: 0, msgID: `${ch.name}:${u.bar.openTime}:${u.bar.revision}` });
  }

  /** Receive time (ms) before which a kept trade can no longer matter: two lease TTLs and a margin ago. */
  #keepSince(): number {
    return Date.now() - 2 * this.#cluster.config.leaseTtlMs - 5_000;
  }

  #send(owner: string, subject: string, bytes: Uint8Array, stamp: Stamp): void {
    // A copy: the encoder reuses its buffer, and the outbox keeps the bytes until JetStream acknowledges them.
    this.outbox.send(owner, subject, bytes.slice(), stamp);
    this.counters.published++;
  }

  /**
   * The trades between the stream's last on `ch` and the first one kept here,
   * when that is not the next id: fetched over REST, oldest first. Empty
   * when nothing is missing, nothing newer is kept (no bound yet), or the
   * venue has no ids. A failed or incomplete fetch is counted and returns
   * what it got.
   */
  async #missed(ch: FeedChannel, last: LastPublished, fetch: TradeFetcher): Promise<TradeEvent[]> {
    if (ch.kind !== 'trades' || last.tradeId === null) return [];
    const first = ch.recent.firstTradeAfter(last.tradeId);
    if (first === undefined || first.tradeId! === last.tradeId + 1) return [];
    const upTo = first.tradeId!;
    const out: TradeEvent[] = [];
    let from = last.tradeId + 1;
    let fromTs = last.ts;
    try {
      for (let page = 0; page < FILL_PAGES && from < upTo; page++) {
        const trades = await fetch(ch.symbol, from, fromTs);
        for (const t of trades) {
          if (t.id >= from && t.id < upTo) out.push(fetchedTrade(ch, t));
        }
        const newest = trades.at(-1);
        if (newest === undefined || newest.id < from) break; // the venue has nothing further
        from = newest.id + 1;
        fromTs = newest.ts;
      }
      if (from < upTo) throw new Error(`REST trades reached id ${from - 1}, not ${upTo - 1}`);
    } catch (err) {
      this.counters.fillFailures++;
      this.lastFillError = `${ch.name}: ${(err as Error).message}`;
    }
    return out;
  }

  /** The channel's last message in JetStream: its seq, and what identifies the newest trade or closed bar published. */
  async #lastOf(ch: FeedChannel): Promise<LastPublished> {
    const { jsm, names } = this.#cluster;
    const last = await jsm.streams.getMessage(names.liveStream, { last_by_subj: ch.subject }).catch(() => null);
    const out: LastPublished = { seq: 0, tradeId: null, ts: -Infinity, openTime: -Infinity, revision: -1 };
    if (last !== null) {
      out.seq = Number(last.header.get(Header.SEQ)) || 0;
      const m = decodeMessage(last.data);
      if (m.type === 'trade') {
        out.tradeId = m.tradeId;
        out.ts = m.ts;
      }
    }
    if (ch.closedSubject !== '') {
      const closed = await jsm.streams.getMessage(names.barsStream, { last_by_subj: ch.closedSubject }).catch(() => null);
      const m = closed === null ? undefined : decodeMessage(closed.data);
      if (m?.type === 'bar') {
        out.openTime = m.openTime;
        out.revision = m.revision;
      }
    }
    return out;
  }
}

/** What a channel's last messages in JetStream say was published. */
interface LastPublished {
  seq: number;
  tradeId: number | null;
  ts: number;
  openTime: number;
  revision: number;
}

/** The later of two records of what was published on a channel. */
function newest(a: LastPublished, b: LastPublished): LastPublished {
  const trade = (a.tradeId !== null && b.tradeId !== null ? a.tradeId >= b.tradeId : a.ts >= b.ts) ? a : b;
  const bar = a.openTime > b.openTime || (a.openTime === b.openTime && a.revision >= b.revision) ? a : b;
  return { seq: Math.max(a.seq, b.seq), tradeId: trade.tradeId, ts: trade.ts, openTime: bar.openTime, revision: bar.revision };
}

/** Is a kept event newer than what was published (so the new leader publishes it)? */
function isNewer(e: TradeEvent | BarUpdate, last: LastPublished): boolean {
  if ('bar' in e) return e.bar.openTime > last.openTime || (e.bar.openTime === last.openTime && e.bar.revision > last.revision);
  if (e.tradeId !== null && last.tradeId !== null) return e.tradeId > last.tradeId;
  return e.ts > last.ts;
}

/** A trade fetched over REST as the runtime's trade event (received now). */
function fetchedTrade(ch: FeedChannel, t: RecoveredTrade): TradeEvent {
  return { exchange: ch.exchange, symbol: ch.symbol, tradeId: t.id, price: t.price, size: t.size, side: t.side > 0 ? 'buy' : t.side < 0 ? 'sell' : 'unknown', ts: t.ts, recvTs: Date.now() };
}

/** Older first: trades by id (time where a venue has none), bars by open time then revision. */
function byAge(a: TradeEvent | BarUpdate, b: TradeEvent | BarUpdate): number {
  if ('bar' in a && 'bar' in b) return a.bar.openTime - b.bar.openTime || a.bar.revision - b.bar.revision;
  if ('bar' in a || 'bar' in b) return 0; // a channel keeps one kind
  return a.tradeId !== null && b.tradeId !== null ? a.tradeId - b.tradeId : a.ts - b.ts;
}

/** A channel's newest events while standing by: a ring of `capacity`, trades older than a bound dropped. */
class Recent {
  readonly #items: (TradeEvent | BarUpdate | undefined)[];
  #head = 0;
  #count = 0;

  constructor(capacity: number) {
    this.#items = new Array<TradeEvent | BarUpdate | undefined>(capacity);
  }

  /** Keep `e` (the oldest goes when full); trades received before `since` (ms) are let go first. */
  push(e: TradeEvent | BarUpdate, since: number): void {
    const items = this.#items;
    while (this.#count > 0) {
      const oldest = items[this.#head]!;
      if ('bar' in oldest || oldest.recvTs >= since) break;
      this.#drop();
    }
    if (this.#count === items.length) this.#drop();
    items[(this.#head + this.#count) % items.length] = e;
    this.#count++;
  }

  /** The oldest kept trade with an id above `id`, or undefined. */
  firstTradeAfter(id: number): TradeEvent | undefined {
    for (let i = 0; i < this.#count; i++) {
      const e = this.#items[(this.#head + i) % this.#items.length]!;
      if (!('bar' in e) && e.tradeId !== null && e.tradeId > id) return e;
    }
    return undefined;
  }

  /**
   * Everything kept, oldest first (by trade id or time, by bar open time and
   * revision: a message the outbox gave back can arrive after newer ones were
   * kept); empty afterwards.
   */
  drain(): (TradeEvent | BarUpdate)[] {
    const out: (TradeEvent | BarUpdate)[] = [];
    while (this.#count > 0) {
      out.push(this.#items[this.#head]!);
      this.#drop();
    }
    return out.sort(byAge);
  }

  #drop(): void {
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#count--;
  }
}
