/**
 * The older streamer HTTP API, `/streamer/*`, exactly as its clients read it
 * (docs/streamer-api.md): `success` flags, `error_code`, candles with `time`
 * in epoch seconds, `timestamp` as ISO-8601 UTC, `source: "streamer_buffer"`,
 * `limit` 1–500 (default 50), timeframes echoed as asked. What the routes
 * answer from is streamer-view.ts; access checks, rate limits and the error
 * body come from http-routes.ts, through `get`.
 *
 * Formats (`format=`): `dict` (default) answers each candle as an object;
 * `list` as `[time, open, high, low, close, volume, spread]`. Anything else
 * is INVALID_PARAMETER. Unknown query parameters are INVALID_PARAMETER too
 * (the older service ignored them, which hid typos such as `limt=`); `token`
 * is accepted everywhere.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { ErrorCode, showValue, TickwireError } from '../errors.ts';
import { parseTimeframe } from '../model/timeframes.ts';
import { BarTextVisitor, streamerCandleJson, streamerCandleList } from '../wire/json.ts';
import { requireChannel } from './auth.ts';
import type { Access, HttpContext, Reply } from './http-routes.ts';
import { JSON_TYPE, choiceParam, intParam, parseQuery, pathParam, writeResponse, type RouteRequest } from './http-util.ts';
import type { Principal } from './principal.ts';
import { StreamerView, isoSeconds } from './streamer-view.ts';

/** Candles per answer unless `limit` says otherwise, and the most `limit` may ask. */
export const STREAMER_DEFAULT_LIMIT = 50;
export const STREAMER_MAX_LIMIT = 500;
/** Accepted `format=` values; `dict` is the default. */
export const STREAMER_FORMATS = ['dict', 'list'] as const;
const CANDLE_PARAMS = ['limit', 'format', 'token'] as const;
const NO_PARAMS = ['token'] as const;
const noParams = (req: RouteRequest): void => void parseQuery(req.getQuery() ?? '', NO_PARAMS);

/** Registers a GET route in the streamer's error shape, with `access` checked first. */
export type StreamerGet = (pattern: string, access: Access, handler: (req: RouteRequest, who: Principal) => Reply) => void;

/** Register `/streamer/*` on `app`; `errorBody` writes the API's error shape for its 404. */
export function registerStreamerRoutes(app: TemplatedApp, ctx: HttpContext, get: StreamerGet, errorBody: (code: string, message: string) => string): void {
  const tw = ctx.tickwire;
  const view = new StreamerView(tw);

  get('/streamer/candles/:symbol/:tf', 'market', (req, who) => {
    const symbolGiven = pathParam(req, 0, 'symbol');
    const tfGiven = pathParam(req, 1, 'timeframe');
    const q = parseQuery(req.getQuery() ?? '', CANDLE_PARAMS);
    const limit = intParam(q, 'limit', 1, STREAMER_MAX_LIMIT, STREAMER_DEFAULT_LIMIT);
    const format = choiceParam(q, 'format', STREAMER_FORMATS, 'dict');
    const timeframe = parseTimeframe(tfGiven).name;
    const { exchange, symbol } = view.locate(symbolGiven);
    requireChannel(who, 'bars:' + exchange + ':' + symbol + ':' + timeframe);
    view.requireRunning(exchange);
    const v = new BarTextVisitor(format === 'dict' ? streamerCandleJson : streamerCandleList);
    let count: number;
    try {
      count = tw.visitBars(exchange, symbol, timeframe, v, { limit });
    } catch (err) {
      if (err instanceof TickwireError && err.code === ErrorCode.EXCHANGE_NOT_RUNNING) {
        throw new TickwireError(ErrorCode.STREAMER_NOT_RUNNING, `streamer not running: ${err.message}`, { cause: err });
      }
      throw err;
    }
    const body =
      '{"success":true,"symbol":' + JSON.stringify(symbolGiven) + ',"timeframe":' + JSON.stringify(tfGiven) + ',"count":' + count +
      ',"candles":[' + v.text + '],"timestamp":"' + isoSeconds(view.now()) + '","source":"streamer_buffer"}';
    return { status: 200, body };
  });

  get('/streamer/status', 'market', (req) => (noParams(req), {
    status: 200,
    body: JSON.stringify({ success: true, ...view.status(), timestamp: isoSeconds(view.now()) }),
  }));

  get('/streamer/available', 'market', (req) => (noParams(req), { status: 200, body: JSON.stringify(view.available()) }));

  get('/streamer/health', 'public', (req) => {
    noParams(req);
    const h = tw.health();
    const { at, buffers } = view.buffers();
    const checked = { buffer_status: buffers, last_check: isoSeconds(at), timestamp: isoSeconds(view.now()) };
    if (h.status === 'ok') return { status: 200, body: JSON.stringify({ success: true, status: 'ok', ...checked }) };
    const starting = view.exchanges().every((name) => view.readiness(name) !== 'not_running');
    const body = {
      success: false,
      status: 'unavailable',
      error: h.reasons.join('; '),
      error_code: starting ? ErrorCode.STREAMER_NOT_INITIALIZED : ErrorCode.STREAMER_NOT_RUNNING,
      ...checked,
    };
    return { status: 503, body: JSON.stringify(body) };
  });

  app.any('/streamer/*', (res, req) => {
    const what = showValue(`${req.getMethod().toUpperCase()} ${req.getUrl()}`);
    ctx.metrics.httpRequest('unmatched', 404);
    writeResponse(res, 404, errorBody(ErrorCode.NOT_FOUND, `no route for ${what}`), JSON_TYPE, ctx.cors.responseHeaders(req.getHeader('origin')));
  });
}
