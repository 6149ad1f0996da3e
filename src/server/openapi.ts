/**
 * `/docs`: an OpenAPI 3.1 description of the HTTP routes (the WebSocket
 * protocol is summarised in the `/v1/stream` entry's description). Built once.
 */
import { DEFAULT_CANDLE_LIMIT, MAX_CANDLE_LIMIT } from '../wire/protocol.ts';

const error = { $ref: '#/components/responses/Error' };
const number = { type: 'number' };
const integer = { type: 'integer' };
const nullableNumber = { type: ['number', 'null'] };

const symbolParam = {
  name: 'symbol',
  in: 'path',
  required: true,
  description: 'Exchange-native symbol (`BTCUSDT`, url-encoded `XBT%2FUSD`) or normalized `BASE-QUOTE` (`BTC-USDT`).',
  schema: { type: 'string' },
};
const tfParam = {
  name: 'tf',
  in: 'path',
  required: true,
  description: 'Timeframe: 1s 5s 15s 1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w, or M1 M5 M15 M30 H1 H4 D1 W1.',
  schema: { type: 'string' },
};
const limitParam = {
  name: 'limit',
  in: 'query',
  description: 'Newest bars to return (the forming bar counts).',
  schema: { type: 'integer', minimum: 1, maximum: MAX_CANDLE_LIMIT, default: DEFAULT_CANDLE_LIMIT },
};

function json(schema: object, description = 'OK'): object {
  return { description, content: { 'application/json': { schema } } };
}

