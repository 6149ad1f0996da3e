/**
 * HTTP routes (the OpenAPI document, docs/api-reference.md): `/health`, `/v1/*`,
 * `/metrics`, `/docs`, `/`; the older `/streamer/*` API is streamer-routes.ts,
 * registered through the same access checks.
 *
 * Every handler except `/metrics` answers synchronously, inside the uWS
 * callback (already corked; no `onAborted` needed). `/metrics` awaits the
 * library's registry: it registers `onAborted` first, copies nothing from
 * `req` after the await, and writes inside `res.cork`.
 *
 * Errors: a `TickwireError` answers with its code and a status fitting the
 * code; anything else is a 500 `INTERNAL_ERROR` with a fixed message (the
 * cause goes to `onError`, never to the client).
 *
 * Access (docs/security.md): `/health`, `/streamer/health`, the API
 * reference (`/docs`, `/openapi.json`, `/asyncapi.json`), the dashboard page
 * `/` and `/assets/*` are public (no credentials, no rate limit: probes and
 * static text). Every other route is `market` data (principal.ts
 * `Protection`; `/v1/status` included: it tells feed health and counts, no
 * holdings) and authenticates first (401 UNAUTHORIZED,
 * counted by reason), then takes one request from the client's rate limit
 * (429 RATE_LIMITED with `Retry-After`, keyed by principal name, or remote
 * address on an open server); candle routes also need the principal to be
 * allowed `bars:<exchange>:<symbol>:<tf>` (checked once the symbol is
 * resolved). Every answer carries the CORS headers of cors.ts, and `OPTIONS`
 * preflights are answered 204 on any path. `private` routes (portfolios:
 * they reveal holdings; the holdings PUT also needs the `admin` scope) are
 * authenticated as private requests (auth.ts), and one with a method other
 * than GET must also send `Content-Type: application/json`, which no HTML
 * form can.
 *
 * A 404 quotes the method and URL cut like every quoted value (showValue).
 *
 * Keep-alive (docs/protocol.md, "Limits"): an answer closes its connection when the
 * server holds its connection cap for the client's address, and on a
 * protected server when the request carried no valid credential (a 401, or
 * a public route asked without one), so a client without credentials holds
 * no socket. (Not preflights: this uWS build aborts the process on
 * `endWithoutBody(undefined, true)`, and every closing form adds the
 * `Content-Length` a 204 must not carry.)
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { Tickwire } from '../api/types.ts';
import { ErrorCode, InvalidParameterError, showValue, TickwireError } from '../errors.ts';
import { parseTimeframe } from '../model/timeframes.ts';
import { asyncApiJson } from './asyncapi.ts';
import { IMMUTABLE, REVALIDATE, WebAssets } from './assets.ts';
import { AuthFailure, UnauthorizedError, requireChannel, requireScope } from './auth.ts';
import { CandleQueries, type CandleQuery } from './candle-query.ts';
import type { ConnectionLimits } from './connection-limits.ts';
import type { CorsPolicy, HeaderList } from './cors.ts';
import {
  JSON_TYPE,
  choiceParam,
  copyRequest,
  LazyAddress,
  parseQuery,
  pathParam,
  retryAfterSeconds,
  statusOfCode,
  type RouteRequest,
  v1ErrorBody,
  writeResponse,
  type Ending,
} from './http-util.ts';
import type { BarVisitor } from '../buffers/bar-store.ts';
import { BAR_CSV_HEADER, BarTextVisitor, barCsv } from '../wire/json.ts';
import { ReadyCandles, type CandlesOf } from '../wire/ready-candles.ts';
import { FLATBUFFERS_TYPE, FbsEncoder } from '../wire/fbs.ts';
import type { ServerMetrics } from './metrics.ts';
import { openApiJson } from './openapi.ts';
import { ANONYMOUS, type Authenticator, type AuthRequest, type Principal, type Protection } from './principal.ts';
import { RateLimitedError, type RateLimiter } from './rate-limit.ts';
import { registerStreamerRoutes } from './streamer-routes.ts';

export interface HttpContext {
  readonly tickwire: Tickwire;
  readonly metrics: ServerMetrics;
  /** Told about every unexpected failure (answered as a 500). */
  readonly onError: (err: unknown, where: string) => void;
  /** Credentials → principal for every non-public route (returns ANONYMOUS when the server is open); a promise while a JWT is checked against a JWKS. */
  readonly authenticate: Authenticator;
  /** Requests per client (principal name, or remote address when anonymous); undefined: no limit. */
  readonly rateLimiter: RateLimiter | undefined;
  readonly cors: CorsPolicy;
  /** Connection caps: at the cap for an address, its answers close their connection. */
  readonly connections: ConnectionLimits;
  /** A protected server (tokens or jwt): answers to requests without a valid credential close their connection. */
  readonly keepAliveNeedsCredential: boolean;
  /** Bytes of encoded closed bars kept ready for `/v1/candles` (wire/ready-candles.ts). */
  readonly candleCacheBytes: number;
  /** Only `/health`, `/v1/status`, `/v1/latency` and `/metrics` (a cluster feed, docs/scale-out.md); the rest answers NOT_FOUND. */
  readonly operationsOnly?: boolean;
}


