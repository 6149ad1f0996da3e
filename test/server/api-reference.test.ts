/**
 * The OpenAPI document (`/openapi.json`) against the real server:
 *
 *  1. lint: non-empty servers, a unique operationId, a summary and a 4xx
 *     answer on every operation, declared path parameters, resolvable $refs,
 *     declared tags and security schemes (the rules `redocly lint` reports);
 *  2. every route the server registered (`TickwireServer.routes`) is
 *     documented — a route added without its documentation fails here, by
 *     name;
 *  3. every operation has probes (PROBES below), each probe's answer (status,
 *     content type, body against the schema, the CSV header, every Bar field)
 *     is as documented, and every documented answer is given by some probe.
 *
 * Adding a route: document it in src/server/openapi.ts, then add its probes
 * to PROBES under its operationId: the first probe of an operation must
 * succeed (2xx; the 401 and 429 walks reuse it), the others give each
 * documented error. A probe can set up state first (`arrange`, undone after)
 * and send a method and a JSON body.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthConfig } from '../../src/config/types.ts';
import { ErrorCode, TickwireError } from '../../src/errors.ts';
import { hashToken } from '../../src/server/auth.ts';
import { BAR_CSV_HEADER } from '../../src/wire/json.ts';
import { makeBar } from '../support/fake-tickwire.ts';
import { danglingRefs, pointer, SchemaChecker, unusedSchemas, type Doc } from '../support/api-documents.ts';
import { attemptUpgrade, startServer, type Running } from './helpers.ts';

/** The installed lightweight-charts, whose file the server serves under its version. */
const CHARTS_VERSION = (createRequire(import.meta.url)('lightweight-charts/package.json') as { version: string }).version;
const MIN = 60_000;
const T0 = Date.UTC(2024, 7, 9, 0, 0);
const ALICE = 'alice-api-reference-token-0123456789';
const OPS = 'ops-api-reference-token-with-the-admin-scope';
const asOps = { authorization: `Bearer ${OPS}` };
const asAlice = { authorization: `Bearer ${ALICE}` };
/** What the `admin` server's reload does: refuse when set. */
let reloadRefuses = false;

const guardedAuth = (extra: Partial<AuthConfig> = {}): AuthConfig => ({
  tokens: [{ name: 'alice', sha256: hashToken(ALICE), channels: ['*'] }],
  jwt: undefined,
  allowOpen: false,
  httpRate: null,
  ...extra,
});

/**
 * Servers: `open` (no auth), `guarded` (a token, one request per ~15 min after the first), `capped` (one WebSocket),
 * `throttled` (one failed authentication per ~15 min), `admin` (tokens with and without the admin scope, a reload).
 */
type ServerName = 'open' | 'guarded' | 'capped' | 'throttled' | 'admin';
const servers = {} as Record<ServerName, Running>;

interface Probe {
  what: string;
  /** Path and query, as sent. */
  path: string;
  server?: ServerName;
  /** Default GET. A request with a body sends it as JSON (`Content-Type: application/json`, as private routes require). */
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  /** A body sent as it is, with `Content-Type: application/json` (a malformed one). */
  rawBody?: string;
  headers?: Record<string, string>;
  /** A WebSocket upgrade instead of a plain GET. */
  upgrade?: boolean;
  /** Set up before the request; the returned function undoes it after. */
  arrange?: () => Promise<(() => void) | void> | (() => void) | void;
}

interface Answer {
  status: number;
  contentType: string;
  body: Buffer;
}

const tw = () => servers.open.tw;

/** The admin server's exchange `name` comes back as it was after the probe removed it. */
function restoreAfter(name: string): () => void {
  const config = servers.admin.tw.config;
  const saved = config.exchanges[name]!;
  return () => void (config.exchanges[name] = saved);
}

/** The admin server's `/streamer` serves `exchange` during the probe (which makes it not removable). */
function streamerServes(exchange: string): () => void {
  const config = servers.admin.tw.config;
  const before = config.streamer;
  config.streamer = { exchange };
  return () => void (config.streamer = before);
}

/** Set the state of the admin server's strategy `stuck` (the resume probes). */
function stuckState(state: 'paused' | 'running'): void {
  servers.admin.tw.strategyDetails.find((d) => d.name === 'stuck')!.state = state;
}