function document(): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'tickwire',
      version: '0.1.0',
      description:
        'Real-time market-data gateway. All JSON numbers are numbers; times are epoch milliseconds UTC. ' +
        'Errors: `{"error":{"code","message"}}` with a stable code.',
    },
    paths: {
      '/health': {
        get: {
          summary: 'Liveness and readiness',
          responses: {
            '200': json({ type: 'object', properties: { status: { const: 'ok' } }, required: ['status'] }),
            '503': json(
              {
                type: 'object',
                properties: { status: { const: 'unavailable' }, reasons: { type: 'array', items: { type: 'string' } } },
                required: ['status', 'reasons'],
              },
              'Not serving',
            ),
          },
        },
      },
      '/v1/status': {
        get: { summary: 'Uptime and per-exchange state', responses: { '200': json({ $ref: '#/components/schemas/Status' }), '500': error } },
      },
      '/v1/symbols': {
        get: {
          summary: 'Configured symbols and timeframes per exchange',
          responses: {
            '200': json({
              type: 'object',
              properties: {
                exchanges: {
                  type: 'object',
                  additionalProperties: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
                },
              },
              required: ['exchanges'],
            }),
          },
        },
      },
      '/v1/latency': {
        get: {
          summary: 'Latency percentiles (µs) per stage: parse and receive_to_publish per exchange, event_loop_delay of the main thread (key main)',
          responses: {
            '200': json({
              type: 'object',
              additionalProperties: { type: 'object', additionalProperties: { $ref: '#/components/schemas/Latency' } },
            }),
          },
        },
      },
      '/v1/candles/{exchange}/{symbol}/{tf}': {
        get: {
          summary: 'Bars of one series, oldest first; the forming bar last unless closed=true',
          parameters: [
            { name: 'exchange', in: 'path', required: true, schema: { type: 'string' } },
            symbolParam,
            tfParam,
            limitParam,
            { name: 'start', in: 'query', description: 'Earliest open time, epoch ms (inclusive).', schema: { type: 'integer', minimum: 0 } },
            { name: 'end', in: 'query', description: 'Latest open time, epoch ms (inclusive); ≥ start.', schema: { type: 'integer', minimum: 0 } },
            { name: 'format', in: 'query', description: 'fbs: FlatBuffers, table Candles of schema/candles.fbs.', schema: { enum: ['json', 'csv', 'fbs'], default: 'json' } },
            { name: 'closed', in: 'query', description: 'Only closed bars.', schema: { enum: ['true', 'false'], default: 'false' } },
          ],
          responses: {
            '200': {
              description: 'Bars',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      exchange: { type: 'string' },
                      symbol: { type: 'string', description: 'Exchange-native symbol' },
                      timeframe: { type: 'string', description: 'Canonical timeframe' },
                      count: integer,
                      candles: { type: 'array', items: { $ref: '#/components/schemas/Bar' } },
                    },
                    required: ['exchange', 'symbol', 'timeframe', 'count', 'candles'],
                  },
                },
                'text/csv': {
                  schema: {
                    type: 'string',
                    description:
                      'Header `openTime,closeTime,open,high,low,close,volume,quoteVolume,buyVolume,sellVolume,trades,vwap,spread,closed,revision`, one line per bar; null is an empty field.',
                  },
                },
                'application/x-flatbuffers': {
                  schema: {
                    type: 'string',
                    format: 'binary',
                    description: 'format=fbs: a FlatBuffers `Candles` table (schema/candles.fbs, file identifier TWC1) with the same values as the JSON answer.',
                  },
                },
              },
            },
            '400': error,
            '404': error,
            '503': error,
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: { '200': { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/docs': { get: { summary: 'This document', responses: { '200': json({ type: 'object' }) } } },
      '/': {
        get: { summary: 'Live dashboard', responses: { '200': { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } } } },
      },
      '/v1/stream': {
        get: {
          summary: 'WebSocket stream (upgrade)',
          description:
            'JSON text frames. Client ops: `{"op":"subscribe","id","channels":[...],"snapshot":N}`, `{"op":"unsubscribe","id","channels"}`, ' +
            '`{"op":"ping","id"}`. Channels: `trades:<exchange>:<symbol>`, `quotes:<exchange>:<symbol>`, `bars:<exchange>:<symbol>:<tf>`. ' +
            'Server messages: `subscribed`, `unsubscribed`, `pong`, `snapshot` (bars channels, before any live message of the channel), ' +
            '`trade`, `quote`, `bar` (each with a per-channel `seq`), `gap` (`fromSeq`..`toSeq` not delivered), `system` and `alert` (rooms) ' +
            'and `error` (`id`, `code`, `message`). `?format=fbs` (or the `tickwire.fbs` subprotocol): FlatBuffers binary frames (schema/stream.fbs). ' +
            'A refused upgrade is an HTTP answer with the JSON error body.',
          responses: {
            '101': { description: 'Switching protocols' },
            '400': error,
            '401': { ...error, description: 'UNAUTHORIZED: missing or bad credentials, or a disallowed origin' },
            '429': { ...error, description: 'RATE_LIMITED: too many failed authentications from this address, or too many JWT checks in flight (`Retry-After`)' },
            '503': {
              ...error,
              description:
                'TOO_MANY_CONNECTIONS: the server holds `server.maxConnections`, or this address `server.maxConnectionsPerAddress` (`Retry-After: 1`; retry with backoff); ' +
                'also INTERNAL_ERROR while shutting down',
            },
          },
        },
      },
      '/streamer/candles/{symbol}/{tf}': {
        get: {
          summary: 'Older streamer API: candles of the first configured exchange listing the symbol',
          parameters: [symbolParam, tfParam, limitParam],
          responses: {
            '200': json({
              type: 'object',
              properties: {
                success: { const: true },
                symbol: { type: 'string' },
                timeframe: { type: 'string' },
                count: integer,
                candles: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      time: { type: 'number', description: 'Open time, epoch seconds' },
                      open: number, high: number, low: number, close: number, volume: number, spread: nullableNumber,
                    },
                  },
                },
                timestamp: integer,
                source: { type: 'string', description: 'Exchange' },
              },
            }),
            '400': { $ref: '#/components/responses/StreamerError' },
            '404': { $ref: '#/components/responses/StreamerError' },
          },
        },
      },
      '/streamer/status': { get: { summary: 'Older streamer API: status', responses: { '200': json({ type: 'object' }) } } },
      '/streamer/available': { get: { summary: 'Older streamer API: symbols per exchange and timeframes', responses: { '200': json({ type: 'object' }) } } },
      '/streamer/health': { get: { summary: 'Older streamer API: health', responses: { '200': json({ type: 'object' }), '503': json({ type: 'object' }, 'Not serving') } } },
    },
    components: {
      schemas: {
        Bar: {
          type: 'object',
          properties: {
            openTime: integer, closeTime: integer, open: number, high: number, low: number, close: number,
            volume: number, quoteVolume: number, buyVolume: number, sellVolume: number, trades: integer,
            vwap: nullableNumber, spread: nullableNumber, closed: { type: 'boolean' }, revision: integer,
          },
          required: [
            'openTime', 'closeTime', 'open', 'high', 'low', 'close', 'volume', 'quoteVolume', 'buyVolume',
            'sellVolume', 'trades', 'vwap', 'spread', 'closed', 'revision',
          ],
        },
        Latency: {
          type: 'object',
          properties: { p50: number, p90: number, p99: number, p999: number, max: number, count: integer },
        },
        Status: {
          type: 'object',
          properties: {
            uptimeMs: number,
            exchanges: { type: 'object', additionalProperties: { type: 'object' } },
            cluster: {
              type: 'object',
              description: '`--role feed|edge` only (docs/scale-out.md): this process\'s view of the NATS cluster.',
              properties: {
                role: { enum: ['feed', 'edge'] },
                name: { type: 'string' },
                epoch: { type: 'string', description: 'The cluster data\'s epoch, as `subscribed` carries it on every edge.' },
                connected: { type: 'boolean' },
                server: { type: ['string', 'null'] },
                degraded: { type: 'boolean', description: 'Edge: serving what it has (NATS unreachable, or catching up after a reconnect).' },
                degradedSince: { type: ['number', 'null'] },
                leases: {
                  type: 'object',
                  description: 'Feed: each exchange\'s publisher lease.',
                  additionalProperties: {
                    type: 'object',
                    properties: { state: { enum: ['leader', 'standby'] }, term: { type: ['number', 'null'] }, since: { type: ['number', 'null'] } },
                  },
                },
                consumers: {
                  type: 'object',
                  description: 'Edge: lag of each JetStream consumer (live, bars).',
                  additionalProperties: { type: 'object', properties: { lagMessages: number, lagMs: number, delivered: number } },
                },
                messages: number,
                dropped: number,
                leaderChanges: number,
              },
            },
          },
        },
        Error: {
          type: 'object',
          properties: {
            error: {
              type: 'object',
              properties: {
                code: {
                  enum: [
                    'EXCHANGE_NOT_FOUND', 'SYMBOL_NOT_FOUND', 'INVALID_TIMEFRAME', 'INVALID_PARAMETER',
                    'EXCHANGE_NOT_RUNNING', 'INTERNAL_ERROR', 'NOT_FOUND', 'UNAUTHORIZED', 'RATE_LIMITED', 'TOO_MANY_CONNECTIONS',
                  ],
                },
                message: { type: 'string' },
              },
              required: ['code', 'message'],
            },
          },
          required: ['error'],
        },
      },
      responses: {
        Error: { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        StreamerError: {
          description: 'Error (older streamer shape)',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: { success: { const: false }, error: { type: 'string' }, error_code: { type: 'string' } },
              },
            },
          },
        },
      },
    },
  };
}