const CSV_TYPE = 'text/csv; charset=utf-8';
/** Largest holdings PUT body, bytes (1000 assets with long amounts fit). */
const MAX_HOLDINGS_BODY = 64 * 1024;
const HTML_TYPE = 'text/html; charset=utf-8';

/** What a synchronous route answers. */
export interface Reply {
  status: number;
  /** Text, or bytes (FlatBuffers) that stay valid until the reply is written, synchronously. */
  body: string | Uint8Array;
  contentType?: string;
  /** Headers beyond the content type and CORS (caching). */
  headers?: HeaderList;
}

/** An error as the API reports it: code, message, status. */
interface ApiError {
  status: number;
  code: string;
  message: string;
}

/** Which error body a route family speaks. */
export type ErrorShape = 'v1' | 'streamer';

/** RFC 6750: a 401 names the scheme it wants. */
const WWW_AUTHENTICATE = ['WWW-Authenticate', 'Bearer realm="tickwire"'] as const;

/** `public`: no credentials, no rate limit. Otherwise authenticated for that protection (principal.ts) and rate-limited. */
export type Access = 'public' | Protection;
/** uWS's names of the methods a route may take. */
export type Method = 'get' | 'post' | 'put' | 'patch' | 'del';
/** `application/json`, with parameters or not: a content type a form cannot send. */
const JSON_CONTENT = /^application\/json\s*(;|$)/i;

// ── responses ────────────────────────────────────────────────────────────

/** `{"success":false,"error","error_code"}`: the older streamer API's error body. */
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

/**
 * Who is asking, for a route that is not public: authenticate (401), then
 * take one request from the client's rate limit (429). Reads `req` and `res`
 * synchronously, inside the handler; a promise when the credential is a JWT
 * checked against a JWKS for the first time.
 */
function admit(req: HttpRequest, ctx: HttpContext, origin: string, address: LazyAddress, protection: Protection = 'market'): Principal | Promise<Principal> {
  const simple = protection === 'private' && req.getMethod() !== 'get' && !JSON_CONTENT.test(req.getHeader('content-type'));
  const who = ctx.authenticate(authRequest(req, origin, address), protection);
  if (!(who instanceof Promise)) return charge(who, ctx, simple, address);
  address.pin(); // the charge comes after the await
  return who.then((p) => charge(p, ctx, simple, address));
}

/** `who`, once a form-like request to a private route (`simple`) is refused and one request is taken from its rate limit. */
function charge(who: Principal, ctx: HttpContext, simple: boolean, address: LazyAddress): Principal {
  if (simple) throw new UnauthorizedError(AuthFailure.PRIVATE, 'private route: send Content-Type: application/json (a form or simple request is refused)');
  const limit = ctx.rateLimiter;
  if (limit === undefined) return who;
  const waitMs = limit.take(who === ANONYMOUS ? address.text : who.name);
  if (waitMs > 0) {
    throw new RateLimitedError(
      waitMs,
      `too many requests: ${limit.rate} per second with bursts of ${limit.burst} (auth.httpRate); retry in ${retryAfterSeconds(waitMs)} s`,
    );
  }
  return who;
}

