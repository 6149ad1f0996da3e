/**
 * The fuzz corpus of every adapter in src/exchanges/registry.ts: the venue's
 * recorded and documented frames from ../shared/fixtures (seeds), and for
 * each kind of data frame the fields the venue's trade or quote is made of,
 * in the form the venue prints them (field specs). The specs come from the
 * venues' protocol notes (fixtures/<venue>/protocol.md), not from the
 * adapters: they are what the fuzzer holds the adapters to.
 *
 * Adapters are built the way the feed worker builds them: from the registry
 * entry, with an ExchangeConfig, for every symbol the seeds mention (so that
 * every record in them is "ours" and fully checked).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ExchangeConfig, FeedChannel } from '../../../src/config/types.ts';
import type { ExchangeAdapter } from '../../../src/exchanges/adapter.ts';
import { adapterFor } from '../../../src/exchanges/registry.ts';
import { FIXTURES_DIR } from '../../support/fixtures.ts';
import { field, seed, type FieldSpec, type Json, type JsonPath, type Seed } from './json-mutation.ts';

/** One adapter configuration under fuzz. */
export interface VenueCorpus {
  /** What the report calls it (e.g. `alpaca (crypto)`). */
  label: string;
  /** The registry name. */
  exchange: string;
  /** A fresh adapter, as the worker makes it. */
  create(): ExchangeAdapter;
  seeds: Seed[];
  /** Symbols the adapter was built with (record symbols index into it). */
  symbols: string[];
  /** Seeds whose records depend on frames before them (an order book kept across frames). */
  stateDependent?(s: Seed): boolean;
  /** Quotes may carry NaN sizes: the venue's quote has none (documented in the adapter). */
  nanQuoteSizes?: boolean;
}

const lines = (venue: string, file: string): string[] =>
  readFileSync(path.join(FIXTURES_DIR, venue, file), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');

/** Frames the venue sent in a control.jsonl recording (`dir: recv`). */
function received(venue: string, filter: (c: Record<string, unknown>) => boolean = () => true): string[] {
  return lines(venue, 'control.jsonl')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((c) => c['dir'] === 'recv' && typeof c['frame'] === 'string' && filter(c))
    .map((c) => c['frame'] as string);
}

function obj(v: Json | undefined): Record<string, Json> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined;
}

function config(symbols: string[], channels: FeedChannel[], extra: Partial<ExchangeConfig> = {}): ExchangeConfig {
  return { url: undefined, symbols, channels, rate: 0, seed: 1, restUrl: undefined, key: undefined, secret: undefined, assetClass: 'stocks', feed: undefined, ...extra };
}

function build(exchange: string, symbols: string[], channels: FeedChannel[], extra: Partial<ExchangeConfig> = {}): () => ExchangeAdapter {
  const entry = adapterFor(exchange);
  if (entry === undefined) throw new Error(`no adapter ${exchange} in the registry`);
  const c = config(symbols, channels, extra);
  return () => entry.create(symbols, channels, c);
}

function unique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/** Every `limit`-th line, so long recordings contribute without dominating. */
function sample(all: string[], limit: number): string[] {
  const step = Math.max(1, Math.ceil(all.length / limit));
  return all.filter((_, i) => i % step === 0);
}

// ── Binance spot and the simulated exchange (Binance protocol) ──────────────
// fixtures/binance-spot/protocol.md: payloads `{"stream","data"}`; @trade
// {e:"trade", s, t (id), p, q (decimal strings), T (ms), m (buyer is maker)};
// @bookTicker {u, s, b, B, a, A} with no `e` (absent b/a/u: another e-less
// payload, e.g. a partial depth snapshot, which is not a quote).

function binanceSpotFields(msg: Json): FieldSpec[] {
  const root = obj(msg);
  if (root === undefined) return [];
  const inData = obj(root['data']) !== undefined;
  const d = inData ? obj(root['data'])! : root;
  const at = (k: string): JsonPath => (inData ? ['data', k] : [k]);
  const spec: FieldSpec[] = inData ? [field(['data'], 'object')] : [];
  if (d['e'] === 'trade') {
    return [
      ...spec,
      field(at('e'), 'tag', false),
      field(at('s'), 'symbol'),
      field(at('t'), 'tradeId'),
      field(at('p'), 'posDecimal'),
      field(at('q'), 'posDecimal'),
      field(at('T'), 'epochMs'),
      field(at('m'), 'bool'),
    ];
  }
  if (d['e'] === undefined && 'u' in d && 'b' in d && 'a' in d) {
    return [
      ...spec,
      field(at('s'), 'symbol'),
      field(at('b'), 'posDecimal', false),
      field(at('B'), 'nonNegDecimal'),
      field(at('a'), 'posDecimal', false),
      field(at('A'), 'nonNegDecimal'),
    ];
  }
  return [];
}

