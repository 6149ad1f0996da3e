/**
 * The query of `GET /v1/candles/...` (docs/api-reference.md): `limit`,
 * `start`, `end`, `format`, `closed` and the credential `token`, checked as
 * every route checks its parameters (an unknown or repeated one, or a value
 * out of range, is INVALID_PARAMETER naming it).
 *
 * Parsed queries are kept by their raw text: clients ask the same few
 * queries again and again (a dashboard's `?limit=500`), and a parse
 * (URLSearchParams, a Map, the checks) costs about as much as the rest of a
 * candles answer given from kept bytes. Only valid queries are kept, at most
 * `MAX_KEPT_QUERIES`; past it the whole set is dropped and refills (a client
 * varying its query text gets no worse than parsing every time). The kept
 * object is also the answer's shape (ready-candles.ts `CandleShape`), so a
 * request allocates neither.
 */
import { InvalidParameterError } from '../errors.ts';
import { DEFAULT_CANDLE_LIMIT, MAX_CANDLE_LIMIT } from '../wire/protocol.ts';
import { choiceParam, intParam, parseQuery } from './http-util.ts';

/** `token` is a credential (auth.ts reads it), accepted here so a browser link can carry it. */
const CANDLE_PARAMS = ['limit', 'start', 'end', 'format', 'closed', 'token'] as const;
/** Distinct valid query texts kept parsed. */
export const MAX_KEPT_QUERIES = 256;

/** A candles query, checked. */
export interface CandleQuery {
  readonly limit: number;
  readonly start: number | undefined;
  readonly end: number | undefined;
  readonly format: 'json' | 'csv' | 'fbs';
  /** Closed bars only (no forming bar). */
  readonly closed: boolean;
}

/** Parses candles queries, keeping the valid ones by their text (see the module comment). */
export class CandleQueries {
  readonly #kept = new Map<string, CandleQuery>();

  /** The query of raw text `raw` (without `?`); throws INVALID_PARAMETER naming what is wrong. */
  parse(raw: string): CandleQuery {
    const kept = this.#kept.get(raw);
    if (kept !== undefined) return kept;
    const query = parseCandleQuery(raw);
    if (this.#kept.size >= MAX_KEPT_QUERIES) this.#kept.clear();
    this.#kept.set(raw, query);
    return query;
  }

  /** Queries kept now. */
  get size(): number {
    return this.#kept.size;
  }
}

function parseCandleQuery(raw: string): CandleQuery {
  const q = parseQuery(raw, CANDLE_PARAMS);
  const limit = intParam(q, 'limit', 1, MAX_CANDLE_LIMIT, DEFAULT_CANDLE_LIMIT);
  const start = intParam(q, 'start', 0, Number.MAX_SAFE_INTEGER);
  const end = intParam(q, 'end', 0, Number.MAX_SAFE_INTEGER);
  if (start !== undefined && end !== undefined && start > end) {
    throw new InvalidParameterError('start', q.get('start'), `at most end (${end})`);
  }
  const format = choiceParam(q, 'format', ['json', 'csv', 'fbs'] as const, 'json');
  const closed = choiceParam(q, 'closed', ['true', 'false'] as const, 'false') === 'true';
  return Object.freeze({ limit, start, end, format, closed });
}
