/**
 * Publishing the library's events on `/v1/stream`: each channel's `seq`
 * counts every message, subscribed or not; a message is encoded once per
 * format, only in the formats its channel has subscribers in (or records
 * history in), published once per format (JSON and binary subscribers are on
 * different uWS topics) and recorded in the channel's history.
 *
 * Hot path (a library event): two or three Map lookups and a seq bump; for a
 * channel with subscribers, the budget check (a heap peek), one string
 * concatenation from the channel's prepared prefix and/or one FlatBuffers
 * encode into a reused buffer, one `app.publish` per format, and a history
 * slot write (a copy of the binary form only when binary is recorded). The
 * trade, quote and bar handlers are separate functions on purpose: each call
 * site sees one event shape. Strategy messages nobody is attached to are
 * not written at all until read from history (`#publishStrategy`).
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { Tickwire } from '../api/types.ts';
import type { AlertEvent, BarUpdate, ConfigChange, LeadershipEvent, PortfolioEvent, PriceEvent, QuoteEvent, SourceEvent, TradeEvent } from '../model/events.ts';
import { JSON_ONLY, portfolioMessage, priceMessage, sourceMessage } from '../wire/feed-messages.ts';
import type { ExchangeStatus, StorageStatus } from '../model/status.ts';
import type { FbsEncoder } from '../wire/fbs.ts';
import { barMessage, gapMessage, quoteMessage, tradeMessage } from '../wire/json.ts';
import { fillMessage, predictionMessage, prepareStrategy, signalMessage, type StrategyFormat } from '../wire/strategy-json.ts';
import type { FillEvent, PredictionEvent, SignalEvent, StrategyEventBase, StrategySummary } from '../model/strategy.ts';
import type { SendBudget } from './backpressure.ts';
import type { DeferredText } from './history.ts';
import { ENCODE_FBS, ENCODE_JSON, type Channel, type ChannelIndex } from './channels.ts';
import type { ServerMetrics } from './metrics.ts';
import { alertMessage, configChangeAlert, configChangeMessage, leadershipAlert, leadershipMessage, makeAlert, systemMessage, type Alert, type SystemState, type SystemStates } from './rooms.ts';
import { WS_FRAME_HEADER, type Conn } from './stream-conn.ts';

/** A new channel's binary size bound and, from it, its `maxBytes` (the budget's and history's sizing). */
export function sizeChannel(fbs: FbsEncoder, ch: Channel): void {
  ch.fbsBytes = fbsBound(fbs, ch);
  ch.maxBytes = Math.max(ch.maxBytes, ch.fbsBytes + WS_FRAME_HEADER);
}

/** Size of a channel's largest binary message; rooms are sized per message, strategy channels are JSON only. */
function fbsBound(fbs: FbsEncoder, ch: Channel): number {
  const k = ch.kind;
  return k === 'trades' || k === 'quotes' || k === 'bars' ? fbs.maxBytes(k, ch.name, ch.exchange, ch.symbol) : 0;
}

/** Turns library events (and alerts) into channel messages: seq, encode, budget, publish, history. */
/** A strategy's prediction and signal channels (undefined: none, e.g. no server channel for it) and its prepared message parts. */
interface StrategyOut {
  predictions: Channel | undefined;
  signals: Channel | undefined;
  format: StrategyFormat;
}

export class StreamPublisher {
  readonly #app: TemplatedApp;
  readonly #tw: Tickwire;
  readonly #metrics: ServerMetrics;
  readonly #channels: ChannelIndex;
  readonly #budget: SendBudget<Conn>;
  readonly #fbs: FbsEncoder;
  readonly #system: SystemStates;
  /** Per strategy that published: its prediction and signal channels and prepared message parts (bounded by the configured strategies). */
  readonly #strategies = new Map<string, StrategyOut>();

  constructor(
    app: TemplatedApp,
    tw: Tickwire,
    metrics: ServerMetrics,
    channels: ChannelIndex,
    budget: SendBudget<Conn>,
    fbs: FbsEncoder,
    system: SystemStates,
  ) {
    this.#app = app;
    this.#tw = tw;
    this.#metrics = metrics;
    this.#channels = channels;
    this.#budget = budget;
    this.#fbs = fbs;
    this.#system = system;
  }

