/**
 * Candle reads with a fallback chain, as the older streamer monitor did:
 * the HTTP API first, then an in-process tickwire (a `createTickwire()`
 * instance given in the options), then a user-supplied source. Each step has
 * a deadline (default 1 s); a step that fails or runs late hands over to the
 * next, and the result names the step that answered and what failed before
 * it. When every step fails, `CandlesUnavailableError` lists each failure.
 * As those clients did, the HTTP step asks the client's server, which is
 * `STREAMER_API_URL` when the options name none (server-url.ts).
 *
 * Decisions where the issue is silent:
 *  - The query is validated here first (timeframe, limit, start ≤ end): a bad
 *    query is the caller's bug and fails at once with INVALID_TIMEFRAME or
 *    INVALID_PARAMETER instead of being tried against every source.
 *  - Every source answers the same shape (the JSON Bar, oldest first) and the
 *    same query: the user source's bars are checked (a malformed answer is a
 *    failure of that step) and filtered to `start`/`end`/`closed`/`limit`.
 *  - The error code when all steps fail: the code they all agree on (a symbol
 *    no source knows stays SYMBOL_NOT_FOUND), else EXCHANGE_NOT_RUNNING, the
 *    API's "data unavailable right now" (503).
 */
import { ErrorCode, InvalidParameterError, TickwireError } from '../errors.ts';
import type { Bar } from '../model/records.ts';
import { parseTimeframe } from '../model/timeframes.ts';
import type { BarJson, CandlesResponse } from '../wire/messages.ts';
import { DEFAULT_CANDLE_LIMIT, MAX_CANDLE_LIMIT } from '../wire/protocol.ts';
import { httpGet, TransportError, type FetchLike } from './http.ts';

/** Which bars to read (as `GET /v1/candles`): at most `limit` (default 500), open times in [start, end], only closed bars when `closed`. */
export interface CandleQuery {
  limit?: number;
  start?: number;
  end?: number;
  closed?: boolean;
}

/** A user-supplied candle source, the chain's last step. `signal` aborts when its deadline passed. */
export type CandleSource = (
  exchange: string,
  symbol: string,
  timeframe: string,
  query: CandleQuery,
  signal: AbortSignal,
) => Promise<readonly Bar[] | readonly BarJson[]>;

/** The step that answered. */
export type CandleSourceName = 'http' | 'tickwire' | 'custom';

/** Why one step did not answer. */
export interface CandleFailure {
  source: CandleSourceName;
  /** `timeout`: no answer by the deadline; `error`: it answered with an error or something unusable. */
  kind: 'timeout' | 'error';
  /** The error code when the step gave one (the API's, the library's), else null. */
  code: ErrorCode | null;
  message: string;
}

/** What `candles()` returns: the bars (oldest first, the forming one last unless `closed`) and who answered. */
export interface CandlesResult extends CandlesResponse {
  source: CandleSourceName;
  /** Steps tried before the one that answered, with why they did not. */
  failures: CandleFailure[];
}

/** Every step of the chain failed; `failures` says how, one entry per step. */
export class CandlesUnavailableError extends TickwireError {
  readonly failures: readonly CandleFailure[];

  constructor(what: string, failures: CandleFailure[]) {
    const codes = new Set(failures.map((f) => f.code));
    const [only] = codes;
    const code = codes.size === 1 && only !== null && only !== undefined ? only : ErrorCode.EXCHANGE_NOT_RUNNING;
    const detail = failures.map((f) => `${f.source}: ${f.kind === 'timeout' ? 'timed out, ' : ''}${f.message}`).join('; ');
    super(code, `no source could serve candles for ${what}: ${detail}`);
    this.name = 'CandlesUnavailableError';
    this.failures = failures;
  }
}

/** What the chain needs from the client. */
export interface CandleChainOptions {
  /** The server's HTTP base URL, without trailing slash. */
  http: string;
  fetch: FetchLike;
  token: string | undefined;
  /** Ask the API for FlatBuffers (`format=fbs`) instead of JSON. */
  binary: boolean;
  /** Deadline of each step, ms. */
  timeoutMs: number;
  tickwire: InProcessCandles | undefined;
  source: CandleSource | undefined;
}

/**
 * What the chain reads from an in-process tickwire: the two methods of
 * `Tickwire` it calls, declared here so the client does not depend on the
 * library face (a `createTickwire()` instance fits as it is).
 */
export interface InProcessCandles {
  /** Bars oldest first; throws TickwireError for an unknown exchange, symbol or timeframe. */
  bars(exchange: string, symbol: string, timeframe: string, query: { limit?: number; start?: number; end?: number; closed?: boolean }): Bar[];
  /** A user-given symbol (native or BASE-QUOTE) as the exchange's native id. */
  resolveSymbol(exchange: string, symbol: string): string;
}

