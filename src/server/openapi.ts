/**
 * The OpenAPI 3.1 document of the HTTP routes, served as `/openapi.json` and
 * rendered at `/docs`. The WebSocket stream has its own AsyncAPI document
 * (asyncapi.ts); both share the schemas of api-schemas.ts.
 *
 * Adding a route: add its operation to `paths()` (an operationId, a summary, its
 * parameters and every answer it can give, at least one 4xx), then a probe
 * for it in test/server/api-reference.test.ts, which walks every route the
 * server registered and fails on one this document does not describe, and on
 * a documented answer the server does not give as documented.
 *
 * Security (docs/security.md) is added to every non-public operation by
 * `withSecurity`: the schemes, and the 401 and 429 every such route can answer.
 */
import { DEFAULT_CANDLE_LIMIT, MAX_CANDLE_LIMIT } from '../wire/protocol.ts';
import { schemasUsedBy } from './api-schemas.ts';
import { STREAMER_TAG, streamerPaths } from './openapi-streamer.ts';
import { packageVersion } from './package-root.ts';

type Json = Record<string, unknown>;


/** Routes answered without credentials (http-routes.ts); every other one needs them when auth is configured. */
export const PUBLIC_PATHS: readonly string[] = ['/health', '/docs', '/openapi.json', '/asyncapi.json', '/', '/assets/{file}', '/streamer/health'];

const schema = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const error = (description: string): Json => ({ description, content: { 'application/json': { schema: schema('Error') } } });
const streamerError = (description: string): Json => ({ description, content: { 'application/json': { schema: schema('StreamerError') } } });
const json = (body: Json, description = 'OK'): Json => ({ description, content: { 'application/json': { schema: body } } });
const text = (type: string, description: string, body: Json = { type: 'string' }): Json => ({ description, content: { [type]: { schema: body } } });

const BAD_QUERY = error('INVALID_PARAMETER: an unknown or repeated query parameter (only those listed, and `token`, are accepted)');

const symbolParam: Json = {
  name: 'symbol',
  in: 'path',
  required: true,
  description: 'Exchange-native symbol (`BTCUSDT`, url-encoded `XBT%2FUSD`) or normalized `BASE-QUOTE` (`BTC-USDT`).',
  schema: { type: 'string' },
};
const tfParam: Json = {
  name: 'tf',
  in: 'path',
  required: true,
  description: 'Timeframe: 1s 5s 15s 1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w, or M1 M5 M15 M30 H1 H4 D1 W1.',
  schema: { type: 'string' },
};
const limitParam: Json = {
  name: 'limit',
  in: 'query',
  description: 'Newest bars to return (the forming bar counts).',
  schema: { type: 'integer', minimum: 1, maximum: MAX_CANDLE_LIMIT, default: DEFAULT_CANDLE_LIMIT },
};

/** One GET operation. */
function get(operationId: string, tag: string, summary: string, responses: Json, extra: Json = {}): Json {
  return { get: { operationId, tags: [tag], summary, ...extra, responses } };
}

const portfolioParam: Json = { name: 'id', in: 'path', required: true, description: 'A configured portfolio, or a paper strategy’s name (its account as a portfolio)', schema: { type: 'string' } };
const exchangeParam: Json = { name: 'exchange', in: 'path', required: true, description: 'A configured exchange', schema: { type: 'string' } };

/** A live change (admin-routes.ts, docs/operations.md): private, needs the admin scope; answers the changes applied, or why none was. */
function adminOperation(operationId: string, summary: string, parameters: Json[], answers: { '400'?: string; '404'?: string | null } = {}): Json {
  const named = parameters.length > 0;
  const notFound = answers['404'] === undefined ? 'EXCHANGE_NOT_FOUND, SYMBOL_NOT_FOUND' : answers['404'];
  return {
    operationId,
    tags: ['admin'],
    summary,
    description:
      'Needs a credential with the admin scope (token `scopes: [admin]`, JWT `"scope": "admin"`) and `Content-Type: application/json`; refused on an open server.',
    parameters,
    responses: {
      '200': json(schema('ChangesApplied'), 'The changes applied, in order'),
      ...(named ? { '400': error(answers['400'] ?? 'INVALID_PARAMETER: a bad exchange or symbol name') } : {}),
      '403': error('FORBIDDEN: the credential lacks the admin scope'),
      ...(named && notFound !== null ? { '404': error(notFound) } : {}),
      '409': error('CHANGE_REFUSED: refused whole, nothing changed; the message says why'),
    },
  };
}