  /** Subscribe to the library's events; returns the functions that unsubscribe. */
  listen(): (() => void)[] {
    const tw = this.#tw;
    // Storage's state as of now (a database moved aside at start, a disk already failing): joiners get it, nobody is sent it.
    this.#system.updateStorage(tw.status().storage, Date.now());
    return [
      tw.on('trade', this.#onTrade),
      tw.on('quote', this.#onQuote),
      tw.on('bar', this.#onBar),
      tw.on('status', this.#onStatus),
      tw.on('storage', this.#onStorage),
      tw.on('price', this.#onPrice),
      tw.on('source', this.#onSource),
      tw.on('portfolio', this.#onPortfolio),
      tw.on('alert', this.#onAlert),
      tw.on('prediction', (e: PredictionEvent) => {
        const out = this.#strategyOut(e);
        this.#publishStrategy(out.predictions, (seq) => predictionMessage(out.format, seq, e));
      }),
      tw.on('signal', (e: SignalEvent) => {
        const out = this.#strategyOut(e);
        this.#publishStrategy(out.signals, (seq) => signalMessage(out.format, seq, e));
      }),
      tw.on('fill', (e: FillEvent) => this.#publishStrategy(this.#channels.strategy('fills', e.strategy), (seq) => fillMessage(seq, e))),
      tw.on('strategy', this.#onStrategy),
      tw.on('leadership', (e: LeadershipEvent) => this.#publishLeadership(e)),
    ];
  }

  /** Publish an alert on the `alerts` room; throws INVALID_PARAMETER for a bad one. Returns it as published. */
  publishAlert(input: unknown): Alert & { seq: number } {
    const alert = makeAlert(input, Date.now());
    const seq = this.#publishRoom(this.#channels.alerts, (s) => alertMessage(s, alert), (s) => this.#fbs.alert(s, alert));
    return { ...alert, seq };
  }

  /** Publish a live change on the `system` room (rooms.ts: JSON, and an Alert body for binary subscribers). */
  publishChange(c: ConfigChange): void {
    const alert = configChangeAlert(c);
    this.#publishRoom(this.#channels.system, (s) => configChangeMessage(s, c), (s) => this.#fbs.alert(s, alert));
  }

  /** A feed's lease taken or lost (edges): on the `system` room, JSON and an Alert body for binary subscribers. */
  #publishLeadership(e: LeadershipEvent): void {
    const alert = leadershipAlert(e);
    this.#publishRoom(this.#channels.system, (s) => leadershipMessage(s, e), (s) => this.#fbs.alert(s, alert));
  }

  // ── live events ────────────────────────────────────────────────────────

  readonly #onTrade = (e: TradeEvent): void => {
    const ch = this.#channels.trade(e.exchange, e.symbol);
    if (ch === undefined) {
      if (this.#discovered(e.exchange, e.symbol)) this.#onTrade(e);
      return;
    }
    const seq = e.seq === undefined ? this.#advance(ch) : this.#advanceTo(ch, e.seq);
    if (seq === 0) return;
    const text = (ch.encode & ENCODE_JSON) !== 0 ? tradeMessage(ch.format!, seq, e) : undefined;
    const bin = (ch.encode & ENCODE_FBS) !== 0 ? this.#fbs.trade(ch.name, seq, e) : undefined;
    if (this.#emit(ch, seq, text, bin, true)) this.#metrics.published.trades++;
  };

  readonly #onQuote = (e: QuoteEvent): void => {
    const ch = this.#channels.quote(e.exchange, e.symbol);
    if (ch === undefined) {
      if (this.#discovered(e.exchange, e.symbol)) this.#onQuote(e);
      return;
    }
    const seq = e.seq === undefined ? this.#advance(ch) : this.#advanceTo(ch, e.seq);
    if (seq === 0) return;
    const text = (ch.encode & ENCODE_JSON) !== 0 ? quoteMessage(ch.format!, seq, e) : undefined;
    const bin = (ch.encode & ENCODE_FBS) !== 0 ? this.#fbs.quote(ch.name, seq, e) : undefined;
    if (this.#emit(ch, seq, text, bin, false)) this.#metrics.published.quotes++;
  };

  readonly #onBar = (e: BarUpdate): void => {
    const ch = this.#channels.bar(e.exchange, e.symbol, e.timeframe);
    if (ch === undefined) {
      if (this.#discovered(e.exchange, e.symbol)) this.#onBar(e);
      return;
    }
    const seq = e.seq === undefined ? this.#advance(ch) : this.#advanceTo(ch, e.seq);
    if (seq === 0) return;
    const text = (ch.encode & ENCODE_JSON) !== 0 ? barMessage(ch.format!, seq, e.bar) : undefined;
    const bin = (ch.encode & ENCODE_FBS) !== 0 ? this.#fbs.bar(ch.name, seq, e.bar) : undefined;
    // A closed (or amended) bar must reach a conflating client; a forming one may be superseded.
    if (this.#emit(ch, seq, text, bin, e.bar.closed)) this.#metrics.published.bars++;
  };

  readonly #onStatus = (s: ExchangeStatus): void => {
    const changed = this.#system.update(s, Date.now());
    if (changed !== undefined) this.#publishSystem(changed);
    for (const symbol of s.symbols) {
      if (!this.#channels.knows(s.exchange, symbol)) this.#channels.addSymbol(s.exchange, symbol);
    }
  };

  readonly #onStrategy = (s: StrategySummary): void => {
    const changed = this.#system.updateStrategy(s, Date.now());
    if (changed !== undefined) this.#publishSystem(changed);
  };

  /** The channels and prepared message parts of `e`'s strategy, found once (a strategy's name and series never change). */
  #strategyOut(e: StrategyEventBase): StrategyOut {
    let out = this.#strategies.get(e.strategy);
    if (out === undefined) {
      out = { predictions: this.#channels.strategy('predictions', e.strategy), signals: this.#channels.strategy('signals', e.strategy), format: prepareStrategy(e) };
      this.#strategies.set(e.strategy, out);
    }
    return out;
  }

  /**
   * A strategy message (one per judged bar: sized exactly, JSON only, never
   * conflated). With nobody attached only the seq moves and the history
   * keeps `json` itself: the text is written when a snapshot, resume or
   * catch-up reads it (history.ts), not for every judgment of every strategy.
   */
  #publishStrategy(ch: Channel | undefined, json: DeferredText): void {
    if (ch === undefined) return;
    const h = ch.history;
    if (ch.liveJson + ch.liveFbs > 0 || h === null) {
      this.#publishRoom(ch, json);
      return;
    }
    h.push(++ch.seq, json, undefined, true);
  }

  readonly #onStorage = (s: StorageStatus): void => {
    const changed = this.#system.updateStorage(s, Date.now());
    if (changed !== undefined) this.#publishSystem(changed);
  };

  readonly #onPrice = (e: PriceEvent): void => {
    const ch = this.#channels.price(e.feed);
    if (ch !== undefined) this.#publishJson(ch, (seq) => priceMessage(ch.name, seq, e));
  };

  /** A feed's source switch: on its channel and on the `system` room. */
  readonly #onSource = (e: SourceEvent): void => {
    const ch = this.#channels.price(e.feed);
    if (ch !== undefined) this.#publishJson(ch, (seq) => sourceMessage(ch.name, seq, e));
    const system = this.#channels.system;
    this.#publishRoom(system, (seq) => sourceMessage(system.name, seq, e), (seq) => this.#fbs.gap(system.name, seq, seq, JSON_ONLY));
  };

  readonly #onPortfolio = (e: PortfolioEvent): void => {
    const ch = this.#channels.portfolio(e.id);
    if (ch !== undefined) this.#publishJson(ch, (seq) => portfolioMessage(ch.name, seq, e));
  };

  /** An alert of the library's rules, raised on the `alerts` room. */
  readonly #onAlert = (e: AlertEvent): void => {
    this.publishAlert({ id: e.id, level: e.level, source: e.source, message: e.message });
  };

  /** A message of a JSON-only channel (binary connections cannot subscribe to it). */
  #publishJson(ch: Channel, json: (seq: number) => string): void {
    this.#publishRoom(ch, json, () => {
      throw new Error(`${ch.name} has no binary form`);
    });
  }

  /**
   * Move `ch` to its next seq and return it, reserving the budget first when
   * someone would receive it; 0 when no format is encoded (only the seq
   * advances). Shared by the three handlers: it sees only `Channel`s, so it
   * stays monomorphic.
   */
  #advance(ch: Channel): number {
    if (ch.encode === 0) {
      ch.seq++;
      return 0;
    }
    if (ch.liveJson + ch.liveFbs > 0) this.#budget.reserve(ch.maxBytes);
    return ++ch.seq;
  }

  /**
   * As `#advance`, to a seq assigned upstream (a cluster edge serves the
   * feed's seqs): 0 for a seq already served (a redelivery). Seqs skipped
   * (messages the cluster no longer holds) are one `gap` of reason `history`
   * to the channel's subscribers, and its resume history starts over; the
   * first seq a channel sees sets where it starts, with no gap.
   */
  #advanceTo(ch: Channel, seq: number): number {
    if (seq <= ch.seq) return 0;
    if (seq > ch.seq + 1) {
      if (ch.seq > 0) this.#skipped(ch, ch.seq + 1, seq - 1);
      ch.history?.clear();
      ch.seq = seq - 1;
    }
    return this.#advance(ch);
  }

  /** Tell `ch`'s attached subscribers that seqs `from..to` will not come. */
  #skipped(ch: Channel, from: number, to: number): void {
    if (ch.liveJson + ch.liveFbs === 0) return;
    this.#budget.reserve(ch.maxBytes);
    if (ch.liveJson > 0) this.#app.publish(ch.name, gapMessage(ch.name, from, to, 'history'), false);
    if (ch.liveFbs > 0) this.#app.publish(ch.fbsTopic, this.#fbs.gap(ch.name, from, to, 'history'), true);
    this.#metrics.gap('history');
  }

  /** Publish the encoded message of `seq` to the attached subscribers of each format and record it. True when someone received it. */
  #emit(ch: Channel, seq: number, text: string | undefined, bin: Uint8Array | undefined, keep: boolean): boolean {
    let sent = false;
    if (ch.liveJson > 0) {
      this.#app.publish(ch.name, text!, false);
      sent = true;
    }
    if (ch.liveFbs > 0) {
      this.#app.publish(ch.fbsTopic, bin!, true);
      sent = true;
    }
    // The encoder's bytes are overwritten by its next call: history copies them (into its arena).
    ch.history?.push(seq, text, bin, keep);
    return sent;
  }

