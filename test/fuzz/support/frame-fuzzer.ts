/**
 * The exchange-frame fuzzer: throws a seeded stream of malformed frames, with
 * the venue's valid frames interleaved, at one adapter's `parse` (the call
 * FeedConnection makes for every text frame, a MALFORMED answer being what
 * it counts as a parse error) and checks, frame by frame:
 *
 * 1. `parse` never throws and never takes longer than `maxFrameMs`;
 * 2. every trade and quote handed out is sane: a symbol index of the
 *    adapter, a time between 2000 and 2100 (NaN for a quote the venue does
 *    not stamp), prices finite, > 0 and < 1e39, sizes finite, > 0 (trades) or
 *    >= 0 (quotes) and < 1e39, side -1/0/+1, trade ids NaN or integers in
 *    [0, 2^53];
 *    the adapter's error text (for logs and /v1/status) stays under 1000
 *    characters whatever the venue sent;
 * 3. a frame answered MALFORMED hands out nothing (a frame counts whole or
 *    not at all), and every frame built to be malformed is answered MALFORMED
 *    (so the feed's parse-error count is exactly the garbage it got);
 * 4. garbage leaves no trace: a twin adapter that gets only the frames the
 *    first one accepted answers each of them exactly as the first one did;
 * 5. each valid frame interleaved with the garbage hands out exactly what it
 *    hands out alone, on a fresh adapter (except frames whose output depends
 *    on earlier ones, e.g. an order book; point 4 covers those).
 *
 * A failure names the seed, the frame number and the mutation; the same seed
 * at the same FUZZ_SCALE replays the same stream (`FUZZ_SEED=<seed>`).
 */
import { FEED_FIELDS, FrameKind, QuoteField, TradeField, type ExchangeAdapter, type FeedHandler } from '../../../src/exchanges/adapter.ts';
import { Prng } from '../../support/prng.ts';
import { replayEnv } from './fuzz-scale.ts';
import { FrameMutator, type MutationSize } from './json-mutation.ts';
import type { VenueCorpus } from './venue-corpora.ts';

/** 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z: the times a trade or quote may carry. */
export const MIN_TS = Date.UTC(2000, 0, 1);
export const MAX_TS = Date.UTC(2100, 0, 1);
/** Prices and sizes stay below this (a plain decimal of 39 digits), so price × size and bar sums stay finite. */
export const MAX_QUANTITY = 1e39;
const TWO_53 = 2 ** 53;
/** Longest `adapter.error` allowed after any frame. */
const MAX_ERROR_TEXT = 1000;

export interface FuzzOptions {
  /** Malformed (mutated) frames to send. */
  garbage: number;
  seed: number;
  /** Of the garbage, how many are a mebibyte in size (a few hundred: each costs milliseconds). */
  megabyte?: number;
  /** Of the garbage, how many are nested 10,000+ levels deep (each costs milliseconds too). */
  deep?: number;
  /** Valid frames interleaved per garbage frame (default 0.2). */
  validShare?: number;
  /** A frame taking longer than this fails the run (default 1000 ms: a hang, not a slow frame). */
  maxFrameMs?: number;
}

export interface FuzzStats {
  label: string;
  seed: number;
  /** Every frame parsed: garbage plus interleaved valid frames. */
  frames: number;
  garbage: number;
  /** Garbage built to be malformed (all of it answered MALFORMED). */
  mustReject: number;
  /** Garbage that may have stayed valid, and how much of it was still rejected. */
  mayPass: number;
  mayPassRejected: number;
  /** MALFORMED answers in all (what the feed counts as parse errors). */
  rejected: number;
  /** Valid frames interleaved, and how many of them carried trades or quotes. */
  valid: number;
  validData: number;
  trades: number;
  quotes: number;
  megabyte: number;
  deep: number;
  maxFrameMs: number;
  /** Which mutation the slowest frame was. */
  slowest: string;
  elapsedMs: number;
  /** Per mutation kind: how many, how many rejected. */
  kinds: Record<string, { n: number; rejected: number }>;
}

