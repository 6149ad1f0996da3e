/** Small HTTP helpers shared by the routes and the WebSocket upgrade: status lines, error bodies, query parsing. */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { ErrorCode, InvalidParameterError, TickwireError } from '../errors.ts';
import type { HeaderList } from './cors.ts';

export const JSON_TYPE = 'application/json';

const STATUS_LINE: Record<number, string> = {
  200: '200 OK',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  409: '409 Conflict',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

const STATUS_OF_CODE: Record<ErrorCode, number> = {
  EXCHANGE_NOT_FOUND: 404,
  SYMBOL_NOT_FOUND: 404,
  NOT_FOUND: 404,
  INVALID_TIMEFRAME: 400,
  INVALID_PARAMETER: 400,
  UNKNOWN_CHANNEL: 400,
  INVALID_CONFIG: 500,
  EXCHANGE_NOT_RUNNING: 503,
  RATE_LIMITED: 429,
  TOO_MANY_CONNECTIONS: 503,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  CHANGE_REFUSED: 409,
  ON_DEMAND_LIMIT: 429,
  INTERNAL_ERROR: 500,
  STORAGE_FAILED: 503,
  STORAGE_CORRUPT: 503,
  STREAMER_NOT_INITIALIZED: 503,
  STREAMER_NOT_RUNNING: 503,
  CLUSTER_UNAVAILABLE: 503,
  PLUGIN_NOT_FOUND: 500,
  PLUGIN_CONTRACT: 500,
  PLUGIN_INVALID: 500,
};

/** The HTTP status answering an error code. */
export function statusOfCode(code: ErrorCode): number {
  return STATUS_OF_CODE[code] ?? 500;
}

/** How a response ends: keep the connection or close it after the answer; who hears of an answer left unsent. */
export interface Ending {
  /** Answer with `Connection: close` and close the socket once the answer is out. */
  readonly close: boolean;
  /** Told when the client went away (or stopped reading and was closed) before taking the whole answer. */
  readonly unsent?: () => void;
}

export const KEEP_ALIVE: Ending = { close: false };

/**
 * Write a whole response (status, content type, extra headers such as CORS or
 * `Retry-After`, body: text, or bytes that may be reused once this returns).
 * Inside a uWS handler or a `res.cork`.
 *
 * Backpressure: with `tryEnd` uWS never buffers an answer the client is not
 * reading; the rest is sent from `onWritable`, and a request pipelined
 * behind an unfinished answer makes uWS close the socket. So a client that
 * pipelines without reading holds at most one answer and ~16 KiB of uWS's
 * cork buffer, not every answer it asked for (`end` buffered them all:
 * 20,000 × `GET /docs` unread → +200 MB RSS, now +1 MB and the socket closed
 * after ~400 answers, measured on loopback). A closing answer (`close`) is
 * the last on its socket, so `end` buffers at most that one.
 */
export function writeResponse(
  res: HttpResponse,
  status: number,
  body: string | Uint8Array,
  contentType = JSON_TYPE,
  headers: HeaderList = NO_HEADERS,
  ending: Ending = KEEP_ALIVE,
): void {
  // uWS writes `200 OK` itself when no status is written first: one native call fewer on most answers.
  if (status !== 200) res.writeStatus(STATUS_LINE[status] ?? `${status}`);
  res.writeHeader('content-type', contentType);
  for (let i = 0; i < headers.length; i++) res.writeHeader(headers[i]![0], headers[i]![1]);
  if (ending.close) {
    res.end(body, true);
    return;
  }
  const total = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  const [, done] = res.tryEnd(body, total);
  if (!done) finishWhenWritable(res, body, total, ending.unsent);
}

/** The rest of an answer the client is not reading yet: sent as it drains, given up (counted) if the socket closes first. */
function finishWhenWritable(res: HttpResponse, body: string | Uint8Array, total: number, unsent: (() => void) | undefined): void {
  // A copy: text turned to bytes once, and a caller's reused buffer (FlatBuffers) left free.
  const bytes = Buffer.from(body);
  res.onAborted(() => unsent?.());
  res.onWritable((offset) => res.tryEnd(bytes.subarray(offset), total)[0]);
}

const NO_HEADERS: HeaderList = [];

/** Decodes uWS's address text (ASCII) from its ArrayBuffer directly: no Buffer view per read (78–165 ns against 182–436 ns for `Buffer.from(...).toString`, measured here). */
const ADDRESS_TEXT = new TextDecoder();

/** The client's address as text (IPv4 dotted, IPv6 in full), for rate limits and logs. Inside the handler, before any await. */
export function remoteAddress(res: HttpResponse): string {
  return ADDRESS_TEXT.decode(res.getRemoteAddressAsText());
}

/**
 * A request's remote address, read from uWS only if something asks for it
 * (an anonymous client's rate limit, a connection cap in force, a failed
 * authentication), at most once. Why: each read makes uWS create an
 * ArrayBuffer over native memory, measured at 5–13 µs here (a header read:
 * 0.1–0.7 µs), the largest single cost of a candles request that does not
 * need it. `text` only inside the handler; `pin()` before any await.
 */
export class LazyAddress {
  #res: HttpResponse | undefined;
  #text: string | undefined;

  constructor(res: HttpResponse) {
    this.#res = res;
  }

  get text(): string {
    if (this.#text === undefined) {
      this.#text = remoteAddress(this.#res!);
      this.#res = undefined;
    }
    return this.#text;
  }

  /** Read it now, while `res` is valid, for use after an await. */
  pin(): void {
    void this.text;
  }
}

/** `Retry-After` in whole seconds (at least 1) for a wait of `ms`. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** `{"error":{"code","message"}}` */
export function v1ErrorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/** Query parameters; with `accepted`, unknown and repeated ones are rejected (INVALID_PARAMETER naming them). */
export function parseQuery(raw: string, accepted: readonly string[] | null): Map<string, string> {
  const out = new Map<string, string>();
  if (raw === '') return out;
  for (const [key, value] of new URLSearchParams(raw)) {
    if (accepted !== null) {
      if (!accepted.includes(key)) {
        throw new TickwireError(
          ErrorCode.INVALID_PARAMETER,
          `unknown query parameter ${JSON.stringify(key)}: accepted are ${accepted.join(', ')}`,
        );
      }
      if (out.has(key)) throw new TickwireError(ErrorCode.INVALID_PARAMETER, `query parameter ${JSON.stringify(key)} given twice`);
    }
    if (!out.has(key)) out.set(key, value);
  }
  return out;
}

const DIGITS = /^\d+$/;

/** An integer query parameter within [min, max]; `fallback` when absent. */
export function intParam(q: Map<string, string>, name: string, min: number, max: number, fallback: number): number;
export function intParam(q: Map<string, string>, name: string, min: number, max: number, fallback?: undefined): number | undefined;
export function intParam(q: Map<string, string>, name: string, min: number, max: number, fallback?: number): number | undefined {
  const raw = q.get(name);
  if (raw === undefined) return fallback;
  const v = DIGITS.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    const expected = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
    throw new InvalidParameterError(name, raw, expected);
  }
  return v;
}

