/**
 * The `/streamer/*` part of the OpenAPI document (openapi.ts): its paths and
 * the schemas of every answer, strict (every field required, no others), so
 * the conformance test (test/server/streamer-api.test.ts) checks live answers
 * against the very document `/docs` serves.
 */
import { ErrorCode } from '../errors.ts';
import { STREAMER_DEFAULT_LIMIT, STREAMER_FORMATS, STREAMER_MAX_LIMIT } from './streamer-routes.ts';

const number = { type: 'number' };
const integer = { type: 'integer' };
const iso = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$', description: 'ISO-8601 UTC, to the second' };
const ref = (name: string): object => ({ $ref: `#/components/schemas/${name}` });

/** A strict object: these properties, all required, no others. */
function strict(properties: Record<string, object>): object {
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false };
}

function answer(schema: object, description: string): object {
  return { description, content: { 'application/json': { schema } } };
}

const STREAMER_CODES = [
  ErrorCode.STREAMER_NOT_INITIALIZED, ErrorCode.STREAMER_NOT_RUNNING, ErrorCode.INVALID_TIMEFRAME, ErrorCode.SYMBOL_NOT_FOUND,
  ErrorCode.INVALID_PARAMETER, ErrorCode.INTERNAL_ERROR, ErrorCode.NOT_FOUND, ErrorCode.UNAUTHORIZED, ErrorCode.RATE_LIMITED,
];

/** Schemas of the streamer answers, by name (components.schemas). */
export const STREAMER_SCHEMAS: Record<string, object> = {
  StreamerCandle: strict({
    time: { ...integer, description: 'Open time, epoch seconds' },
    open: number, high: number, low: number, close: number, volume: number,
    spread: { ...number, description: 'Mean quoted spread in the bar (price units); 0 when no quotes flowed' },
  }),
  StreamerCandles: strict({
    success: { const: true },
    symbol: { type: 'string', description: 'As asked' },
    timeframe: { type: 'string', description: 'As asked (M1, H1…)' },
    count: integer,
    candles: {
      type: 'array',
      description: 'Oldest first, the forming bar last. `format=list`: each candle is [time, open, high, low, close, volume, spread].',
      items: { oneOf: [ref('StreamerCandle'), { type: 'array', items: number, minItems: 7, maxItems: 7 }] },
    },
    timestamp: iso,
    source: { const: 'streamer_buffer' },
  }),
  StreamerStatus: strict({
    success: { const: true },
    running: { type: 'boolean', description: 'Every served exchange is running' },
    status: { enum: ['running', 'initializing', 'degraded', 'stopped'] },
    symbols: { type: 'array', items: { type: 'string' } },
    timeframes: { type: 'array', items: { type: 'string' } },
    metrics: strict({
      uptime_seconds: integer, symbols: integer, messages: integer, trades: integer, quotes: integer,
      reconnects: integer, parse_errors: integer, ring_overflow: integer,
      exchanges: {
        type: 'object',
        additionalProperties: strict({
          status: { enum: ['running', 'not_initialized', 'not_running'] },
          state: { type: 'string' },
          last_message_age_ms: { type: ['integer', 'null'] },
          message_rate: number, messages: integer, trades: integer, quotes: integer, reconnects: integer,
        }),
      },
    }),
    timestamp: iso,
  }),
  StreamerAvailable: { type: 'object', description: 'Symbol → timeframes (M1…)', additionalProperties: { type: 'array', items: { type: 'string' } } },
  StreamerBuffers: {
    type: 'object',
    description: 'Per symbol, per timeframe: bars held and the newest bar’s open time (epoch seconds, null when none)',
    additionalProperties: { type: 'object', additionalProperties: strict({ bars: integer, newest_time: { type: ['integer', 'null'] } }) },
  },
  StreamerHealth: strict({
    success: { const: true },
    status: { const: 'ok' },
    buffer_status: ref('StreamerBuffers'),
    last_check: iso,
    timestamp: iso,
  }),
  StreamerUnhealthy: strict({
    success: { const: false },
    status: { const: 'unavailable' },
    error: { type: 'string' },
    error_code: { enum: [ErrorCode.STREAMER_NOT_INITIALIZED, ErrorCode.STREAMER_NOT_RUNNING] },
    buffer_status: ref('StreamerBuffers'),
    last_check: iso,
    timestamp: iso,
  }),
  StreamerError: strict({ success: { const: false }, error: { type: 'string' }, error_code: { enum: STREAMER_CODES } }),
};

const streamerError = (description: string): object => answer(ref('StreamerError'), description);
const BAD_QUERY = streamerError('INVALID_PARAMETER: an unknown query parameter (only `token` is accepted)');
/** The OpenAPI tag of these operations. */
export const STREAMER_TAG = 'older streamer API';
const TAG = STREAMER_TAG;

/** The `/streamer/*` paths; `symbol` and `tf` are the document's shared path parameters. */
export function streamerPaths(symbolParam: object, tfParam: object): Record<string, object> {
  return {
    '/streamer/candles/{symbol}/{tf}': {
      get: {
        operationId: 'getStreamerCandles',
        tags: [TAG],
        summary: 'Older streamer API: candles (docs/streamer-api.md)',
        description: 'Served by `streamer.exchange` when set, else by the first exchange in config order listing the symbol.',
        parameters: [
          symbolParam,
          tfParam,
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: STREAMER_MAX_LIMIT, default: STREAMER_DEFAULT_LIMIT } },
          { name: 'format', in: 'query', schema: { enum: [...STREAMER_FORMATS], default: 'dict' } },
        ],
        responses: {
          '200': answer(ref('StreamerCandles'), 'Candles'),
          '400': streamerError('INVALID_TIMEFRAME or INVALID_PARAMETER (limit, format, an unknown query parameter)'),
          '404': streamerError('SYMBOL_NOT_FOUND'),
          '500': streamerError('INTERNAL_ERROR'),
          '503': streamerError('STREAMER_NOT_INITIALIZED (no data from the exchange yet) or STREAMER_NOT_RUNNING (stopped, circuit open, or silent past its staleness window)'),
        },
      },
    },
    '/streamer/status': {
      get: {
        operationId: 'getStreamerStatus',
        tags: [TAG],
        summary: 'Older streamer API: running status, symbols, timeframes, metrics',
        responses: { '200': answer(ref('StreamerStatus'), 'Status'), '400': BAD_QUERY },
      },
    },
    '/streamer/available': {
      get: {
        operationId: 'getStreamerAvailable',
        tags: [TAG],
        summary: 'Older streamer API: symbol → timeframes',
        responses: { '200': answer(ref('StreamerAvailable'), 'Symbols'), '400': BAD_QUERY },
      },
    },
    '/streamer/health': {
      get: {
        operationId: 'getStreamerHealth',
        tags: [TAG],
        summary: 'Older streamer API: health, buffer status and last check time',
        responses: { '200': answer(ref('StreamerHealth'), 'Serving'), '400': BAD_QUERY, '503': answer(ref('StreamerUnhealthy'), 'Not serving') },
      },
    },
  };
}