/** What one parse handed out: [1, symbol, ts, price, size, side, id] per trade, [2, symbol, ts, bid, bidSize, ask, askSize] per quote. */
class Recording implements FeedHandler {
  readonly out: number[] = [];
  readonly fields = new Float64Array(FEED_FIELDS);
  trade(symbol: number, side: number): void {
    const f = this.fields;
    this.out.push(1, symbol, f[TradeField.TS]!, f[TradeField.PRICE]!, f[TradeField.SIZE]!, side, f[TradeField.ID]!);
  }
  quote(symbol: number): void {
    const f = this.fields;
    this.out.push(2, symbol, f[QuoteField.TS]!, f[QuoteField.BID]!, f[QuoteField.BID_SIZE]!, f[QuoteField.ASK]!, f[QuoteField.ASK_SIZE]!);
  }
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function finiteIn(v: number, lo: number, hi: number, loInclusive: boolean): boolean {
  return Number.isFinite(v) && (loInclusive ? v >= lo : v > lo) && v < hi;
}

/** Why the records in `out` are not sane, or '' when they are. */
function insane(out: readonly number[], symbols: number, nanQuoteSizes: boolean): string {
  for (let i = 0; i < out.length; i += 7) {
    const [type, symbol, ts, a, b, c, d] = out.slice(i, i + 7) as [number, number, number, number, number, number, number];
    if (!Number.isInteger(symbol) || symbol < 0 || symbol >= symbols) return `symbol index ${symbol}`;
    if (type === 1) {
      if (!finiteIn(ts, MIN_TS, MAX_TS, true)) return `trade time ${ts}`;
      if (!finiteIn(a, 0, MAX_QUANTITY, false)) return `trade price ${a}`;
      if (!finiteIn(b, 0, MAX_QUANTITY, false)) return `trade size ${b}`;
      if (c !== -1 && c !== 0 && c !== 1) return `trade side ${c}`;
      if (!(Number.isNaN(d) || (Number.isInteger(d) && d >= 0 && d <= TWO_53))) return `trade id ${d}`;
    } else {
      if (!(Number.isNaN(ts) || finiteIn(ts, MIN_TS, MAX_TS, true))) return `quote time ${ts}`;
      if (!finiteIn(a, 0, MAX_QUANTITY, false)) return `bid ${a}`;
      if (!finiteIn(c, 0, MAX_QUANTITY, false)) return `ask ${c}`;
      for (const size of [b, d]) {
        if (!(finiteIn(size, 0, MAX_QUANTITY, true) || (nanQuoteSizes && Number.isNaN(size)))) return `quote size ${size}`;
      }
    }
  }
  return '';
}

const KIND_NAMES = Object.fromEntries(Object.entries(FrameKind).map(([k, v]) => [v, k])) as Record<number, string>;

function preview(text: string): string {
  return JSON.stringify(text.length > 400 ? `${text.slice(0, 400)}… (${text.length} chars)` : text);
}

/** Connect-time state as FeedConnection sets it up: the subscribe requests of a fresh connection. */
function connected(corpus: VenueCorpus): ExchangeAdapter {
  const adapter = corpus.create();
  let id = 1;
  adapter.subscribeRequests(() => id++);
  return adapter;
}

/** Run the fuzzer over one adapter; throws (naming seed, frame and mutation) at the first violation. */
export function fuzzAdapter(corpus: VenueCorpus, foreign: readonly string[], options: FuzzOptions): FuzzStats {
  const started = performance.now();
  const rng = new Prng(options.seed);
  const mutator = new FrameMutator(rng, foreign);
  const validShare = options.validShare ?? 0.2;
  const maxFrameMs = options.maxFrameMs ?? 1000;
  // The big mutations are spread evenly: mebibytes at the end of each of `megabyte` stretches, deep
  // nesting in the middle of each of `deep` stretches (a clash delays one by a frame).
  const megabyteTotal = Math.max(0, options.megabyte ?? 0);
  const deepTotal = Math.max(0, options.deep ?? 0);
  const due = (g: number, total: number, offset: number): number => Math.min(total, Math.floor(((g + 1) * total) / options.garbage + offset));
  const symbols = corpus.symbols.length;
  const nanQuoteSizes = corpus.nanQuoteSizes === true;

  // Each seed alone, on a fresh adapter: its kind and its records.
  const alone = corpus.seeds.map((s) => {
    const rec = new Recording();
    const kind = connected(corpus).parse(s.text, rec);
    return { kind, out: rec.out };
  });
  const valid = corpus.seeds.map((_, i) => i).filter((i) => alone[i]!.kind !== FrameKind.MALFORMED);
  // Valid frames interleaved are mostly ones carrying trades or quotes (the rest: acks, other channels).
  const validData = valid.filter((i) => alone[i]!.kind === FrameKind.DATA);
  const mutable = corpus.seeds.filter((s) => s.json !== undefined);
  // Most mutations start from frames carrying trades or quotes: that is where the checks are.
  const withFields = mutable.filter((s) => s.fields.length > 0);
  if (valid.length === 0 || withFields.length === 0) throw new Error(`${corpus.label}: no valid seed frame (check the fixtures and the symbols)`);
  for (const i of valid) {
    const why = insane(alone[i]!.out, symbols, nanQuoteSizes);
    if (why !== '') throw new Error(`${corpus.label}: recorded frame hands out an insane record (${why}): ${preview(corpus.seeds[i]!.text)}`);
  }

  const stats: FuzzStats = {
    label: corpus.label, seed: options.seed, frames: 0, garbage: 0, mustReject: 0, mayPass: 0, mayPassRejected: 0, rejected: 0,
    valid: 0, validData: 0, trades: 0, quotes: 0, megabyte: 0, deep: 0, maxFrameMs: 0, slowest: '', elapsedMs: 0, kinds: {},
  };
  const a = connected(corpus);
  const twin = connected(corpus);
  const rec = new Recording();
  const twinRec = new Recording();

  const fail = (frame: number, what: string, text: string, problem: string): never => {
    throw new Error(
      `fuzz ${corpus.label}: seed=${options.seed} frame #${frame} (${what}): ${problem}\n  frame: ${preview(text)}\n` +
        `  replay: ${replayEnv(options.seed)} npx vitest run test/fuzz/ -t ${JSON.stringify(corpus.label)}`,
    );
  };

  for (let frame = 0; stats.garbage < options.garbage; frame++) {
    let text: string;
    let what: string;
    let mustReject = false;
    let seedIndex = -1;
    const g = stats.garbage;
    const size: MutationSize = stats.megabyte < due(g, megabyteTotal, 0) ? 'megabyte' : stats.deep < due(g, deepTotal, 0.5) ? 'deep' : 'normal';
    if (size === 'normal' && rng.chance(validShare / (1 + validShare))) {
      seedIndex = validData.length > 0 && rng.chance(0.75) ? rng.pick(validData) : rng.pick(valid);
      text = corpus.seeds[seedIndex]!.text;
      what = 'valid frame';
    } else {
      const m = mutator.mutate(rng.chance(0.75) ? rng.pick(withFields) : rng.pick(mutable), size);
      text = m.text;
      what = m.kind;
      mustReject = m.mustReject;
      if (size === 'megabyte') stats.megabyte++;
      if (size === 'deep') stats.deep++;
    }

    rec.out.length = 0;
    const t0 = performance.now();
    let kind: FrameKind;
    try {
      kind = a.parse(text, rec);
    } catch (err) {
      return fail(frame, what, text, `parse threw ${String(err)}`);
    }
    const ms = performance.now() - t0;
    if (ms > stats.maxFrameMs) {
      stats.maxFrameMs = ms;
      stats.slowest = what;
    }
    if (ms > maxFrameMs) fail(frame, what, text, `parse took ${ms.toFixed(1)} ms`);
    if (KIND_NAMES[kind] === undefined) fail(frame, what, text, `parse answered ${String(kind)}, not a FrameKind`);
    const why = insane(rec.out, symbols, nanQuoteSizes);
    if (why !== '') fail(frame, what, text, `handed out an insane record: ${why}`);
    // The error text goes to logs and /v1/status: venue text in it is cut short.
    if (a.error.length > MAX_ERROR_TEXT) fail(frame, what, text, `left an error text of ${a.error.length} characters`);

    stats.frames++;
    if (kind === FrameKind.MALFORMED) {
      stats.rejected++;
      if (rec.out.length > 0) fail(frame, what, text, `answered MALFORMED after handing out ${rec.out.length / 7} record(s)`);
    } else {
      twinRec.out.length = 0;
      const twinKind = twin.parse(text, twinRec);
      if (twinKind !== kind || !sameNumbers(rec.out, twinRec.out) || ((kind === FrameKind.ACK || kind === FrameKind.ERROR) && !Object.is(a.ackId, twin.ackId))) {
        fail(frame, what, text, `answered ${KIND_NAMES[kind]} ${JSON.stringify(rec.out)} (ack ${a.ackId}), but an adapter that never saw the garbage answers ${KIND_NAMES[twinKind]} ${JSON.stringify(twinRec.out)} (ack ${twin.ackId})`);
      }
    }

    if (seedIndex >= 0) {
      stats.valid++;
      const want = alone[seedIndex]!;
      const s = corpus.seeds[seedIndex]!;
      if (corpus.stateDependent?.(s) !== true && (kind !== want.kind || !sameNumbers(rec.out, want.out))) {
        fail(frame, what, text, `answered ${KIND_NAMES[kind]} ${JSON.stringify(rec.out)} amid the garbage, but ${KIND_NAMES[want.kind]} ${JSON.stringify(want.out)} alone`);
      }
      if (kind === FrameKind.DATA) stats.validData++;
    } else {
      stats.garbage++;
      const k = (stats.kinds[what] ??= { n: 0, rejected: 0 });
      k.n++;
      if (kind === FrameKind.MALFORMED) k.rejected++;
      if (mustReject) {
        stats.mustReject++;
        if (kind !== FrameKind.MALFORMED) fail(frame, what, text, `a frame built to be malformed was answered ${KIND_NAMES[kind]} ${JSON.stringify(rec.out)}`);
      } else {
        stats.mayPass++;
        if (kind === FrameKind.MALFORMED) stats.mayPassRejected++;
      }
    }
    for (let i = 0; i < rec.out.length; i += 7) {
      if (rec.out[i] === 1) stats.trades++;
      else stats.quotes++;
    }
  }
  stats.elapsedMs = performance.now() - started;
  return stats;
}

/** One line per run for the test log: counts, rejections, time. */
export function summary(s: FuzzStats): string {
  return (
    `fuzz ${s.label} (seed ${s.seed}): ${s.garbage} malformed frames (${s.mustReject} built malformed, all rejected; ` +
    `${s.mayPass} possibly valid, ${s.mayPassRejected} rejected; ${s.megabyte} of 1 MiB, ${s.deep} nested 10,000+ deep), ${s.valid} valid interleaved ` +
    `(${s.validData} with data), ${s.rejected} MALFORMED in all, ${s.trades} trades / ${s.quotes} quotes handed out; ` +
    `slowest frame ${s.maxFrameMs.toFixed(1)} ms (${s.slowest}), ${(s.elapsedMs / 1000).toFixed(1)} s`
  );
}
