/**
 * HTTP routes (ARCHITECTURE.md, "External contract"): `/health`, `/v1/*`,
 * `/metrics`, `/docs`, `/` and the older `/streamer/*` shapes.
 *
 * Every handler except `/metrics` answers synchronously, inside the uWS
 * callback (already corked; no `onAborted` needed). `/metrics` awaits the
 * library's registry: it registers `onAborted` first, copies nothing from
 * `req` after the await, and writes inside `res.cork`.
 *
 * Errors: a `TickwireError` answers with its code and a status fitting the
 * code; anything else is a 500 `INTERNAL_ERROR` with a fixed message (the
 * cause goes to `onError`, never to the client).
 */
import type { HttpRequest, TemplatedApp } from 'uWebSockets.js';
import type { Tickwire } from '../api/types.ts';
import { ErrorCode, InvalidParameterError, TickwireError } from '../errors.ts';
import { parseTimeframe } from '../model/timeframes.ts';
import { DASHBOARD_HTML } from './dashboard.ts';
import { JSON_TYPE, choiceParam, intParam, parseQuery, statusOfCode, v1ErrorBody, writeResponse } from './http-util.ts';
import { BAR_CSV_HEADER, BarTextVisitor, barCsv, barJson, streamerCandleJson } from './json.ts';
import type { ServerMetrics } from './metrics.ts';
import { openApiJson } from './openapi.ts';

export interface HttpContext {
  readonly tickwire: Tickwire;
  readonly metrics: ServerMetrics;
  /** Told about every unexpected failure (answered as a 500). */
  readonly onError: (err: unknown, where: string) => void;
}


const CSV_TYPE = 'text/csv; charset=utf-8';
const HTML_TYPE = 'text/html; charset=utf-8';

/** What a synchronous route answers. */
interface Reply {
  status: number;
  body: string;
  contentType?: string;
}

/** An error as the API reports it: code, message, status. */
interface ApiError {
  status: number;
  code: string;
  message: string;
}

/** Which error body a route family speaks. */
type ErrorShape = 'v1' | 'streamer';

// ── responses ────────────────────────────────────────────────────────────

function streamerErrorBody(code: string, message: string): string {
  return JSON.stringify({ success: false, error: message, error_code: code });
}

/** Turn anything thrown into what the client is told; unexpected errors go to `onError`. */
function toApiError(err: unknown, ctx: HttpContext, where: string): ApiError {
  if (err instanceof TickwireError) {
    return { status: statusOfCode(err.code), code: err.code, message: err.message };
  }
  ctx.onError(err, where);
  return { status: 500, code: ErrorCode.INTERNAL_ERROR, message: 'internal error' };
}

function errorReply(e: ApiError, shape: ErrorShape): Reply {
  return { status: e.status, body: shape === 'v1' ? v1ErrorBody(e.code, e.message) : streamerErrorBody(e.code, e.message) };
}

/** Register a synchronous GET route: errors become the route family's error body; every answer is counted. */
function get(
  app: TemplatedApp,
  ctx: HttpContext,
  pattern: string,
  shape: ErrorShape,
  handler: (req: HttpRequest) => Reply,
): void {
  app.get(pattern, (res, req) => {
    let reply: Reply;
    try {
      reply = handler(req);
    } catch (err) {
      reply = errorReply(toApiError(err, ctx, pattern), shape);
    }
    ctx.metrics.httpRequest(pattern, reply.status);
    writeResponse(res, reply.status, reply.body, reply.contentType);
  });
}

// ── request parsing ──────────────────────────────────────────────────────

/** A url-decoded path parameter. */
function pathParam(req: HttpRequest, index: number, name: string): string {
  const raw = req.getParameter(index) ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new InvalidParameterError(name, raw, 'a valid url-encoded path segment');
  }
}

// ── routes ───────────────────────────────────────────────────────────────

const CANDLE_PARAMS = ['limit', 'start', 'end', 'format', 'closed'] as const;
const MAX_LIMIT = 5000;
const DEFAULT_LIMIT = 500;