/** The url-decoded path parameter at `index`; INVALID_PARAMETER naming `name` when it does not decode. */
export function pathParam(req: RouteRequest, index: number, name: string): string {
  const raw = req.getParameter(index) ?? '';
  if (!raw.includes('%')) return raw; // nothing to decode: the common case, without decodeURIComponent's copy
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new InvalidParameterError(name, raw, 'a valid url-encoded path segment');
  }
}

/** One of `choices`; `fallback` when absent. */
export function choiceParam<T extends string>(q: Map<string, string>, name: string, choices: readonly T[], fallback: T): T {
  const raw = q.get(name);
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new InvalidParameterError(name, raw, `one of ${choices.join(', ')}`);
  return raw as T;
}

/** What a route handler reads of its request: uWS's `HttpRequest`, or after an await a copy of it. */
export interface RouteRequest {
  getParameter(index: number): string | undefined;
  getQuery(): string | undefined;
  getHeader(lowerCaseKey: string): string;
  getMethod(): string;
  getUrl(): string;
}

/**
 * A copy of what a handler may read, for use after an `await` (uWS's `req`
 * is only valid during the callback): `headers` by name, the first
 * `parameters` path parameters, the query, method and URL.
 */
export function copyRequest(req: HttpRequest, headers: readonly string[], parameters: number): RouteRequest {
  const h = new Map<string, string>();
  for (const name of headers) h.set(name, req.getHeader(name));
  const params: (string | undefined)[] = [];
  for (let i = 0; i < parameters; i++) params.push(req.getParameter(i));
  const query = req.getQuery() ?? '';
  const method = req.getMethod();
  const url = req.getUrl();
  return {
    getParameter: (i) => params[i],
    getQuery: () => query,
    getHeader: (name) => h.get(name) ?? '',
    getMethod: () => method,
    getUrl: () => url,
  };
}