/** Requests per operationId; the first of each succeeds. */
const PROBES: Record<string, Probe[]> = {
  getHealth: [
    { what: 'ok', path: '/health' },
    { what: 'unavailable', path: '/health', arrange: () => ((tw().healthReport = { status: 'unavailable', reasons: ['binance: not connected'] }), () => void (tw().healthReport = { status: 'ok', reasons: [] })) },
    { what: 'unknown parameter', path: '/health?verbose=1' },
  ],
  getStatus: [{ what: 'status', path: '/v1/status' }, { what: 'unknown parameter', path: '/v1/status?x=1' }],
  getSymbols: [{ what: 'symbols', path: '/v1/symbols' }, { what: 'unknown parameter', path: '/v1/symbols?exchange=binance' }],
  getLatency: [{ what: 'latency', path: '/v1/latency' }, { what: 'with histograms', path: '/v1/latency?histograms=true' }, { what: 'unknown parameter', path: '/v1/latency?stage=parse' }],
  getCandles: [
    { what: 'json, with a gapped backfilled bar and the forming bar', path: '/v1/candles/binance/BTCUSDT/1m?limit=10' },
    { what: 'csv', path: '/v1/candles/binance/BTCUSDT/1m?format=csv' },
    { what: 'flatbuffers', path: '/v1/candles/binance/BTCUSDT/1m?format=fbs&limit=3' },
    { what: 'bad limit', path: '/v1/candles/binance/BTCUSDT/1m?limit=0' },
    { what: 'bad timeframe', path: '/v1/candles/binance/BTCUSDT/7m' },
    { what: 'unknown exchange', path: '/v1/candles/nope/BTCUSDT/1m' },
    { what: 'unknown symbol', path: '/v1/candles/binance/NOPE/1m' },
    { what: 'exchange not running', path: '/v1/candles/kraken/XBT%2FUSD/1m', arrange: () => (tw().notRunning.add('kraken'), () => void tw().notRunning.delete('kraken')) },
    { what: 'unexpected failure', path: '/v1/candles/binance/ETHUSDT/1m', arrange: () => ((tw().failure = new Error('disk on fire')), () => void (tw().failure = undefined)) },
  ],
  getStrategies: [{ what: 'strategies', path: '/v1/strategies' }, { what: 'unknown parameter', path: '/v1/strategies?x=1' }],
  getStrategy: [
    { what: 'one strategy', path: '/v1/strategies/sma' },
    { what: 'unknown parameter', path: '/v1/strategies/sma?x=1' },
    { what: 'no such strategy', path: '/v1/strategies/nope' },
  ],
  resumeStrategy: [
    { what: 'resumed', server: 'admin', method: 'POST', path: '/v1/strategies/stuck/resume', body: {}, headers: asOps, arrange: () => (stuckState('paused'), () => stuckState('paused')) },
    { what: 'without the admin scope', server: 'admin', method: 'POST', path: '/v1/strategies/stuck/resume', body: {}, headers: asAlice },
    { what: 'no such strategy', server: 'admin', method: 'POST', path: '/v1/strategies/nope/resume', body: {}, headers: asOps },
    { what: 'not paused', server: 'admin', method: 'POST', path: '/v1/strategies/stuck/resume', body: {}, headers: asOps, arrange: () => (stuckState('running'), () => stuckState('paused')) },
  ],
  pauseStrategy: [
    { what: 'paused', server: 'admin', method: 'POST', path: '/v1/strategies/stuck/pause', body: {}, headers: asOps, arrange: () => (stuckState('running'), () => stuckState('paused')) },
    { what: 'without the admin scope', server: 'admin', method: 'POST', path: '/v1/strategies/stuck/pause', body: {}, headers: asAlice },
    { what: 'no such strategy', server: 'admin', method: 'POST', path: '/v1/strategies/nope/pause', body: {}, headers: asOps },
    { what: 'paused already', server: 'admin', method: 'POST', path: '/v1/strategies/stuck/pause', body: {}, headers: asOps },
  ],
  getFeeds: [{ what: 'feeds', path: '/v1/feeds' }, { what: 'unknown parameter', path: '/v1/feeds?x=1' }],
  getFeed: [
    { what: 'one feed', path: '/v1/feeds/BTC-USD' },
    { what: 'unknown parameter', path: '/v1/feeds/BTC-USD?x=1' },
    { what: 'no such feed', path: '/v1/feeds/NOPE-USD' },
  ],
  getAlerts: [{ what: 'alerts', path: '/v1/alerts' }, { what: 'unknown parameter', path: '/v1/alerts?x=1' }],
  getPortfolios: [
    { what: 'portfolios', server: 'admin', path: '/v1/portfolios', headers: asAlice },
    { what: 'unknown parameter', server: 'admin', path: '/v1/portfolios?x=1', headers: asAlice },
  ],
  getPortfolio: [
    { what: 'one portfolio', server: 'admin', path: '/v1/portfolios/main', headers: asAlice },
    { what: 'unknown parameter', server: 'admin', path: '/v1/portfolios/main?x=1', headers: asAlice },
    { what: 'no such portfolio', server: 'admin', path: '/v1/portfolios/nope', headers: asAlice },
  ],
  setHoldings: [
    { what: 'set', server: 'admin', method: 'PUT', path: '/v1/portfolios/main/holdings', body: { BTC: 1, USD: 10 }, headers: asOps },
    { what: 'not JSON', server: 'admin', method: 'PUT', path: '/v1/portfolios/main/holdings', rawBody: '{"BTC":', headers: asOps },
    { what: 'without the admin scope', server: 'admin', method: 'PUT', path: '/v1/portfolios/main/holdings', body: { BTC: 1 }, headers: asAlice },
    { what: 'no such portfolio', server: 'admin', method: 'PUT', path: '/v1/portfolios/nope/holdings', body: { BTC: 1 }, headers: asOps },
    { what: 'a paper strategy’s portfolio', server: 'admin', method: 'PUT', path: '/v1/portfolios/sma/holdings', body: { BTC: 1 }, headers: asOps },
  ],
  addSymbol: [
    { what: 'added', server: 'admin', method: 'POST', path: '/v1/admin/exchanges/binance/symbols/SOLUSDT', body: {}, headers: asOps },
    { what: 'bad name', server: 'admin', method: 'POST', path: '/v1/admin/exchanges/binance/symbols/%E0%A4%A', body: {}, headers: asOps },
    { what: 'without the admin scope', server: 'admin', method: 'POST', path: '/v1/admin/exchanges/binance/symbols/XRPUSDT', body: {}, headers: asAlice },
    { what: 'unknown exchange', server: 'admin', method: 'POST', path: '/v1/admin/exchanges/nope/symbols/SOLUSDT', body: {}, headers: asOps },
    { what: 'already fed', server: 'admin', method: 'POST', path: '/v1/admin/exchanges/binance/symbols/BTCUSDT', body: {}, headers: asOps },
  ],
  removeSymbol: [
    { what: 'removed', server: 'admin', method: 'DELETE', path: '/v1/admin/exchanges/binance/symbols/ETHUSDT', body: {}, headers: asOps },
    { what: 'bad name', server: 'admin', method: 'DELETE', path: '/v1/admin/exchanges/binance/symbols/%E0%A4%A', body: {}, headers: asOps },
    { what: 'without the admin scope', server: 'admin', method: 'DELETE', path: '/v1/admin/exchanges/kraken/symbols/ETH%2FUSD', body: {}, headers: asAlice },
    { what: 'unknown symbol', server: 'admin', method: 'DELETE', path: '/v1/admin/exchanges/binance/symbols/NOPE', body: {}, headers: asOps },
    { what: 'the last symbol', server: 'admin', method: 'DELETE', path: '/v1/admin/exchanges/bybit/symbols/BTCUSDT', body: {}, headers: asOps },
  ],
  addExchange: [
    { what: 'added', server: 'admin', method: 'POST', path: '/v1/admin/exchanges/okx', body: { symbols: ['BTC-USDT'] }, headers: asOps, arrange: () => () => void servers.admin.tw.removeExchange('okx') },
    { what: 'a bad section', server: 'admin', method: 'POST', path: '/v1/admin/exchanges/okx', body: { symbols: 'BTC-USDT', colour: 1 }, headers: asOps },
    { what: 'not JSON', server: 'admin', method: 'POST', path: '/v1/admin/exchanges/okx', rawBody: '{"symbols":', headers: asOps },
    { what: 'bad name', server: 'admin', method: 'POST', path: '/v1/admin/exchanges/%E0%A4%A', body: { symbols: ['BTC-USDT'] }, headers: asOps },
    { what: 'without the admin scope', server: 'admin', method: 'POST', path: '/v1/admin/exchanges/okx', body: { symbols: ['BTC-USDT'] }, headers: asAlice },
    { what: 'already fed', server: 'admin', method: 'POST', path: '/v1/admin/exchanges/binance', body: { symbols: ['BTCUSDT'] }, headers: asOps },
    { what: 'no such adapter', server: 'admin', method: 'POST', path: '/v1/admin/exchanges/nowhere', body: { symbols: ['BTCUSDT'] }, headers: asOps },
  ],
  removeExchange: [
    { what: 'removed', server: 'admin', method: 'DELETE', path: '/v1/admin/exchanges/kraken', body: {}, headers: asOps, arrange: () => restoreAfter('kraken') },
    { what: 'bad name', server: 'admin', method: 'DELETE', path: '/v1/admin/exchanges/%E0%A4%A', body: {}, headers: asOps },
    { what: 'without the admin scope', server: 'admin', method: 'DELETE', path: '/v1/admin/exchanges/kraken', body: {}, headers: asAlice },
    { what: 'unknown exchange', server: 'admin', method: 'DELETE', path: '/v1/admin/exchanges/okx', body: {}, headers: asOps },
    { what: 'named by streamer.exchange', server: 'admin', method: 'DELETE', path: '/v1/admin/exchanges/bybit', body: {}, headers: asOps, arrange: () => streamerServes('bybit') },
  ],
  reloadConfig: [
    { what: 'reloaded', server: 'admin', method: 'POST', path: '/v1/admin/reload', body: {}, headers: asOps },
    { what: 'without the admin scope', server: 'admin', method: 'POST', path: '/v1/admin/reload', body: {}, headers: asAlice },
    { what: 'refused', server: 'admin', method: 'POST', path: '/v1/admin/reload', body: {}, headers: asOps, arrange: () => ((reloadRefuses = true), () => void (reloadRefuses = false)) },
  ],
  getMetrics: [
    { what: 'metrics', path: '/metrics' },
    {
      what: 'a registry fails',
      path: '/metrics',
      arrange: () => {
        const real = tw().metrics;
        tw().metrics = () => Promise.reject(new Error('collector broke'));
        return () => void (tw().metrics = real);
      },
    },
  ],
  getDocs: [
    { what: 'page', path: '/docs' },
    { what: 'the document to a JSON Accept', path: '/docs', headers: { accept: 'application/json' } },
    { what: 'unknown parameter', path: '/docs?x' },
  ],
  getOpenApi: [{ what: 'document', path: '/openapi.json' }, { what: 'unknown parameter', path: '/openapi.json?v=2' }],
  getAsyncApi: [{ what: 'document', path: '/asyncapi.json' }, { what: 'unknown parameter', path: '/asyncapi.json?v=2' }],
  getDashboard: [{ what: 'page', path: '/' }, { what: 'unknown parameter', path: '/?symbol=BTCUSDT' }],
  getAsset: [
    // Every asset the pages link (hashed, versioned names) is probed in a test below.
    { what: 'the chart library', path: `/assets/lightweight-charts-${CHARTS_VERSION}.js` },
    { what: 'no such asset', path: '/assets/nope.js' },
    { what: 'unknown parameter', path: '/assets/nope.js?v=1' },
  ],
  openStream: [
    { what: 'upgrade', path: '/v1/stream', upgrade: true },
    { what: 'bad format', path: '/v1/stream?format=xml', upgrade: true },
    {
      what: 'at the connection cap',
      path: '/v1/stream',
      upgrade: true,
      server: 'capped',
      arrange: async () => {
        const holder = await attemptUpgrade(`ws://127.0.0.1:${servers.capped.port}/v1/stream`);
        if (!holder.open) throw new Error(`the capped server refused its first connection: ${holder.status}`);
        return () => holder.ws.close();
      },
    },
    {
      what: 'after a failed authentication from this address',
      path: '/v1/stream',
      upgrade: true,
      server: 'throttled',
      headers: { authorization: 'Bearer wrong-token' },
      arrange: async () => {
        const first = await attemptUpgrade(`ws://127.0.0.1:${servers.throttled.port}/v1/stream`, { headers: { authorization: 'Bearer wrong-token' } });
        if (first.open || first.status !== 401) throw new Error(`expected the first bad token refused 401, got ${first.open ? 'open' : first.status}`);
      },
    },
  ],
  getStreamerCandles: [
    { what: 'candles', path: '/streamer/candles/BTCUSDT/M1?limit=3' },
    { what: 'bad timeframe', path: '/streamer/candles/BTCUSDT/M7' },
    { what: 'unknown symbol', path: '/streamer/candles/NOPE/M1' },
    { what: 'unknown parameter', path: '/streamer/candles/BTCUSDT/M1?limt=3' },
    {
      what: 'exchange stopped',
      path: '/streamer/candles/BTCUSDT/M1',
      arrange: () => (tw().notRunning.add('binance'), () => void tw().notRunning.delete('binance')),
    },
    {
      what: 'an unexpected failure',
      path: '/streamer/candles/BTCUSDT/M1',
      arrange: () => ((tw().failure = new Error('secret detail')), () => void (tw().failure = undefined)),
    },
  ],
  getStreamerStatus: [{ what: 'status', path: '/streamer/status' }, { what: 'unknown parameter', path: '/streamer/status?x=1' }],
  getStreamerAvailable: [{ what: 'available', path: '/streamer/available' }, { what: 'unknown parameter', path: '/streamer/available?x=1' }],
  getStreamerHealth: [
    { what: 'ok', path: '/streamer/health' },
    { what: 'unavailable', path: '/streamer/health', arrange: () => ((tw().healthReport = { status: 'unavailable', reasons: ['binance: not connected'] }), () => void (tw().healthReport = { status: 'ok', reasons: [] })) },
    { what: 'unknown parameter', path: '/streamer/health?x=1' },
  ],
};