export function registerHttpRoutes(app: TemplatedApp, ctx: HttpContext): void {
  const tw = ctx.tickwire;

  get(app, ctx, '/health', 'v1', () => {
    const h = tw.health();
    return h.status === 'ok'
      ? { status: 200, body: '{"status":"ok"}' }
      : { status: 503, body: JSON.stringify({ status: 'unavailable', reasons: h.reasons }) };
  });

  get(app, ctx, '/v1/status', 'v1', () => ({ status: 200, body: JSON.stringify(tw.status()) }));
  get(app, ctx, '/v1/symbols', 'v1', () => ({ status: 200, body: JSON.stringify({ exchanges: tw.symbols() }) }));
  get(app, ctx, '/v1/latency', 'v1', () => ({ status: 200, body: JSON.stringify(tw.latency()) }));

  get(app, ctx, '/v1/candles/:exchange/:symbol/:tf', 'v1', (req) => {
    const exchange = pathParam(req, 0, 'exchange');
    const symbolGiven = pathParam(req, 1, 'symbol');
    const tfGiven = pathParam(req, 2, 'timeframe');
    const q = parseQuery(req.getQuery() ?? '', CANDLE_PARAMS);
    const limit = intParam(q, 'limit', 1, MAX_LIMIT, DEFAULT_LIMIT);
    const start = intParam(q, 'start', 0, Number.MAX_SAFE_INTEGER);
    const end = intParam(q, 'end', 0, Number.MAX_SAFE_INTEGER);
    if (start !== undefined && end !== undefined && start > end) {
      throw new InvalidParameterError('start', q.get('start'), `at most end (${end})`);
    }
    const format = choiceParam(q, 'format', ['json', 'csv'] as const, 'json');
    const closed = choiceParam(q, 'closed', ['true', 'false'] as const, 'false') === 'true';
    const timeframe = parseTimeframe(tfGiven).name;
    const symbol = tw.resolveSymbol(exchange, symbolGiven);
    const query = { limit, start, end, closed };
    if (format === 'csv') {
      const v = new BarTextVisitor(barCsv, '');
      tw.visitBars(exchange, symbol, timeframe, v, query);
      return { status: 200, body: BAR_CSV_HEADER + v.text, contentType: CSV_TYPE };
    }
    const v = new BarTextVisitor(barJson);
    const count = tw.visitBars(exchange, symbol, timeframe, v, query);
    const head =
      '{"exchange":' + JSON.stringify(exchange) + ',"symbol":' + JSON.stringify(symbol) +
      ',"timeframe":"' + timeframe + '","count":' + count + ',"candles":[';
    return { status: 200, body: head + v.text + ']}' };
  });

  // /metrics: the one asynchronous route.
  app.get('/metrics', (res) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    void (async () => {
      let status = 200;
      let body: string;
      let contentType: string = ctx.metrics.registry.contentType;
      try {
        const library = await tw.metrics();
        const server = await ctx.metrics.registry.metrics();
        body = library === '' || library.endsWith('\n') ? library + server : library + '\n' + server;
      } catch (err) {
        const e = toApiError(err, ctx, '/metrics');
        status = e.status;
        body = v1ErrorBody(e.code, e.message);
        contentType = JSON_TYPE;
      }
      ctx.metrics.httpRequest('/metrics', status);
      if (aborted) return;
      res.cork(() => writeResponse(res, status, body, contentType));
    })();
  });

  const docs = openApiJson();
  get(app, ctx, '/docs', 'v1', () => ({ status: 200, body: docs }));
  get(app, ctx, '/', 'v1', () => ({ status: 200, body: DASHBOARD_HTML, contentType: HTML_TYPE }));

  registerStreamerRoutes(app, ctx);

  // Anything else, any method.
  app.any('/*', (res, req) => {
    const what = `${req.getMethod().toUpperCase()} ${req.getUrl()}`;
    ctx.metrics.httpRequest('unmatched', 404);
    writeResponse(res, 404, v1ErrorBody(ErrorCode.NOT_FOUND, `no route for ${what}`));
  });
}

/** The older streamer API: `success` flags, `error_code`, candles with `time` in seconds. */
function registerStreamerRoutes(app: TemplatedApp, ctx: HttpContext): void {
  const tw = ctx.tickwire;
  const ok = (fields: Record<string, unknown>): Reply => ({
    status: 200,
    body: JSON.stringify({ success: true, ...fields, timestamp: Date.now() }),
  });

  get(app, ctx, '/streamer/candles/:symbol/:tf', 'streamer', (req) => {
    const symbolGiven = pathParam(req, 0, 'symbol');
    const tfGiven = pathParam(req, 1, 'timeframe');
    // Only `limit` is read; other parameters are ignored as the older API did.
    const q = parseQuery(req.getQuery() ?? '', null);
    const limit = intParam(q, 'limit', 1, MAX_LIMIT, DEFAULT_LIMIT);
    const timeframe = parseTimeframe(tfGiven).name;
    const { exchange, symbol } = findSymbol(tw, symbolGiven);
    const v = new BarTextVisitor(streamerCandleJson);
    const count = tw.visitBars(exchange, symbol, timeframe, v, { limit });
    const body =
      '{"success":true,"symbol":' + JSON.stringify(symbol) + ',"timeframe":"' + timeframe + '","count":' + count +
      ',"candles":[' + v.text + '],"timestamp":' + Date.now() + ',"source":' + JSON.stringify(exchange) + '}';
    return { status: 200, body };
  });

  get(app, ctx, '/streamer/status', 'streamer', () => ok({ status: tw.status() }));

  get(app, ctx, '/streamer/available', 'streamer', () => {
    const symbols: Record<string, string[]> = {};
    for (const [exchange, bySymbol] of Object.entries(tw.symbols())) symbols[exchange] = Object.keys(bySymbol);
    return ok({ symbols, timeframes: tw.config.timeframes });
  });

  get(app, ctx, '/streamer/health', 'streamer', () => {
    const h = tw.health();
    if (h.status === 'ok') return ok({ status: 'ok' });
    return {
      status: 503,
      body: JSON.stringify({
        success: false,
        status: 'unavailable',
        error: h.reasons.join('; '),
        error_code: ErrorCode.EXCHANGE_NOT_RUNNING,
        timestamp: Date.now(),
      }),
    };
  });

  app.any('/streamer/*', (res, req) => {
    const what = `${req.getMethod().toUpperCase()} ${req.getUrl()}`;
    ctx.metrics.httpRequest('unmatched', 404);
    writeResponse(res, 404, streamerErrorBody(ErrorCode.NOT_FOUND, `no route for ${what}`));
  });
}

/** The first configured exchange (config order) that lists `symbol`, native or normalized. */
function findSymbol(tw: Tickwire, symbol: string): { exchange: string; symbol: string } {
  for (const exchange of Object.keys(tw.config.exchanges)) {
    try {
      return { exchange, symbol: tw.resolveSymbol(exchange, symbol) };
    } catch (err) {
      if (err instanceof TickwireError && (err.code === ErrorCode.SYMBOL_NOT_FOUND || err.code === ErrorCode.EXCHANGE_NOT_FOUND)) continue;
      throw err;
    }
  }
  throw new TickwireError(ErrorCode.SYMBOL_NOT_FOUND, `symbol ${JSON.stringify(symbol)} is not configured on any exchange`);
}