/** An operator's change to a strategy (pause, resume): admin scope, the strategy's summary after, 409 when it would change nothing. */
function strategyChange(operationId: string, summary: string, answer: string, refused: string): Json {
  return {
    post: {
      operationId,
      tags: ['strategies'],
      summary,
      description: 'Needs a credential with the admin scope (token `scopes: [admin]`, JWT `"scope": "admin"`) and `Content-Type: application/json`; refused on an open server.',
      parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        '200': json(schema('Strategy'), answer),
        '403': error('FORBIDDEN: the credential lacks the admin scope'),
        '404': error('NOT_FOUND: no such strategy'),
        '409': error(`CHANGE_REFUSED: ${refused}; nothing changed`),
      },
    },
  };
}

/** Every HTTP route, by OpenAPI path. */
function paths(): Json {
  return {
    '/health': get('getHealth', 'operations', 'Liveness and readiness', {
      '200': json(schema('Health'), 'Serving (`status: ok`; `warnings` when storage is degraded)'),
      '400': BAD_QUERY,
      '503': json(schema('Health'), 'Not serving: `status: starting` (restore, backfill or the first feed connection not done yet) or `unavailable`, with `reasons`'),
    }),
    '/v1/status': get('getStatus', 'operations', 'Uptime, per-exchange state and counters, storage', {
      '200': json(schema('Status')),
      '400': BAD_QUERY,
    }),
    '/v1/symbols': get('getSymbols', 'market data', 'Configured symbols and timeframes per exchange', {
      '200': json(schema('Symbols')),
      '400': BAD_QUERY,
    }),
    '/v1/latency': get('getLatency', 'operations', 'Latency percentiles (µs): parse and receive_to_publish per exchange; ring_wait (the first frame of a batch received by a worker → the main thread draining the rings it was announced in) and event_loop_delay of the main thread (key main); a cluster edge reports feed_to_store, store_to_edge and edge_publish per exchange instead; a cluster feed serves it too, with the stages of its runtime and outbox_wait, publish_to_ack, send_to_ack (key outbox) (docs/scale-out.md). Every stage counts from the process\'s start; with histograms=true each also carries its HDR histogram (hdr), and two readings subtract into the window between them', {
      '200': json(schema('LatencyReport')),
      '400': BAD_QUERY,
    }, {
      parameters: [
        { name: 'histograms', in: 'query', description: 'Each stage\'s HDR histogram since start too (hdr: HdrHistogram\'s compressed base64), so a reader subtracts two readings into a window.', schema: { enum: ['true', 'false'], default: 'false' } },
      ],
    }),
    '/v1/candles/{exchange}/{symbol}/{tf}': get(
      'getCandles',
      'market data',
      'Bars of one series, oldest first; the forming bar last unless closed=true',
      {
        '200': {
          description: 'Bars',
          content: {
            'application/json': { schema: schema('Candles') },
            'text/csv': { schema: schema('CandlesCsv') },
            'application/x-flatbuffers': {
              schema: {
                type: 'string',
                format: 'binary',
                description: 'format=fbs: a FlatBuffers `Candles` table (schema/candles.fbs, file identifier TWC1) with the same values as the JSON answer.',
              },
            },
          },
        },
        '400': error('INVALID_PARAMETER (a bad or unknown query parameter, start > end) or INVALID_TIMEFRAME'),
        '404': error('EXCHANGE_NOT_FOUND or SYMBOL_NOT_FOUND'),
        '500': error('INTERNAL_ERROR: an unexpected failure (details go to the server log, never to the client)'),
        '503': error('EXCHANGE_NOT_RUNNING'),
      },
      {
        parameters: [
          { name: 'exchange', in: 'path', required: true, description: 'Configured exchange name (`binance`).', schema: { type: 'string' } },
          symbolParam,
          tfParam,
          limitParam,
          { name: 'start', in: 'query', description: 'Earliest open time, epoch ms (inclusive).', schema: { type: 'integer', minimum: 0 } },
          { name: 'end', in: 'query', description: 'Latest open time, epoch ms (inclusive); ≥ start.', schema: { type: 'integer', minimum: 0 } },
          { name: 'format', in: 'query', description: 'json, csv, or fbs (FlatBuffers, schema/candles.fbs).', schema: { enum: ['json', 'csv', 'fbs'], default: 'json' } },
          { name: 'closed', in: 'query', description: 'Only closed bars.', schema: { enum: ['true', 'false'], default: 'false' } },
        ],
      },
    ),
    '/v1/strategies': get('getStrategies', 'strategies', 'Every strategy the caller may read (signals:<name>): series, state, counts, call latency', {
      '200': json({ type: 'object', properties: { strategies: { type: 'array', items: schema('Strategy') } }, required: ['strategies'], additionalProperties: false }),
      '400': BAD_QUERY,
    }),
    '/v1/strategies/{name}': get(
      'getStrategy',
      'strategies',
      'One strategy: its summary, its book (paper and module executors; null for webhook) and its last 100 signals',
      { '200': json(schema('StrategyDetail')), '400': BAD_QUERY, '404': error('NOT_FOUND: no such strategy') },
      { parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }] },
    ),
    '/v1/strategies/{name}/resume': strategyChange(
      'resumeStrategy',
      'Resume a paused strategy (paused by maxErrors failures in a row, or by an operator): it judges again from the next closed bar on; answers its summary',
      'The strategy after the resume (state running, or warming)',
      'the strategy is not paused',
    ),
    '/v1/strategies/{name}/pause': strategyChange(
      'pauseStrategy',
      'Pause a strategy: nothing more is judged (a judgment under way finishes) until it is resumed; its window and features keep following the bars; answers its summary',
      'The strategy after the pause (state paused)',
      'the strategy is paused already',
    ),
    '/v1/feeds': get('getFeeds', 'feeds and portfolios', 'Every price feed: active source, last price, each source’s health, 24-hour figures from 1m bars', {
      '200': json({ type: 'object', properties: { feeds: { type: 'array', items: schema('Feed') } }, required: ['feeds'], additionalProperties: false }),
      '400': BAD_QUERY,
    }),
    '/v1/feeds/{feed}': get(
      'getFeed',
      'feeds and portfolios',
      'One price feed by name (BTC-USD)',
      { '200': json(schema('Feed')), '400': BAD_QUERY, '404': error('NOT_FOUND: no such feed') },
      { parameters: [{ name: 'feed', in: 'path', required: true, schema: { type: 'string' } }] },
    ),
    '/v1/alerts': get('getAlerts', 'feeds and portfolios', 'Alert rules with their state, the last 100 alerts, the webhook’s counts', {
      '200': json(schema('AlertsReport')),
      '400': BAD_QUERY,
    }),
    '/v1/portfolios': get('getPortfolios', 'feeds and portfolios', 'Every portfolio valued now, the configured ones and one per paper strategy (private: a configured credential, never on an open server)', {
      '200': json({ type: 'object', properties: { portfolios: { type: 'array', items: schema('Portfolio') } }, required: ['portfolios'], additionalProperties: false }),
      '400': BAD_QUERY,
    }),
    '/v1/portfolios/{id}': get(
      'getPortfolio',
      'feeds and portfolios',
      'One portfolio valued now (private)',
      { '200': json(schema('Portfolio')), '400': BAD_QUERY, '404': error('NOT_FOUND: no such portfolio') },
      { parameters: [portfolioParam] },
    ),
    '/v1/portfolios/{id}/holdings': {
      put: {
        operationId: 'setHoldings',
        tags: ['feeds and portfolios'],
        summary: 'Replace a portfolio’s holdings: checked whole, stored, then applied; answers the new valuation',
        description: 'Private: a credential with the admin scope and `Content-Type: application/json`. On a cluster edge (`--role edge`) the holdings change on that edge only, in memory (docs/scale-out.md, "What runs where").',
        parameters: [portfolioParam],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { type: 'object', additionalProperties: { type: 'number', minimum: 0 }, maxProperties: 1000 }, example: { BTC: 0.5, USD: 2500 } } },
        },
        responses: {
          '200': json(schema('Portfolio')),
          '400': error('INVALID_PARAMETER: not JSON, over 64 KiB, a negative or non-numeric amount, or an asset nothing prices; nothing changed'),
          '403': error('FORBIDDEN: the credential lacks the admin scope'),
          '404': error('NOT_FOUND: no such portfolio'),
          '409': error('CHANGE_REFUSED: the portfolio of a paper strategy (its executor sets the holdings on every fill); nothing changed'),
        },
      },
    },
    '/v1/admin/exchanges/{exchange}/symbols/{symbol}': {
      post: adminOperation('addSymbol', 'Feed one more symbol on a running exchange, live; the other symbols are not touched', [exchangeParam, symbolParam]),
      delete: adminOperation(
        'removeSymbol',
        'Stop feeding a symbol, live: its channels get a last {"type":"closed","reason":"removed"}; its history stays queryable',
        [exchangeParam, symbolParam],
      ),
    },
    '/v1/admin/exchanges/{exchange}': {
      post: {
        ...adminOperation(
          'addExchange',
          'Feed one more exchange, live, started as at start-up (stored bars restored, backfill when configured, then its connection); the other exchanges are not touched',
          [exchangeParam],
          {
            '400': 'INVALID_CONFIG: the section breaks a config rule (every problem, each named by its key path, e.g. exchanges.okx.symbols[1]) or is not JSON; INVALID_PARAMETER: a bad exchange name, or a body over 1 MiB',
            '404': null,
          },
        ),
        requestBody: {
          required: true,
          description: 'The exchange\'s config section, exactly as under exchanges.<name> in the YAML, as JSON (no ${VAR} substitution); checked by the same rules',
          content: { 'application/json': { schema: schema('ExchangeSection') } },
        },
      },
      delete: adminOperation(
        'removeExchange',
        'Stop feeding an exchange, live: its worker and connections stop, each of its channels with subscribers gets a last {"type":"closed","reason":"removed"}; its candles stay readable until a restart',
        [exchangeParam],
        { '404': 'EXCHANGE_NOT_FOUND: no such exchange is fed' },
      ),
    },
    '/v1/admin/reload': {
      post: adminOperation('reloadConfig', 'Re-read the config file and apply its symbol changes live (as SIGHUP does), loading adapter plugins newly listed under plugins: (docs/plugins.md); anything else that differs, or a plugin that cannot be used, refuses the reload whole', []),
    },
    '/metrics': get('getMetrics', 'operations', 'Prometheus metrics: the library’s registry, then the server’s', {
      '200': text('text/plain', 'Prometheus text format 0.0.4'),
      '500': error('INTERNAL_ERROR: a registry failed to collect'),
    }),
    '/docs': get('getDocs', 'reference', 'This reference, rendered (swagger-ui, served from the package)', {
      '200': {
        description: 'An HTML page; the OpenAPI document itself when the request prefers JSON (`Accept: application/json`, as `/openapi.json`)',
        content: { 'text/html': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } },
      },
      '400': BAD_QUERY,
    }),
    '/openapi.json': get('getOpenApi', 'reference', 'This document (OpenAPI 3.1)', { '200': json({ type: 'object', required: ['openapi', 'paths'] }), '400': BAD_QUERY }),
    '/asyncapi.json': get('getAsyncApi', 'reference', 'The `/v1/stream` WebSocket protocol (AsyncAPI 3.0)', {
      '200': json({ type: 'object', required: ['asyncapi', 'channels'] }),
      '400': BAD_QUERY,
    }),
    '/': get('getDashboard', 'dashboard', 'The trader’s dashboard (HTML; its data calls need credentials when auth is on: open it as `/#token=<token>`)', {
      '200': text('text/html', 'HTML page'),
      '400': BAD_QUERY,
    }),
    '/assets/{file}': get(
      'getAsset',
      'dashboard',
      'Scripts and stylesheets of the dashboard and of /docs (own files by content hash, libraries by version: cached for a year)',
      {
        '200': {
          description: 'The file',
          content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } } },
        },
        '400': BAD_QUERY,
        '404': error('NOT_FOUND: no such asset'),
      },
      { parameters: [{ name: 'file', in: 'path', required: true, description: 'As linked from the pages.', schema: { type: 'string' } }] },
    ),
    '/v1/stream': get(
      'openStream',
      'stream',
      'WebSocket stream (upgrade); its messages are described in /asyncapi.json',
      {
        '101': { description: 'Switching protocols' },
        '400': error('INVALID_PARAMETER: a bad query (`format` other than json or fbs, an unknown parameter)'),
        '503': error(
          'TOO_MANY_CONNECTIONS: the server holds `server.maxConnections`, or this address `server.maxConnectionsPerAddress` (`Retry-After: 1`; retry with backoff); ' +
            'also INTERNAL_ERROR while shutting down',
        ),
      },
      {
        description:
          'JSON text frames by default; `?format=fbs` (or the `tickwire.fbs` subprotocol): FlatBuffers binary frames (schema/stream.fbs). ' +
          'Client ops: `subscribe` (channels, `snapshot`, `since`, `epoch`), `unsubscribe`, `ping`. Channels: `trades:<exchange>:<symbol>`, ' +
          '`quotes:<exchange>:<symbol>`, `bars:<exchange>:<symbol>:<tf>` (with `*` wildcards over symbols) and the rooms `system` and `alerts`. ' +
          'A refused upgrade is an HTTP answer with the JSON error body.',
        parameters: [{ name: 'format', in: 'query', schema: { enum: ['json', 'fbs'], default: 'json' } }],
      },
    ),
    ...streamerPaths(symbolParam, tfParam),
  };
}