/** Catch-alls and CORS preflights: not operations (the 404 body is the documented Error; preflights are described in README "Security"). */
function isOperation(method: string, pattern: string): boolean {
  return method !== 'options' && !(method === 'any' && pattern.endsWith('/*'));
}

/** A uWS pattern as an OpenAPI path: `/v1/candles/:exchange` → `/v1/candles/{exchange}`. */
const openApiPath = (pattern: string): string => pattern.replace(/:([A-Za-z_]\w*)/g, '{$1}');

async function request(p: Probe, headers: Record<string, string> = p.headers ?? {}): Promise<Answer> {
  const r = servers[p.server ?? 'open'];
  const undo = await p.arrange?.();
  try {
    if (p.upgrade) {
      const outcome = await attemptUpgrade(`ws://127.0.0.1:${r.port}${p.path}`, { headers });
      if (outcome.open) {
        outcome.ws.close();
        return { status: 101, contentType: '', body: Buffer.alloc(0) };
      }
      const type = outcome.headers['content-type'];
      return { status: outcome.status, contentType: String(type ?? ''), body: Buffer.from(JSON.stringify(outcome.body)) };
    }
    const method = p.method ?? 'GET';
    const body = p.rawBody ?? (p.body === undefined ? undefined : JSON.stringify(p.body));
    const init: RequestInit = body === undefined ? { method, headers } : { method, headers: { 'content-type': 'application/json', ...headers }, body };
    const res = await fetch(r.base + p.path, init);
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: Buffer.from(await res.arrayBuffer()) };
  } finally {
    if (typeof undo === 'function') undo();
  }
}