  #publishSystem(s: SystemState): void {
    this.#publishRoom(this.#channels.system, (seq) => systemMessage(seq, s), (seq) => this.#fbs.system(seq, s));
  }

  /** Publish a room message (rare: sized exactly, never conflated); `fbs` absent: a JSON-only channel. Returns its seq. */
  #publishRoom(ch: Channel, json: (seq: number) => string, fbs?: (seq: number) => Uint8Array): number {
    if (ch.encode === 0) return ++ch.seq;
    const next = ch.seq + 1;
    const text = (ch.encode & ENCODE_JSON) !== 0 ? json(next) : undefined;
    // A copy (rooms are rare), so whatever the budget check below does cannot disturb it.
    const bin = fbs !== undefined && (ch.encode & ENCODE_FBS) !== 0 ? fbs(next).slice() : undefined;
    const bytes = Math.max(text === undefined ? 0 : Buffer.byteLength(text), bin?.byteLength ?? 0) + WS_FRAME_HEADER;
    // Budget before the seq moves: a connection paused here records the seq before this message as its last.
    if (ch.liveJson + ch.liveFbs > 0) this.#budget.reserve(bytes);
    ch.seq = next;
    this.#emit(ch, next, text, bin, true);
    return next;
  }

  /** A market event for a symbol without channels (added at runtime): create them; true when there are new ones. */
  #discovered(exchange: string, symbol: string): boolean {
    if (this.#tw.config.exchanges[exchange] === undefined) return false;
    return this.#channels.addSymbol(exchange, symbol).length > 0;
  }
}