function binanceSpotSeedTexts(): string[] {
  return [
    ...sample(lines('binance-spot', 'long_trades.jsonl'), 400),
    ...lines('binance-spot', 'frames.jsonl'),
    ...lines('binance-spot', 'frames_reserialized.jsonl'),
    ...lines('binance-spot', 'doc_frames.jsonl'),
    ...received('binance-spot'),
  ];
}

function binanceSymbols(texts: string[]): string[] {
  const out: string[] = [];
  for (const t of texts) {
    try {
      const m = JSON.parse(t) as Record<string, unknown>;
      const d = (typeof m['data'] === 'object' && m['data'] !== null ? m['data'] : m) as Record<string, unknown>;
      if (typeof d['s'] === 'string') out.push(d['s']);
    } catch {
      // not JSON: no symbol
    }
  }
  return unique(out);
}

function binanceLike(exchange: 'binance' | 'simulated'): VenueCorpus {
  const texts = binanceSpotSeedTexts();
  const symbols = binanceSymbols(texts);
  return {
    label: exchange,
    exchange,
    create: build(exchange, symbols, ['trades', 'quotes']),
    seeds: texts.map((t) => seed(t, binanceSpotFields)),
    symbols,
  };
}

// ── Binance USDⓈ-M ───────────────────────────────────────────────────────
// fixtures/binance-usdm/protocol.md: @trade {e, E, T, s, t, p, q, X, m}
// (X absent in old frames; other X: not a book trade); @bookTicker
// {e:"bookTicker", u, s, b, B, a, A, T, E}; decimals plain.

function usdmFields(msg: Json): FieldSpec[] {
  const root = obj(msg);
  const d = obj(root?.['data']);
  if (root === undefined || d === undefined) return [];
  if (d['e'] === 'trade') {
    return [
      field(['data'], 'object'),
      field(['data', 'e'], 'tag'),
      field(['data', 'T'], 'epochMs'),
      field(['data', 's'], 'symbol'),
      field(['data', 't'], 'tradeId'),
      field(['data', 'p'], 'posDecimal'),
      field(['data', 'q'], 'posDecimal'),
      field(['data', 'X'], 'tag', false),
      field(['data', 'm'], 'bool'),
    ];
  }
  if (d['e'] === 'bookTicker') {
    return [
      field(['data'], 'object'),
      field(['data', 'e'], 'tag'),
      field(['data', 's'], 'symbol'),
      field(['data', 'b'], 'posDecimal'),
      field(['data', 'B'], 'nonNegDecimal'),
      field(['data', 'a'], 'posDecimal'),
      field(['data', 'A'], 'nonNegDecimal'),
      field(['data', 'T'], 'epochMs'),
    ];
  }
  return [];
}

function usdm(): VenueCorpus {
  const texts = [
    ...lines('binance-usdm', 'frames.jsonl'),
    ...lines('binance-usdm', 'frames_reserialized.jsonl'),
    ...received('binance-usdm'),
  ];
  const symbols = binanceSymbols(texts);
  return { label: 'binance-usdm', exchange: 'binance-usdm', create: build('binance-usdm', symbols, ['trades', 'quotes']), seeds: texts.map((t) => seed(t, usdmFields)), symbols };
}

// ── Coinbase Exchange ────────────────────────────────────────────────────
// fixtures/coinbase/protocol.md: match/last_match {type, trade_id, side
// (maker), size, price, product_id, time}; ticker {type, product_id,
// best_bid, best_ask, best_bid_size?, best_ask_size?, time?};
// subscriptions {type, channels[]}.