function document(): OpenApiDocument {
  return {
    openapi: '3.1.0',
    info: {
      title: 'tickwire',
      version: packageVersion(),
      license: { name: 'MIT', identifier: 'MIT' },
      description:
        'Real-time market-data gateway: candles, status and metrics over HTTP; live trades, quotes and bars over the `/v1/stream` WebSocket ' +
        '(described in AsyncAPI at [/asyncapi.json](/asyncapi.json)). All JSON numbers are numbers; times are epoch milliseconds UTC. ' +
        'Errors: `{"error":{"code","message"}}` with a stable code (the older `/streamer/*` routes keep their own shape).',
    },
    servers: [{ url: '/', description: 'The server that serves this document' }],
    tags: [
      { name: 'market data', description: 'Symbols and candles' },
      { name: 'stream', description: 'The WebSocket upgrade' },
      { name: 'operations', description: 'Health, status, latency, metrics' },
      { name: 'admin', description: 'Live changes (admin scope)' },
      { name: 'strategies', description: 'Predictor → signal → executor on closed bars' },
      { name: 'feeds and portfolios', description: 'Price feeds with failover, portfolios, alert rules' },
      { name: 'reference', description: 'These documents' },
      { name: 'dashboard', description: 'The browser dashboard and its assets' },
      { name: STREAMER_TAG, description: 'The shapes of the older streamer service, for its clients' },
    ],
    paths: paths() as OpenApiDocument['paths'],
    components: {},
  };
}