/** The document as JSON text. */
export function openApiJson(): string {
  return JSON.stringify(withSecurity(document() as OpenApiDocument));
}

interface OpenApiDocument {
  info: { description: string };
  paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
  components: Record<string, unknown>;
  security?: unknown[];
}

/** Routes answered without credentials (http-routes.ts); every other one needs them when auth is configured. */
const PUBLIC_PATHS = ['/health', '/docs', '/', '/streamer/health'];

/** Security schemes (README "Security"): bearer token or HS256 JWT, or `?token=`; 401 and 429 on every private operation. */
function withSecurity(doc: OpenApiDocument): OpenApiDocument {
  doc.info.description +=
    ' When the server has tokens or a JWT secret configured, every route but /health, /streamer/health, /docs and / needs ' +
    '`Authorization: Bearer <token or JWT>` (or `?token=`; on the WebSocket also the `bearer.<token>` subprotocol), ' +
    'answers 401 UNAUTHORIZED without it, and 429 RATE_LIMITED with Retry-After past the per-client request rate.';
  doc.components['securitySchemes'] = {
    bearer: { type: 'http', scheme: 'bearer', description: 'An API token, or an HS256 JWT (optional `channels` claim).' },
    queryToken: { type: 'apiKey', in: 'query', name: 'token', description: 'The same credential in the URL (browsers’ WebSocket).' },
  };
  // `{}`: an open server (no tokens, no jwt) needs no credential.
  doc.security = [{ bearer: [] }, { queryToken: [] }, {}];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const op of Object.values(ops)) {
      if (PUBLIC_PATHS.includes(path)) {
        op.security = [];
        continue;
      }
      op.responses['401'] ??= { description: 'Missing or bad credentials, or a channel the token may not read (UNAUTHORIZED)' };
      if (path !== '/v1/stream') op.responses['429'] ??= { description: 'Request rate exceeded (RATE_LIMITED), with Retry-After in seconds' };
    }
  }
  return doc;
}