function coinbaseFields(msg: Json): FieldSpec[] {
  const m = obj(msg);
  if (m === undefined) return [];
  const type = m['type'];
  if (type === 'match' || type === 'last_match') {
    return [
      field(['type'], 'tag'),
      field(['product_id'], 'symbol'),
      field(['trade_id'], 'tradeId'),
      field(['price'], 'posDecimal'),
      field(['size'], 'posDecimal'),
      field(['time'], 'isoTime'),
      field(['side'], { oneOf: ['buy', 'sell'] }),
    ];
  }
  if (type === 'ticker') {
    const spec = [field(['type'], 'tag'), field(['product_id'], 'symbol'), field(['best_bid'], 'posDecimal'), field(['best_ask'], 'posDecimal')];
    for (const k of ['best_bid_size', 'best_ask_size']) if (k in m) spec.push(field([k], 'nonNegDecimal', false));
    if ('time' in m) spec.push(field(['time'], 'isoTime', false));
    return spec;
  }
  if (type === 'subscriptions') return [field(['type'], 'tag'), field(['channels'], 'array')];
  return [field(['type'], 'tag')];
}

function coinbase(): VenueCorpus {
  const texts = [
    ...lines('coinbase', 'frames.jsonl'),
    ...lines('coinbase', 'frames_reserialized.jsonl'),
    ...lines('coinbase', 'advanced_trade_doc_frames.jsonl'),
    ...received('coinbase'),
  ];
  const symbols = unique(texts.flatMap((t) => {
    const p = (JSON.parse(t) as Record<string, unknown>)['product_id'];
    return typeof p === 'string' ? [p] : [];
  }));
  return { label: 'coinbase', exchange: 'coinbase', create: build('coinbase', symbols, ['trades', 'quotes']), seeds: texts.map((t) => seed(t, coinbaseFields)), symbols, nanQuoteSizes: true };
}

// ── Kraken (WebSocket v2) ────────────────────────────────────────────────
// fixtures/kraken/protocol.md, doc_frames_v2.jsonl: {channel:"trade", type:
// "snapshot"|"update", data:[{symbol, side (taker), price, qty (numbers),
// ord_type, trade_id, timestamp}]}; ticker data [{symbol, bid, bid_qty, ask,
// ask_qty, ..., timestamp?}]. The recorded frames.jsonl are WS v1 (arrays,
// `event` objects): frames of another protocol version for this adapter.

/** The ticker example of docs.kraken.com/exchange/api-reference/spot-websocket-v2/ticker, minified (no fixture has one). */
const KRAKEN_DOC_TICKER =
  '{"channel":"ticker","type":"snapshot","data":[{"symbol":"ALGO/USD","bid":0.10025,"bid_qty":740.0,"ask":0.10036,"ask_qty":1361.44813783,"last":0.10035,"volume":997038.98383185,"vwap":0.10148,"low":0.09979,"high":0.10285,"change":-0.00017,"change_pct":-0.17,"timestamp":"2023-09-25T09:04:31.742648Z"}]}';
/** The subscription failure example quoted from the v2 trade docs (rustrade-data kraken/subscription.rs). */
const KRAKEN_DOC_ERROR =
  '{"error":"Currency pair not supported XBT/USD","method":"subscribe","success":false,"symbol":"XBT/USD","time_in":"2018-11-12T21:14:59.545897Z","time_out":"2018-11-12T21:14:59.545901Z"}';

function krakenFields(msg: Json): FieldSpec[] {
  const m = obj(msg);
  const data = m?.['data'];
  if (m === undefined || !Array.isArray(data) || (m['channel'] !== 'trade' && m['channel'] !== 'ticker')) return [];
  const spec = [field(['channel'], 'tag'), field(['type'], { oneOf: ['update', 'snapshot'] }), field(['data'], 'array')];
  data.forEach((r, i) => {
    const rec = obj(r);
    if (rec === undefined) return;
    spec.push(field(['data', i], 'strictObject'), field(['data', i, 'symbol'], 'symbol'));
    if (m['channel'] === 'trade') {
      spec.push(
        field(['data', i, 'side'], { oneOf: ['buy', 'sell'] }),
        field(['data', i, 'price'], 'posNumber'),
        field(['data', i, 'qty'], 'posNumber'),
        field(['data', i, 'trade_id'], 'tradeId'),
        field(['data', i, 'timestamp'], 'isoTime'),
      );
    } else {
      spec.push(
        field(['data', i, 'bid'], 'posNumber'),
        field(['data', i, 'ask'], 'posNumber'),
        field(['data', i, 'bid_qty'], 'nonNegNumber'),
        field(['data', i, 'ask_qty'], 'nonNegNumber'),
      );
      if ('timestamp' in rec) spec.push(field(['data', i, 'timestamp'], 'isoTime', false));
    }
  });
  return spec;
}