let doc: Doc;
let checker: SchemaChecker;
/** operationId → { path, method, operation }. */
const operations = new Map<string, { path: string; method: string; op: Doc }>();
/** `operationId status` of every answer checked. */
const seen = new Set<string>();

/** What is wrong with `answer` as an answer of `op`, empty when it is as documented. */
function problemsOf(operationId: string, answer: Answer): string[] {
  const { op } = operations.get(operationId)!;
  seen.add(`${operationId} ${answer.status}`);
  const response = op.responses[String(answer.status)];
  if (response === undefined) return [`answered ${answer.status}, not documented (documented: ${Object.keys(op.responses).join(', ')}): ${answer.body.toString().slice(0, 200)}`];
  const resolved = response.$ref ? pointer(doc, response.$ref) : response;
  if (resolved.content === undefined) return answer.body.length === 0 ? [] : [`${answer.status} documents no body but one came`];
  const media = answer.contentType.split(';')[0]!.trim();
  const documented = resolved.content[media];
  if (documented === undefined) return [`${answer.status} answered ${media}, documented ${Object.keys(resolved.content).join(', ')}`];
  if (media === 'application/x-flatbuffers') {
    return answer.body.subarray(4, 8).toString('latin1') === 'TWC1' ? [] : ['FlatBuffers answer without the TWC1 file identifier'];
  }
  const text = answer.body.toString('utf8');
  let value: unknown = text;
  if (media === 'application/json') {
    try {
      value = JSON.parse(text);
    } catch {
      return [`${answer.status} is not JSON: ${text.slice(0, 100)}`];
    }
  }
  return checker.problems(documented.schema, value).map((p) => `${answer.status} ${media}: ${p}`);
}