/** What the authenticator reads of an HTTP request (only what it asks for, inside the handler). */
function authRequest(req: HttpRequest, origin: string, address: LazyAddress): AuthRequest {
  return new HttpAuthRequest(req, origin, address);
}

/**
 * An `AuthRequest` read from uWS only for what the authenticator asks: an
 * open server asks for none of the credential (each read is a native call
 * and a new string per request); a protected one reads the header, then
 * maybe the query. Valid only during the handler: the authenticator reads
 * everything it needs before it returns (a JWKS check gets a promise, after
 * every read). A class: an object literal with a getter measured ~5% of a
 * candles request.
 */
class HttpAuthRequest implements AuthRequest {
  readonly protocol = '';

  constructor(
    private readonly req: HttpRequest,
    readonly origin: string,
    private readonly address: LazyAddress,
  ) {}

  get authorization(): string {
    return this.req.getHeader('authorization');
  }

  get query(): string {
    return this.req.getQuery() ?? '';
  }

  get remoteAddress(): string {
    return this.address.text;
  }
}

/**
 * Whether a request to a public route carries a valid credential (asked only
 * on a protected server, for keep-alive). A JWT still being checked against
 * the JWKS counts as one: the keep-alive decision does not wait for it.
 */
function credentialed(req: HttpRequest, ctx: HttpContext, origin: string, address: LazyAddress): boolean {
  try {
    const who = ctx.authenticate(authRequest(req, origin, address));
    if (who instanceof Promise) who.catch(() => undefined);
    return true;
  } catch {
    return false;
  }
}

/** How an answer to `address` ends: closing when its address is at the connection cap or, on a protected server, without a credential. */
function ending(ctx: HttpContext, address: LazyAddress, hasCredential: boolean, endings: Endings): Ending {
  const close = (ctx.keepAliveNeedsCredential && !hasCredential) || (ctx.connections.mayRefuse() && ctx.connections.refusal(address.text) !== null);
  return close ? endings.close : endings.keep;
}

/** The two endings of a context's answers, counting unsent ones. */
interface Endings {
  keep: Ending;
  close: Ending;
}

function endingsOf(ctx: HttpContext): Endings {
  const unsent = () => ctx.metrics.responseUnsent();
  return { keep: { close: false, unsent }, close: { close: true, unsent } };
}

/** The error reply for `err`, with `Retry-After` for a rate limit; auth failures are counted by reason. */
function refusal(err: unknown, ctx: HttpContext, where: string, shape: ErrorShape, cors: HeaderList): { reply: Reply; headers: HeaderList } {
  let headers = cors;
  if (err instanceof UnauthorizedError) {
    ctx.metrics.authFailure('http', err.reason);
    headers = [...cors, WWW_AUTHENTICATE];
  } else if (err instanceof RateLimitedError) {
    headers = [...cors, ['Retry-After', String(retryAfterSeconds(err.retryAfterMs))]];
  }
  return { reply: errorReply(toApiError(err, ctx, where), shape), headers };
}

/**
 * Register a synchronous route: access checked, errors become the route
 * family's error body; every answer is counted. Exported so a private route
 * can be tested through the same path the server's own routes take.
 */