function kraken(): VenueCorpus {
  const texts = [
    ...lines('kraken', 'doc_frames_v2.jsonl'),
    KRAKEN_DOC_TICKER,
    KRAKEN_DOC_ERROR,
    ...received('kraken', (c) => c['api'] === 'v2'),
    ...lines('kraken', 'frames.jsonl'),
    ...lines('kraken', 'frames_reserialized.jsonl'),
  ];
  const symbols = ['MATIC/USD', 'ALGO/USD', 'BTC/USD'];
  return { label: 'kraken', exchange: 'kraken', create: build('kraken', symbols, ['trades', 'quotes']), seeds: texts.map((t) => seed(t, krakenFields)), symbols };
}

// ── OKX v5 ───────────────────────────────────────────────────────────────
// fixtures/okx/protocol.md: {arg:{channel, instId}, data:[...]}; trades
// {instId?, tradeId, px, sz, side (taker), ts} all strings; bbo-tbt
// data[0] {asks:[[px, sz, "0", n]], bids:[..], ts}. `pong`: the heartbeat answer.

function okxFields(msg: Json): FieldSpec[] {
  const m = obj(msg);
  const arg = obj(m?.['arg']);
  const data = m?.['data'];
  if (m === undefined || arg === undefined || !Array.isArray(data)) return [];
  const head = [field(['arg'], 'strictObject'), field(['arg', 'channel'], 'tag'), field(['arg', 'instId'], 'symbol'), field(['data'], 'array')];
  if (arg['channel'] === 'trades') {
    const spec = [...head];
    data.forEach((r, i) => {
      const rec = obj(r);
      if (rec === undefined) return;
      spec.push(
        field(['data', i], 'strictObject'),
        field(['data', i, 'px'], 'posDecimal'),
        field(['data', i, 'sz'], 'posDecimal'),
        field(['data', i, 'side'], { oneOf: ['buy', 'sell'] }),
        field(['data', i, 'tradeId'], 'tradeIdString'),
        field(['data', i, 'ts'], 'epochMsString'),
      );
      if ('instId' in rec) spec.push(field(['data', i, 'instId'], { oneOf: [arg['instId'] as Json] }, false));
    });
    return spec;
  }
  if (arg['channel'] === 'bbo-tbt') {
    const d = obj(data[0]);
    if (d === undefined || !Array.isArray(d['bids']) || !Array.isArray(d['asks']) || d['bids'].length === 0 || d['asks'].length === 0) return head;
    return [
      ...head,
      field(['data', 0], 'strictObject'),
      field(['data', 0, 'bids'], 'array'),
      field(['data', 0, 'asks'], 'array'),
      field(['data', 0, 'ts'], 'epochMsString'),
      field(['data', 0, 'bids', 0], 'array'),
      field(['data', 0, 'asks', 0], 'array'),
      field(['data', 0, 'bids', 0, 0], 'posDecimal'),
      field(['data', 0, 'bids', 0, 1], 'nonNegDecimal'),
      field(['data', 0, 'asks', 0, 0], 'posDecimal'),
      field(['data', 0, 'asks', 0, 1], 'nonNegDecimal'),
    ];
  }
  return [];
}

function okx(): VenueCorpus {
  const texts = [...lines('okx', 'frames.jsonl'), ...lines('okx', 'frames_reserialized.jsonl'), ...received('okx'), 'pong'];
  const symbols = unique(texts.flatMap((t) => {
    if (t === 'pong') return [];
    const id = obj((JSON.parse(t) as Record<string, Json>)['arg'])?.['instId'];
    return typeof id === 'string' ? [id] : [];
  }));
  return { label: 'okx', exchange: 'okx', create: build('okx', symbols, ['trades', 'quotes']), seeds: texts.map((t) => seed(t, okxFields)), symbols };
}

// ── Bybit v5 ─────────────────────────────────────────────────────────────
// fixtures/bybit/protocol.md: publicTrade.<S> {topic, type:"snapshot", ts,
// data:[{T, s, S (taker Buy/Sell), v, p, i, BT?}]}; orderbook.1.<S> {topic,
// type: snapshot|delta, ts, cts?, data:{s, b:[[p, size]], a:[..], u, seq}}.