/** Deadline of each step of the chain, ms, unless the options say otherwise. */
export const DEFAULT_CANDLE_TIMEOUT_MS = 1000;

/** The query, checked; throws InvalidParameterError naming the bad field. */
export function checkQuery(q: CandleQuery): Required<Pick<CandleQuery, 'limit' | 'closed'>> & Pick<CandleQuery, 'start' | 'end'> {
  if (typeof q !== 'object' || q === null) throw new InvalidParameterError('query', q, 'an object { limit?, start?, end?, closed? }');
  const limit = q.limit ?? DEFAULT_CANDLE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_CANDLE_LIMIT) {
    throw new InvalidParameterError('limit', q.limit, `an integer from 1 to ${MAX_CANDLE_LIMIT}`);
  }
  for (const key of ['start', 'end'] as const) {
    const v = q[key];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new InvalidParameterError(key, v, 'an integer time in ms ≥ 0');
  }
  if (q.start !== undefined && q.end !== undefined && q.start > q.end) {
    throw new InvalidParameterError('start', q.start, `at most end (${q.end})`);
  }
  if (q.closed !== undefined && typeof q.closed !== 'boolean') throw new InvalidParameterError('closed', q.closed, 'a boolean');
  return { limit, start: q.start, end: q.end, closed: q.closed ?? false };
}

const NUMERIC = ['openTime', 'closeTime', 'open', 'high', 'low', 'close', 'volume', 'quoteVolume', 'buyVolume', 'sellVolume', 'trades', 'revision'] as const;

/** A library or user bar in the JSON protocol's shape; throws a plain Error naming what is wrong. */
export function toBarJson(b: unknown, index: number): BarJson {
  if (typeof b !== 'object' || b === null) throw new Error(`bar ${index} is not an object`);
  const o = b as Record<string, unknown>;
  for (const k of NUMERIC) {
    if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) throw new Error(`bar ${index}: ${k} is ${JSON.stringify(o[k])}, expected a finite number`);
  }
  for (const k of ['vwap', 'spread'] as const) {
    if (o[k] !== null && (typeof o[k] !== 'number' || !Number.isFinite(o[k]))) {
      throw new Error(`bar ${index}: ${k} is ${JSON.stringify(o[k])}, expected a finite number or null`);
    }
  }
  if (typeof o['closed'] !== 'boolean') throw new Error(`bar ${index}: closed is ${JSON.stringify(o['closed'])}, expected a boolean`);
  const out: BarJson = {
    openTime: o['openTime'] as number,
    closeTime: o['closeTime'] as number,
    open: o['open'] as number,
    high: o['high'] as number,
    low: o['low'] as number,
    close: o['close'] as number,
    volume: o['volume'] as number,
    quoteVolume: o['quoteVolume'] as number,
    buyVolume: o['buyVolume'] as number,
    sellVolume: o['sellVolume'] as number,
    trades: o['trades'] as number,
    vwap: o['vwap'] as number | null,
    spread: o['spread'] as number | null,
    closed: o['closed'],
    revision: o['revision'] as number,
  };
  if (o['gapped'] === true) out.gapped = true;
  if (o['source'] === 'backfill') out.source = 'backfill';
  return out;
}

/** Keep what the query asks for from bars of any source: sorted by open time, within [start, end], closed only if asked, the last `limit`. */
function applyQuery(bars: BarJson[], q: ReturnType<typeof checkQuery>): BarJson[] {
  const kept = bars
    .filter((b) => (q.start === undefined || b.openTime >= q.start) && (q.end === undefined || b.openTime <= q.end) && (!q.closed || b.closed))
    .sort((a, b) => a.openTime - b.openTime);
  return kept.length > q.limit ? kept.slice(kept.length - q.limit) : kept;
}

/** Runs the chain; one per client. */
export class CandleChain {
  readonly #o: CandleChainOptions;
  /** The wire module for `format=fbs`, loaded on first binary read. */
  #wire: Promise<typeof import('../wire/fbs.ts')> | undefined;

  constructor(options: CandleChainOptions) {
    this.#o = options;
  }