interface Operation {
  security?: unknown[];
  responses: Record<string, unknown>;
}

interface OpenApiDocument {
  openapi: string;
  info: Json & { description: string };
  servers: Json[];
  tags: Json[];
  paths: Record<string, Record<string, Operation>>;
  components: Json;
  security?: unknown[];
}

/** Security schemes (docs/security.md): bearer token or JWT, or `?token=`; 401 and 429 on every private operation. */
function withSecurity(doc: OpenApiDocument): OpenApiDocument {
  doc.info.description +=
    ' When the server has tokens or a JWT configured, every route but /health, /streamer/health, /docs, /openapi.json, /asyncapi.json, / and /assets needs ' +
    '`Authorization: Bearer <token or JWT>` (or `?token=`; on the WebSocket also the `bearer.<token>` subprotocol), ' +
    'answers 401 UNAUTHORIZED without it, and 429 RATE_LIMITED with Retry-After past the per-client request rate.';
  doc.components['securitySchemes'] = {
    bearer: { type: 'http', scheme: 'bearer', description: 'An API token, or a JWT (optional `channels` claim).' },
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
      const streamer = path.startsWith('/streamer/');
      const refused = (description: string): Json => (streamer ? streamerError(description) : error(description));
      op.responses['401'] ??= refused('UNAUTHORIZED: missing or bad credentials, a disallowed origin, or a channel the token may not read');
      op.responses['429'] ??= refused(
        path === '/v1/stream'
          ? 'RATE_LIMITED: too many failed authentications from this address, or too many JWT checks in flight (`Retry-After`)'
          : 'RATE_LIMITED: request rate exceeded (`auth.httpRate`), with Retry-After in seconds',
      );
    }
  }
  return doc;
}

/** The document as JSON text (built once by the caller). */
export function openApiJson(): string {
  const doc = withSecurity(document());
  doc.components['schemas'] = schemasUsedBy(doc.paths);
  return JSON.stringify(doc);
}