function bybitFields(msg: Json): FieldSpec[] {
  const m = obj(msg);
  const topic = m?.['topic'];
  if (m === undefined || typeof topic !== 'string') return [];
  if (topic.startsWith('publicTrade.') && Array.isArray(m['data'])) {
    const name = topic.slice('publicTrade.'.length);
    const spec = [field(['topic'], 'tag'), field(['type'], { oneOf: ['snapshot'] }), field(['ts'], 'epochMs'), field(['data'], 'array')];
    m['data'].forEach((r, i) => {
      const rec = obj(r);
      if (rec === undefined) return;
      spec.push(
        field(['data', i], 'strictObject'),
        field(['data', i, 'T'], 'epochMs'),
        field(['data', i, 's'], { oneOf: [name] }),
        field(['data', i, 'S'], { oneOf: ['Buy', 'Sell'] }),
        field(['data', i, 'v'], 'posDecimal'),
        field(['data', i, 'p'], 'posDecimal'),
        field(['data', i, 'i'], 'id64'),
      );
      if ('BT' in rec) spec.push(field(['data', i, 'BT'], 'bool', false));
    });
    return spec;
  }
  const d = obj(m['data']);
  if (topic.startsWith('orderbook.1.') && d !== undefined) {
    const name = topic.slice('orderbook.1.'.length);
    const spec = [
      field(['topic'], 'tag'),
      field(['type'], { oneOf: ['snapshot', 'delta'] }),
      field(['ts'], 'epochMs'),
      field(['data'], 'strictObject'),
      field(['data', 's'], { oneOf: [name] }),
      field(['data', 'u'], 'uint'),
      field(['data', 'b'], 'array'),
      field(['data', 'a'], 'array'),
    ];
    if ('cts' in m) spec.push(field(['cts'], 'epochMs', false));
    for (const side of ['b', 'a']) {
      const levels = d[side];
      if (!Array.isArray(levels)) continue;
      levels.forEach((_, i) => spec.push(field(['data', side, i], 'pair'), field(['data', side, i, 0], 'posDecimal'), field(['data', side, i, 1], 'nonNegDecimal')));
    }
    return spec;
  }
  return [];
}

function bybit(): VenueCorpus {
  const texts = [
    ...lines('bybit', 'frames.jsonl'),
    ...lines('bybit', 'frames_reserialized.jsonl'),
    ...lines('bybit', 'doc_frames.jsonl'),
    ...received('bybit'),
    ...lines('bybit', 'legacy_v1_frames.jsonl'),
  ];
  const symbols = unique(texts.flatMap((t) => {
    const topic = (JSON.parse(t) as Record<string, unknown>)['topic'];
    if (typeof topic !== 'string') return [];
    const m = /^(?:publicTrade|orderbook\.1)\.(.+)$/.exec(topic);
    return m === null ? [] : [m[1]!];
  }));
  return {
    label: 'bybit',
    exchange: 'bybit',
    create: build('bybit', symbols, ['trades', 'quotes']),
    seeds: texts.map((t) => seed(t, bybitFields)),
    symbols,
    // Level-1 quotes come from a book kept across frames (snapshots, deltas, unchanged re-sends).
    stateDependent: (s) => typeof obj(s.json)?.['topic'] === 'string' && (obj(s.json)!['topic'] as string).startsWith('orderbook.1.'),
  };
}

// ── Bitstamp v2 ──────────────────────────────────────────────────────────
// fixtures/bitstamp/protocol.md: {event:"trade", channel:"live_trades_<pair>",
// data:{id, price_str, amount_str, microtimestamp (µs string), type 0 buy / 1 sell, ...}}.

function bitstampFields(msg: Json): FieldSpec[] {
  const m = obj(msg);
  if (m === undefined || m['event'] !== 'trade') return m === undefined ? [] : [field(['event'], 'tag')];
  return [
    field(['event'], 'tag'),
    field(['channel'], 'symbol'),
    field(['data'], 'strictObject'),
    field(['data', 'id'], 'tradeId'),
    field(['data', 'price_str'], 'posDecimal'),
    field(['data', 'amount_str'], 'posDecimal'),
    field(['data', 'microtimestamp'], 'epochUsString'),
    field(['data', 'type'], { oneOf: [0, 1] }),
  ];
}