  /** Read candles through the chain. Throws INVALID_* for a bad query, CandlesUnavailableError when no step answered. */
  async read(exchange: string, symbol: string, timeframe: string, query: CandleQuery = {}): Promise<CandlesResult> {
    if (typeof exchange !== 'string' || exchange === '') throw new InvalidParameterError('exchange', exchange, 'an exchange name');
    if (typeof symbol !== 'string' || symbol === '') throw new InvalidParameterError('symbol', symbol, 'a symbol');
    const tf = parseTimeframe(timeframe).name;
    const q = checkQuery(query);
    const failures: CandleFailure[] = [];
    const steps: [CandleSourceName, (signal: AbortSignal) => Promise<CandlesResponse>][] = [['http', (signal) => this.#http(exchange, symbol, tf, q, signal)]];
    const tw = this.#o.tickwire;
    if (tw !== undefined) steps.push(['tickwire', async () => this.#inProcess(tw, exchange, symbol, tf, q)]);
    const source = this.#o.source;
    if (source !== undefined) steps.push(['custom', (signal) => this.#custom(source, exchange, symbol, tf, q, signal)]);
    for (const [name, step] of steps) {
      const outcome = await this.#withDeadline(step);
      if ('failure' in outcome) {
        failures.push({ source: name, ...outcome.failure });
        continue;
      }
      return { ...outcome.value, source: name, failures };
    }
    throw new CandlesUnavailableError(`${exchange} ${symbol} ${tf}`, failures);
  }

  /** Run one step against its deadline; its abort signal fires when the deadline passes. */
  async #withDeadline(
    step: (signal: AbortSignal) => Promise<CandlesResponse>,
  ): Promise<{ value: CandlesResponse } | { failure: Omit<CandleFailure, 'source'> }> {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.#o.timeoutMs);
    });
    try {
      const value = await Promise.race([step(abort.signal), late]);
      if (value === 'late') {
        abort.abort();
        return { failure: { kind: 'timeout', code: null, message: `no answer within ${this.#o.timeoutMs} ms` } };
      }
      return { value };
    } catch (err) {
      if (err instanceof TransportError && err.kind === 'timeout') return { failure: { kind: 'timeout', code: null, message: err.message } };
      const code = err instanceof TickwireError ? err.code : null;
      return { failure: { kind: 'error', code, message: err instanceof Error ? err.message : String(err) } };
    } finally {
      clearTimeout(timer);
    }
  }

  async #http(exchange: string, symbol: string, tf: string, q: ReturnType<typeof checkQuery>, signal: AbortSignal): Promise<CandlesResponse> {
    const params = new URLSearchParams({ limit: String(q.limit) });
    if (q.start !== undefined) params.set('start', String(q.start));
    if (q.end !== undefined) params.set('end', String(q.end));
    if (q.closed) params.set('closed', 'true');
    if (this.#o.binary) params.set('format', 'fbs');
    const url = `${this.#o.http}/v1/candles/${encodeURIComponent(exchange)}/${encodeURIComponent(symbol)}/${tf}?${params}`;
    const options = { fetch: this.#o.fetch, token: this.#o.token, timeoutMs: this.#o.timeoutMs, signal };
    if (this.#o.binary) {
      const { body } = await httpGet(url, options, 'bytes');
      this.#wire ??= import('../wire/fbs.ts');
      const { decodeCandles } = await this.#wire;
      try {
        return decodeCandles(body);
      } catch (err) {
        throw new TransportError('malformed', `undecodable FlatBuffers candles: ${String((err as Error)?.message ?? err)}`, { cause: err });
      }
    }
    const { body } = await httpGet(url, options, 'text');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      throw new TransportError('malformed', 'candles answer is not JSON', { cause: err });
    }
    const r = parsed as Partial<CandlesResponse> | null;
    if (!Array.isArray(r?.candles) || typeof r.symbol !== 'string') throw new TransportError('malformed', 'candles answer lacks candles or symbol');
    return r as CandlesResponse;
  }

  #inProcess(
    tw: InProcessCandles,
    exchange: string,
    symbol: string,
    tf: string,
    q: ReturnType<typeof checkQuery>,
  ): CandlesResponse {
    const native = tw.resolveSymbol(exchange, symbol);
    const bars = tw.bars(exchange, native, tf, { limit: q.limit, start: q.start, end: q.end, closed: q.closed });
    const candles = bars.map((b, i) => toBarJson(b, i));
    return { exchange, symbol: native, timeframe: tf, count: candles.length, candles };
  }

  async #custom(
    source: CandleSource,
    exchange: string,
    symbol: string,
    tf: string,
    q: ReturnType<typeof checkQuery>,
    signal: AbortSignal,
  ): Promise<CandlesResponse> {
    const bars = await source(exchange, symbol, tf, { limit: q.limit, start: q.start, end: q.end, closed: q.closed }, signal);
    if (!Array.isArray(bars)) throw new Error(`the source answered ${typeof bars}, expected an array of bars`);
    const candles = applyQuery(bars.map((b, i) => toBarJson(b, i)), q);
    return { exchange, symbol, timeframe: tf, count: candles.length, candles };
  }
}