export function route(
  app: TemplatedApp,
  ctx: HttpContext,
  method: Method,
  pattern: string,
  shape: ErrorShape,
  access: Access,
  handler: (req: RouteRequest, who: Principal, body: string) => Reply,
  maxBody = 0,
): void {
  const parameters = pattern.split('/:').length - 1;
  const endings = endingsOf(ctx);
  const answer = (res: HttpResponse, req: RouteRequest, who: Principal | undefined, failure: unknown, cors: HeaderList, address: LazyAddress, credential: boolean, body = ''): void => {
    let headers = cors;
    let reply: Reply;
    let hasCredential = credential;
    try {
      if (who === undefined) throw failure;
      reply = handler(req, who, body);
    } catch (err) {
      if (err instanceof UnauthorizedError) hasCredential = false;
      ({ reply, headers } = refusal(err, ctx, pattern, shape, headers));
    }
    ctx.metrics.httpRequest(pattern, reply.status);
    if (reply.headers !== undefined) headers = [...headers, ...reply.headers];
    writeResponse(res, reply.status, reply.body, reply.contentType, headers, ending(ctx, address, hasCredential, endings));
  };
  app[method](pattern, (res, req) => {
    const origin = req.getHeader('origin');
    const address = new LazyAddress(res);
    const cors = ctx.cors.responseHeaders(origin);
    let who: Principal | Promise<Principal>;
    let credential = true;
    try {
      if (access === 'public') {
        who = ANONYMOUS;
        if (ctx.keepAliveNeedsCredential) credential = credentialed(req, ctx, origin, address);
      } else {
        who = admit(req, ctx, origin, address, access);
      }
    } catch (err) {
      answer(res, req, undefined, err, cors, address, credential);
      return;
    }
    if (maxBody > 0) {
      // A body to read (uWS: onAborted first, a copy of req and the address, the answer in cork), then the principal.
      const copy = copyRequest(req, ['content-type'], parameters);
      address.pin();
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      readBody(res, maxBody)
        .then(async (body) => {
          const p = await who;
          if (!aborted) res.cork(() => answer(res, copy, p, undefined, cors, address, credential, body));
        })
        .catch((err: unknown) => !aborted && res.cork(() => answer(res, copy, undefined, err, cors, address, credential)))
        .catch((err: unknown) => ctx.onError(err, pattern));
      return;
    }
    if (!(who instanceof Promise)) {
      answer(res, req, who, undefined, cors, address, credential);
      return;
    }
    // A JWT being checked against the JWKS: copy what the handler reads first, answer after (uWS: onAborted, cork).
    const copy = copyRequest(req, ['content-type'], parameters);
    address.pin();
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    who
      .then(
        (p) => !aborted && res.cork(() => answer(res, copy, p, undefined, cors, address, credential)),
        (err: unknown) => !aborted && res.cork(() => answer(res, copy, undefined, err, cors, address, credential)),
      )
      .catch((err: unknown) => ctx.onError(err, pattern));
  });
}

/** Read a request's body, at most `max` bytes (more: INVALID_PARAMETER, answered at once). */
function readBody(res: HttpResponse, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    res.onData((chunk, isLast) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > max) {
        done = true;
        reject(new InvalidParameterError('body', `${size} bytes or more`, `a JSON body of at most ${max} bytes`));
        return;
      }
      chunks.push(Buffer.from(chunk.slice(0))); // uWS reuses the chunk's memory after this call
      if (isLast) {
        done = true;
        resolve(Buffer.concat(chunks).toString('utf8'));
      }
    });
  });
}

function get(app: TemplatedApp, ctx: HttpContext, pattern: string, shape: ErrorShape, access: Access, handler: (req: RouteRequest, who: Principal) => Reply): void {
  route(app, ctx, 'get', pattern, shape, access, handler);
}

// ── routes ───────────────────────────────────────────────────────────────

/** Routes without parameters accept only the credential: a typo'd or unknown parameter is a 400, not silently ignored. */
const NO_PARAMS = ['token'] as const;

/** `/v1/latency`: each stage's HDR histogram too, for windows cut out of two readings (src/api/latency.ts `between`). */
const LATENCY_PARAMS = ['token', 'histograms'] as const;

/** Throw INVALID_PARAMETER for a query parameter other than `token`. */
function noParams(req: RouteRequest): void {
  parseQuery(req.getQuery() ?? '', NO_PARAMS);
}

/** Whether a request prefers JSON to HTML (`Accept: application/json` without text/html), for `/docs`. */
function prefersJson(req: RouteRequest): boolean {
  const accept = req.getHeader('accept');
  return accept.includes('application/json') && !accept.includes('text/html');
}

/**
 * The pages load nothing but this server's own files (the browser enforces it: no CDN, no injected script can
 * call out); inline styles are allowed for the chart and swagger-ui, data: images for swagger-ui's icons.
 */