/** Unexpected failures the server reported (the probes cause two on purpose). */
const reported: string[] = [];

beforeAll(async () => {
  servers.open = await startServer({ onError: (err, where) => reported.push(`${where}: ${(err as Error).message}`) });
  servers.guarded = await startServer({ auth: guardedAuth({ httpRate: { rate: 0.001, burst: 1 } }) });
  servers.capped = await startServer({ maxConnections: 1 });
  servers.throttled = await startServer({ auth: guardedAuth({ failureRate: { rate: 0.001, burst: 1 } }) });
  servers.admin = await startServer({
    auth: guardedAuth({ tokens: [{ name: 'alice', sha256: hashToken(ALICE), channels: ['*'] }, { name: 'ops', sha256: hashToken(OPS), channels: ['*'], scopes: ['admin'] }] }),
    reload: () => {
      if (reloadRefuses) throw new TickwireError(ErrorCode.CHANGE_REFUSED, 'change refused, nothing changed: the file differs in server');
      return [];
    },
  });
  servers.open.tw.strategyDetails.push({
    name: 'sma', exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m', state: 'running',
    predictions: 3, signals: 3, fills: 1, timeouts: 0, errors: 0, skipped: 0, lastError: null, latencyUs: { p50: 800, p99: 1200 },
    executor: 'paper',
    account: { cash: 9000, position: 0.01, avgPrice: 100000, equity: 10001, realizedPnl: 0, unrealizedPnl: 1, maxDrawdown: 0.01, drawdown: 0, rejected: 0 },
    signalsRecent: [],
  });
  servers.admin.tw.strategyDetails.push({
    name: 'stuck', exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m', state: 'paused',
    predictions: 0, signals: 0, fills: 0, timeouts: 0, errors: 5, skipped: 0, lastError: 'paused after 5 failures in a row; last: predict: boom', latencyUs: { p50: null, p99: null },
    executor: 'webhook', account: null, signalsRecent: [],
  });
  servers.open.tw.feedReports = [
    {
      feed: 'BTC-USD', base: 'BTC', quote: 'USD', active: 'binance:BTCUSDT', price: 100, bid: 99.5, ask: 100.5, ts: T0, prices: 12, switches: 1,
      sources: [{ source: 'binance:BTCUSDT', connected: true, healthy: true, price: 100, ageMs: 20 }],
      daySource: 'binance:BTCUSDT',
      day: { last: 100, open: 98, change: 2, changePct: 2.04, high: 101, low: 97, volume: 3, quoteVolume: 300, from: T0, bars: 3 },
    },
  ];
  servers.admin.tw.portfolioValues = [
    {
      id: 'main', quote: 'USD', value: 110, change: { abs: 0, pct: 0, since: T0 },
      holdings: [
        { asset: 'BTC', amount: 1, price: 100, value: 100, weight: 0.909, source: 'feed:BTC-USD' },
        { asset: 'USD', amount: 10, price: 1, value: 10, weight: 0.091, source: 'quote' },
      ],
      stale: [], ts: T0,
    } as never,
    {
      id: 'sma', quote: 'USDT', value: 1000, change: { abs: 0, pct: 0, since: T0 },
      holdings: [
        { asset: 'BTC', amount: 0, price: 100, value: 0, weight: 0, source: 'binance:BTCUSDT' },
        { asset: 'USDT', amount: 1000, price: 1, value: 1000, weight: 1, source: 'quote' },
      ],
      stale: [], ts: T0,
    },
  ];
  servers.admin.tw.paperPortfolios.add('sma');
  for (const r of Object.values(servers)) {
    // A bar filled from the venue's klines with a reconnect gap, then closed bars and the forming one.
    r.tw.putBar('binance', 'BTCUSDT', '1m', makeBar(T0, MIN, 99, true, { gapped: true, source: 'backfill' }));
    r.tw.seed('binance', 'BTCUSDT', '1m', 3, T0 + MIN, 100);
    r.tw.seed('binance', 'ETHUSDT', '1m', 2, T0, 10);
  }
  const res = await fetch(servers.open.base + '/openapi.json');
  doc = await res.json();
  checker = new SchemaChecker(doc);
  for (const [path, item] of Object.entries<Doc>(doc.paths)) {
    for (const [method, op] of Object.entries<Doc>(item)) operations.set(op.operationId, { path, method, op });
  }
});