function bitstamp(): VenueCorpus {
  const texts = [...lines('bitstamp', 'frames.jsonl'), ...lines('bitstamp', 'frames_reserialized.jsonl'), ...received('bitstamp')];
  const symbols = unique(texts.flatMap((t) => {
    const c = (JSON.parse(t) as Record<string, unknown>)['channel'];
    return typeof c === 'string' && c.startsWith('live_trades_') ? [c.slice('live_trades_'.length)] : [];
  }));
  return { label: 'bitstamp', exchange: 'bitstamp', create: build('bitstamp', symbols, ['trades']), seeds: texts.map((t) => seed(t, bitstampFields)), symbols };
}

// ── Alpaca ───────────────────────────────────────────────────────────────
// fixtures/alpaca/protocol.md: frames are arrays of messages; trade {T:"t",
// S, i, x (stocks), p, s (numbers), t (RFC 3339), c?, z?, tks? (crypto)};
// quote {T:"q", S, bx?, bp, bs, ax?, ap, as, t, c?, z?}. Only documentation
// frames exist (no recording).

/** The crypto trade example of docs.alpaca.markets/docs/real-time-crypto-pricing-data (v1beta3), minified. */
const ALPACA_CRYPTO_TRADE_DOC = '[{"T":"t","S":"AVAX/USD","p":47.299,"s":29.205707815,"t":"2024-03-12T10:27:48.858228144Z","i":3447222699101865076,"tks":"S"}]';

function alpacaFields(crypto: boolean): (msg: Json) => FieldSpec[] {
  return (msg) => {
    if (!Array.isArray(msg)) return [];
    const spec: FieldSpec[] = [];
    msg.forEach((r, k) => {
      const rec = obj(r);
      if (rec === undefined || (rec['T'] !== 't' && rec['T'] !== 'q')) return;
      spec.push(field([k, 'T'], 'tag'), field([k, 'S'], 'symbol'), field([k, 't'], 'isoTime'));
      if ('c' in rec) spec.push(field([k, 'c'], 'stringArray', false));
      if (rec['T'] === 't') {
        spec.push(field([k, 'p'], 'posNumber'), field([k, 's'], 'posNumber'), field([k, 'i'], 'bigTradeId'));
        if (crypto) {
          if ('tks' in rec) spec.push(field([k, 'tks'], { oneOf: ['B', 'S'] }, false));
          if ('x' in rec) spec.push(field([k, 'x'], 'string', false));
        } else {
          spec.push(field([k, 'x'], 'nonEmptyString'));
          if ('z' in rec) spec.push(field([k, 'z'], 'string', false));
        }
      } else {
        spec.push(field([k, 'bp'], 'nonNegNumber'), field([k, 'bs'], 'nonNegNumber'), field([k, 'ap'], 'nonNegNumber'), field([k, 'as'], 'nonNegNumber'));
        for (const key of ['bx', 'ax', 'z']) if (key in rec) spec.push(field([k, key], 'string', false));
      }
    });
    return spec;
  };
}

function alpaca(assetClass: 'stocks' | 'crypto'): VenueCorpus {
  const crypto = assetClass === 'crypto';
  const texts = [...lines('alpaca', 'doc_frames.jsonl'), ...received('alpaca'), ...(crypto ? [ALPACA_CRYPTO_TRADE_DOC] : [])];
  const symbols = unique(texts.flatMap((t) => {
    const m = JSON.parse(t) as unknown;
    return Array.isArray(m) ? m.flatMap((r: Record<string, unknown>) => (typeof r['S'] === 'string' ? [r['S']] : [])) : [];
  }));
  return {
    label: `alpaca (${assetClass})`,
    exchange: 'alpaca',
    create: build('alpaca', symbols, ['trades', 'quotes'], { key: 'fuzz-key', secret: 'fuzz-secret', assetClass }),
    seeds: texts.map((t) => seed(t, alpacaFields(crypto))),
    symbols,
  };
}

/** Every registry adapter's corpus, by label. */
export function venueCorpora(): Record<string, () => VenueCorpus> {
  return {
    binance: () => binanceLike('binance'),
    simulated: () => binanceLike('simulated'),
    'binance-usdm': usdm,
    coinbase,
    kraken,
    okx,
    bybit,
    bitstamp,
    'alpaca (stocks)': () => alpaca('stocks'),
    'alpaca (crypto)': () => alpaca('crypto'),
  };
}

/** Frames of every venue, for the "valid JSON of the wrong shape" mutation. */
export function allVenueFrames(): string[] {
  const out: string[] = [];
  for (const make of Object.values(venueCorpora())) for (const s of sample(make().seeds.map((x) => x.text), 300)) out.push(s);
  return out;
}