const PAGE_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
  "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const PAGE_HEADERS: HeaderList = [['Cache-Control', REVALIDATE], ['Content-Security-Policy', PAGE_POLICY], ['X-Content-Type-Options', 'nosniff']];
/** `/docs` answers the page or the JSON by `Accept`: caches must key on it. */
const DOCS_PAGE_HEADERS: HeaderList = [...PAGE_HEADERS, ['Vary', 'Accept']];
const DOCS_JSON_HEADERS: HeaderList = [['Vary', 'Accept']];
const ASSET_HEADERS: HeaderList = [['Cache-Control', IMMUTABLE], ['X-Content-Type-Options', 'nosniff']];

export function registerHttpRoutes(app: TemplatedApp, ctx: HttpContext): void {
  const tw = ctx.tickwire;

  get(app, ctx, '/health', 'v1', 'public', (req) => {
    noParams(req);
    const h = tw.health();
    // Warnings (storage degraded) keep it 200: the gateway still serves everything from memory.
    const warnings = h.warnings !== undefined && h.warnings.length > 0 ? h.warnings : undefined;
    return h.status === 'ok'
      ? { status: 200, body: warnings === undefined ? '{"status":"ok"}' : JSON.stringify({ status: 'ok', warnings }) }
      : { status: 503, body: JSON.stringify({ status: h.status, reasons: h.reasons, warnings }) };
  });

  get(app, ctx, '/v1/status', 'v1', 'market', (req) => (noParams(req), { status: 200, body: JSON.stringify(tw.status()) }));
  // Where time goes (a feed's too: its ring and the NATS hop's feed side, docs/scale-out.md "Benchmarks").
  get(app, ctx, '/v1/latency', 'v1', 'market', (req) => {
    const histograms = choiceParam(parseQuery(req.getQuery() ?? '', LATENCY_PARAMS), 'histograms', ['true', 'false'] as const, 'false') === 'true';
    return { status: 200, body: JSON.stringify(tw.latency({ histograms })) };
  });
  registerMetricsRoute(app, ctx);
  // A cluster feed (`--role feed`) serves only the operations routes above (docs/scale-out.md).
  if (ctx.operationsOnly !== true) {
    registerMarketRoutes(app, ctx);
    registerReferenceRoutes(app, ctx);
    registerStreamerRoutes(app, ctx, (pattern, access, handler) => get(app, ctx, pattern, 'streamer', access, handler), streamerErrorBody);
  }

  // CORS preflights, any path: no credentials are sent on them (cors.ts).
  const preflight = (res: HttpResponse, req: HttpRequest): void => {
    const headers = ctx.cors.preflightHeaders(req.getHeader('origin'));
    ctx.metrics.httpRequest('preflight', 204);
    res.writeStatus('204 No Content');
    for (const [name, value] of headers) res.writeHeader(name, value);
    res.endWithoutBody(); // a 204 has no body and no Content-Length
  };
  app.options('/*', preflight);
  app.options('/streamer/*', preflight);

  // Anything else, any method.
  app.any('/*', (res, req) => {
    const what = showValue(`${req.getMethod().toUpperCase()} ${req.getUrl()}`);
    ctx.metrics.httpRequest('unmatched', 404);
    writeResponse(res, 404, v1ErrorBody(ErrorCode.NOT_FOUND, `no route for ${what}`), JSON_TYPE, ctx.cors.responseHeaders(req.getHeader('origin')));
  });
}