afterAll(async () => {
  for (const r of Object.values(servers)) await r?.server.close();
});

describe('OpenAPI document: lint', () => {
  it('has servers, tags, a license and security schemes it uses', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers.length).toBeGreaterThan(0);
    for (const s of doc.servers) expect(typeof s.url).toBe('string');
    expect(doc.info.license?.name).toBeTruthy();
    const schemes = Object.keys(doc.components.securitySchemes);
    for (const requirement of doc.security) for (const name of Object.keys(requirement)) expect(schemes).toContain(name);
  });

  it('gives every operation a unique operationId, a summary, a declared tag, its path parameters and a 4xx answer', () => {
    const problems: string[] = [];
    const ids = new Set<string>();
    const tags = new Set(doc.tags.map((t: Doc) => t.name));
    for (const [path, item] of Object.entries<Doc>(doc.paths)) {
      for (const [method, op] of Object.entries<Doc>(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        if (typeof op.operationId !== 'string' || op.operationId === '') problems.push(`${where}: no operationId`);
        else if (ids.has(op.operationId)) problems.push(`${where}: operationId ${op.operationId} used twice`);
        ids.add(op.operationId);
        if (!op.summary) problems.push(`${where}: no summary`);
        for (const t of op.tags ?? []) if (!tags.has(t)) problems.push(`${where}: tag ${t} not declared`);
        if (!Object.keys(op.responses).some((s) => /^4\d\d$/.test(s))) problems.push(`${where}: no 4xx answer`);
        for (const [status, r] of Object.entries<Doc>(op.responses)) if (!(r.$ref ? pointer(doc, r.$ref) : r).description) problems.push(`${where} ${status}: no description`);
        const declared = (op.parameters ?? []).filter((p: Doc) => p.in === 'path').map((p: Doc) => p.name).sort();
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
        if (JSON.stringify(declared) !== JSON.stringify(inPath)) problems.push(`${where}: path parameters ${inPath} declared as ${declared}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('resolves every $ref and uses every schema it declares', () => {
    expect(danglingRefs(doc)).toEqual([]);
    expect(unusedSchemas(doc)).toEqual([]);
  });

  it('documents the CSV header as every Bar field, in the order of the JSON', () => {
    const fields = Object.keys(doc.components.schemas.Bar.properties);
    expect(BAR_CSV_HEADER.trim().split(',')).toEqual(fields);
    expect(doc.components.schemas.CandlesCsv.pattern).toBe('^' + fields.join(',') + '\\n');
  });
});

describe('OpenAPI document: against the routes', () => {
  it('describes every route the server registered', () => {
    const undocumented: string[] = [];
    for (const { method, pattern } of servers.open.server.routes) {
      if (!isOperation(method, pattern)) continue;
      const verb = method === 'ws' || method === 'any' ? 'get' : method === 'del' ? 'delete' : method;
      if (doc.paths[openApiPath(pattern)]?.[verb] === undefined) undocumented.push(`${verb.toUpperCase()} ${pattern}`);
    }
    expect(undocumented, 'routes the server registers without documentation: add each to src/server/openapi.ts and a probe to PROBES here').toEqual([]);
  });

  it('has probes for every documented operation, and none for an undocumented one', () => {
    const unprobed = [...operations.keys()].filter((id) => !(id in PROBES));
    expect(unprobed, 'operations without probes: add them to PROBES in this file').toEqual([]);
    expect(Object.keys(PROBES).filter((id) => !operations.has(id))).toEqual([]);
  });

  it('answers every probe as documented: status, content type, schema', async () => {
    const problems: string[] = [];
    for (const [operationId, probes] of Object.entries(PROBES)) {
      for (const p of probes) {
        const answer = await request(p);
        for (const problem of problemsOf(operationId, answer)) problems.push(`${operationId} (${p.what}, ${p.path}): ${problem}`);
        const failed = answer.status >= 300 && answer.status !== 101;
        if (p === probes[0] && failed) problems.push(`${operationId}: the first probe (${p.what}) must succeed, got ${answer.status}`);
      }
    }
    expect(problems).toEqual([]);
    expect(reported).toEqual(['/v1/candles/:exchange/:symbol/:tf: disk on fire', '/metrics: collector broke', '/streamer/candles/:symbol/:tf: secret detail']);
  });

  it('serves the assets the pages link, with their documented types and a year of caching', async () => {
    const problems: string[] = [];
    for (const page of ['/', '/docs']) {
      const html = await (await fetch(servers.open.base + page)).text();
      const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
      expect(assets.length).toBeGreaterThan(1);
      for (const path of assets) {
        const res = await fetch(servers.open.base + path);
        expect(res.headers.get('cache-control'), path).toContain('immutable');
        const answer = { status: res.status, contentType: res.headers.get('content-type') ?? '', body: Buffer.from(await res.arrayBuffer()) };
        expect(answer.body.length, path).toBeGreaterThan(100);
        for (const problem of problemsOf('getAsset', answer)) problems.push(`${path}: ${problem}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('answers the JSON candles with every Bar field, the optional ones included', async () => {
    const body: Doc = await (await fetch(servers.open.base + '/v1/candles/binance/BTCUSDT/1m')).json();
    const fields = new Set(body.candles.flatMap((c: Doc) => Object.keys(c)));
    expect([...fields].sort()).toEqual(Object.keys(doc.components.schemas.Bar.properties).sort());
  });

  it('refuses every private operation without credentials, as documented (401)', async () => {
    const problems: string[] = [];
    for (const [operationId, { op }] of operations) {
      if (op.responses['401'] === undefined) continue;
      const answer = await request({ ...PROBES[operationId]![0]!, server: 'guarded', arrange: undefined }, {});
      if (answer.status !== 401) problems.push(`${operationId}: expected 401 without credentials, got ${answer.status}`);
      problems.push(...problemsOf(operationId, answer).map((p) => `${operationId}: ${p}`));
    }
    expect(problems).toEqual([]);
  });

  it('rate-limits every private HTTP operation, as documented (429)', async () => {
    const bearer = { authorization: `Bearer ${ALICE}` };
    expect((await request({ what: 'take the one request', path: '/v1/symbols', server: 'guarded' }, bearer)).status).toBe(200);
    const problems: string[] = [];
    for (const [operationId, { op }] of operations) {
      if (op.responses['429'] === undefined || operationId === 'openStream') continue; // the stream's 429 is probed above
      const answer = await request({ ...PROBES[operationId]![0]!, server: 'guarded', arrange: undefined }, bearer);
      if (answer.status !== 429) problems.push(`${operationId}: expected 429 past the rate, got ${answer.status}`);
      problems.push(...problemsOf(operationId, answer).map((p) => `${operationId}: ${p}`));
    }
    expect(problems).toEqual([]);
  });

  it('gives every documented answer in some probe (checked last)', () => {
    const missing: string[] = [];
    for (const [operationId, { op }] of operations) {
      for (const status of Object.keys(op.responses)) if (!seen.has(`${operationId} ${status}`)) missing.push(`${operationId} ${status}`);
    }
    expect(missing, 'documented answers no probe produced: add a probe, or drop an answer the server cannot give').toEqual([]);
  });
});