/** `/metrics`: the one asynchronous route (the library's and the server's registries). */
function registerMetricsRoute(app: TemplatedApp, ctx: HttpContext): void {
  const metricsEndings = endingsOf(ctx);
  app.get('/metrics', (res, req) => {
    const origin = req.getHeader('origin');
    const address = new LazyAddress(res);
    const cors = ctx.cors.responseHeaders(origin);
    const refuse = (err: unknown): void => {
      const { reply, headers } = refusal(err, ctx, '/metrics', 'v1', cors);
      ctx.metrics.httpRequest('/metrics', reply.status);
      writeResponse(res, reply.status, reply.body, reply.contentType, headers, ending(ctx, address, !(err instanceof UnauthorizedError), metricsEndings));
    };
    let admitted: Principal | Promise<Principal>;
    try {
      admitted = admit(req, ctx, origin, address);
    } catch (err) {
      refuse(err);
      return;
    }
    address.pin(); // the answer comes after awaits
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    void (async () => {
      try {
        await admitted;
      } catch (err) {
        if (!aborted) res.cork(() => refuse(err));
        return;
      }
      let status = 200;
      let body: string;
      let contentType: string = ctx.metrics.registry.contentType;
      try {
        const library = await ctx.tickwire.metrics();
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
      res.cork(() => writeResponse(res, status, body, contentType, cors, ending(ctx, address, true, metricsEndings)));
    })();
  });
}

/** Symbols, feeds, portfolios, alerts, strategies and candles: everything an edge or a single process serves. */
function registerMarketRoutes(app: TemplatedApp, ctx: HttpContext): void {
  const tw = ctx.tickwire;
  // Candle answers (JSON, format=fbs) from closed bars encoded once; each answer is a reused
  // buffer, written before the next request is handled.
  const ready = new ReadyCandles(ctx.candleCacheBytes, new FbsEncoder());
  const candleQueries = new CandleQueries();
  const candleRead = new CandleRead(tw);
  get(app, ctx, '/v1/symbols', 'v1', 'market', (req) => (noParams(req), { status: 200, body: JSON.stringify({ exchanges: tw.symbols() }) }));
  get(app, ctx, '/v1/alerts', 'v1', 'market', (req) => (noParams(req), { status: 200, body: JSON.stringify(tw.alerts()) }));
  get(app, ctx, '/v1/portfolios', 'v1', 'private', (req) => (noParams(req), { status: 200, body: JSON.stringify({ portfolios: tw.portfolios() }) }));
  get(app, ctx, '/v1/portfolios/:id', 'v1', 'private', (req) => (noParams(req), { status: 200, body: JSON.stringify(tw.portfolio(pathParam(req, 0, 'id'))) }));
  route(app, ctx, 'put', '/v1/portfolios/:id/holdings', 'v1', 'private', (req, who, body) => {
    requireScope(who, 'admin');
    let holdings: unknown;
    try {
      holdings = JSON.parse(body);
    } catch {
      throw new InvalidParameterError('body', body, 'a JSON object of asset → amount');
    }
    return { status: 200, body: JSON.stringify(tw.setHoldings(pathParam(req, 0, 'id'), holdings)) };
  }, MAX_HOLDINGS_BODY);
  get(app, ctx, '/v1/feeds', 'v1', 'market', (req) => (noParams(req), { status: 200, body: JSON.stringify({ feeds: tw.feeds() }) }));
  get(app, ctx, '/v1/feeds/:feed', 'v1', 'market', (req) => (noParams(req), { status: 200, body: JSON.stringify(tw.feed(pathParam(req, 0, 'feed'))) }));

  // Strategies: market access, each strategy shown to principals allowed its `signals:<name>` channel.
  // Not `private`: a paper book holds nothing real, and an open loopback server should show it.
  get(app, ctx, '/v1/strategies', 'v1', 'market', (req, who) => (noParams(req), {
    status: 200,
    body: JSON.stringify({ strategies: tw.strategies().filter((s) => who.allows('signals:' + s.name)) }),
  }));
  get(app, ctx, '/v1/strategies/:name', 'v1', 'market', (req, who) => {
    noParams(req);
    const name = pathParam(req, 0, 'name');
    requireChannel(who, 'signals:' + name); // first: a principal not allowed learns nothing of what exists
    const detail = tw.strategy(name);
    if (detail === undefined) throw new TickwireError(ErrorCode.NOT_FOUND, `no strategy named ${showValue(name)} is configured`);
    return { status: 200, body: JSON.stringify(detail) };
  });

  // One reply object per format, refilled by each request: the reply is written before the handler is called again.
  const jsonReply: Reply = { status: 200, body: '' };
  const fbsReply: Reply = { status: 200, body: '', contentType: FLATBUFFERS_TYPE };
  get(app, ctx, '/v1/candles/:exchange/:symbol/:tf', 'v1', 'market', (req, who) => {
    const exchange = pathParam(req, 0, 'exchange');
    const symbolGiven = pathParam(req, 1, 'symbol');
    const tfGiven = pathParam(req, 2, 'timeframe');
    const query = candleQueries.parse(req.getQuery() ?? '');
    const timeframe = parseTimeframe(tfGiven).name;
    const symbol = tw.resolveSymbol(exchange, symbolGiven);
    const read = candleRead.set(exchange, symbol, timeframe, query);
    requireChannel(who, read.key);
    if (query.format === 'csv') {
      const v = new BarTextVisitor(barCsv, '');
      tw.visitBars(exchange, symbol, timeframe, v, query);
      return { status: 200, body: BAR_CSV_HEADER + v.text, contentType: CSV_TYPE };
    }
    if (query.format === 'fbs') {
      fbsReply.body = ready.fbs(read, read.visit, query);
      return fbsReply;
    }
    jsonReply.body = ready.json(read, read.visit, query);
    return jsonReply;
  });
}

/**
 * The series one candles request reads, set by each request: one `visit`
 * bound for the route's life instead of a closure (and a `CandlesOf`) per
 * request. Valid while the synchronous handler that set it runs. Its `key`
 * is the series' bars channel (`bars:<exchange>:<symbol>:<tf>`, what the
 * principal must be allowed), built again only when the series differs from
 * the last request's (clients ask the same series again and again).
 */
class CandleRead implements CandlesOf {
  key = '';
  exchange = '';
  symbol = '';
  timeframe = '';
  #query: CandleQuery | undefined;
  readonly visit = (v: BarVisitor): number => this.tw.visitBars(this.exchange, this.symbol, this.timeframe, v, this.#query);

  constructor(private readonly tw: Tickwire) {}

  set(exchange: string, symbol: string, timeframe: string, query: CandleQuery): this {
    if (exchange !== this.exchange || symbol !== this.symbol || timeframe !== this.timeframe) {
      this.key = 'bars:' + exchange + ':' + symbol + ':' + timeframe;
      this.exchange = exchange;
      this.symbol = symbol;
      this.timeframe = timeframe;
    }
    this.#query = query;
    return this;
  }
}

/**
 * The API reference and the dashboard (docs/api-reference.md, "Dashboard"):
 * `/openapi.json`, `/asyncapi.json`, the pages `/docs` and `/`, and their
 * scripts and stylesheets under `/assets/` (assets.ts). All public: static
 * text; the dashboard's data calls authenticate like any client.
 */
function registerReferenceRoutes(app: TemplatedApp, ctx: HttpContext): void {
  const openApi = openApiJson();
  const asyncApi = asyncApiJson();
  const web = new WebAssets();
  const docsPage = web.page('docs');
  const dashboardPage = web.page('dashboard');
  get(app, ctx, '/openapi.json', 'v1', 'public', (req) => (noParams(req), { status: 200, body: openApi }));
  get(app, ctx, '/asyncapi.json', 'v1', 'public', (req) => (noParams(req), { status: 200, body: asyncApi }));
  // Scripts that read the document from /docs (its answer before the page) still get it by asking for JSON.
  get(app, ctx, '/docs', 'v1', 'public', (req) => {
    noParams(req);
    return prefersJson(req)
      ? { status: 200, body: openApi, headers: DOCS_JSON_HEADERS }
      : { status: 200, body: docsPage, contentType: HTML_TYPE, headers: DOCS_PAGE_HEADERS };
  });
  get(app, ctx, '/', 'v1', 'public', (req) => (noParams(req), { status: 200, body: dashboardPage, contentType: HTML_TYPE, headers: PAGE_HEADERS }));
  get(app, ctx, '/assets/:file', 'v1', 'public', (req) => {
    noParams(req);
    const file = pathParam(req, 0, 'file');
    const asset = web.asset(file);
    if (asset === undefined) throw new TickwireError(ErrorCode.NOT_FOUND, `no asset ${showValue(file)}`);
    return { status: 200, body: asset.body(), contentType: asset.contentType, headers: ASSET_HEADERS };
  });
}
