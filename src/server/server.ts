/**
 * The main-thread server: uWebSockets.js serving HTTP and the `/v1/stream`
 * WebSocket, built only on a `Tickwire` instance.
 *
 * Lifetime: `createServer` subscribes to the library's events at once;
 * `listen()` binds (port 0: an ephemeral port, reported back); `close()`
 * closes every WebSocket (1001), the listen socket and every remaining HTTP
 * connection, and unsubscribes from the library. After `close()` the server
 * holds no socket: the process can exit, a worker can be terminated (an open
 * uWS listen socket would abort the process there).
 *
 * Security (docs/security.md): one authenticator (auth.ts) serves the HTTP
 * routes and the WebSocket upgrade; failures are counted by transport and
 * reason. A server without tokens or jwt is open, which `createServer`
 * refuses on a non-loopback host unless `auth.allowOpen` (the config loader
 * checks `server.host`; this checks the host actually bound, e.g. a `--host`
 * or `host` option override).
 *
 * Connections (docs/protocol.md, "Limits", connection-limits.ts): WebSockets are
 * capped in all and per address, refused 503 with the socket closed; HTTP
 * answers close their connection when the server is at its cap, and on a
 * protected server when the request carried no valid credential.
 */
import type { TemplatedApp, us_listen_socket, us_socket } from 'uWebSockets.js';
import { uws } from './uws.ts';
import type { Tickwire } from '../api/types.ts';
import { defaultAuthConfig, defaultStreamConfig } from '../config/defaults.ts';
import { parseServerOptions, type CheckedServerOptions } from '../config/server.ts';
import type { AuthConfig, CorsConfig, RateLimit, SlowConsumerPolicy } from '../config/types.ts';
import { ErrorCode, TickwireError, showValue } from '../errors.ts';
import { isLoopbackHost, openServerProblem } from '../security/host.ts';
import { createAuthenticator, isOpen, UnauthorizedError } from './auth.ts';
import { connectionCaps, ConnectionLimits, readFdLimit, type ConnectionCaps } from './connection-limits.ts';
import { CorsPolicy } from './cors.ts';
import { registerAdminRoutes, type Reload } from './admin-routes.ts';
import { registerHttpRoutes, type HttpContext } from './http-routes.ts';
import { LoggedServerMetrics } from './logged-metrics.ts';
import { libraryLogger, type Logger } from '../log/logger.ts';
import type { Authenticator } from './principal.ts';
import { RateLimiter } from './rate-limit.ts';
import { recordRoutes, type RouteEntry } from './route-table.ts';
import type { Alert, AlertInput } from './rooms.ts';
import { StreamServer } from './stream.ts';

export interface ServerOptions {
  /** Default: the config's `server.host`. */
  host?: string;
  /** 0 binds an ephemeral port. Default: the config's `server.port`. */
  port?: number;
  /** Bytes a WebSocket may have buffered (docs/protocol.md, "Slow consumers"). Default: the config's `stream.maxBackpressure` (4 MiB). */
  maxBackpressure?: number;
  /** Largest client message processed, bytes (`stream.maxMessageBytes`, default 64 KiB): larger is INVALID_PARAMETER, over twice closes. */
  maxPayloadLength?: number;
  /** The rest of the config's `stream:` section, key by key (the config's values by default). */
  slowConsumer?: SlowConsumerPolicy;
  resumeHistory?: number;
  resumeLingerS?: number;
  maxChannelsPerConnection?: number;
  subscribeRate?: RateLimit;
  idleTimeoutS?: number;
  /** Told about unexpected failures answered as INTERNAL_ERROR. Default: an error record in the log. */
  onError?: (err: unknown, where: string) => void;
  /** Where the server logs (auth refusals, slow consumers, unexpected errors). Default: the runtime's `log`. */
  logger?: Logger;
  /** Tokens, JWT, open-ness and HTTP rate. Default: the config's `auth`. */
  auth?: AuthConfig;
  /** Browser origins allowed cross-origin (HTTP) and on the WebSocket. Default: the config's `server.cors`. */
  cors?: CorsConfig;
  /** Open WebSockets at most. Default: the config's `server.maxConnections`, else derived from the open-files limit. */
  maxConnections?: number;
  /** Open WebSockets per remote address at most. Default: the config's, else a quarter of maxConnections (loopback exempt). */
  maxConnectionsPerAddress?: number;
  /** Bytes of encoded closed bars kept ready for `/v1/candles` answers (docs/candles-cache.md). Default 64 MiB. */
  candleCacheBytes?: number;
  /** What `POST /v1/admin/reload` runs: re-read the config file and apply the difference (the CLI's). Default: none (the route answers 409). */
  reload?: Reload;
  /** Serve only `/health`, `/v1/status`, `/v1/latency` and `/metrics`, no stream (`--role feed`, docs/scale-out.md). Default false. */
  operationsOnly?: boolean;
}

/** Default `candleCacheBytes`: about 75 series of 1,000 bars kept ready. */
export const DEFAULT_CANDLE_CACHE_BYTES = 64 * 1024 * 1024;

export interface TickwireServer {
  /** Bind and start serving; resolves with the address actually bound. */
  listen(): Promise<{ host: string; port: number }>;
  /** Close every connection and the listen socket; unsubscribe from the library. Idempotent. */
  close(): Promise<void>;
  /** Open WebSocket connections. */
  readonly connections: number;
  /** The connection caps in force and the open-files limit they came from (start-up reports them). */
  readonly caps: ConnectionCaps;
  /** Random id of this server's life, as `subscribed` replies carry it; seqs restart with a new one. */
  readonly epoch: string;
  /** Raise an alert on the `alerts` room; throws INVALID_PARAMETER for a bad one. Returns it as published. */
  publishAlert(alert: AlertInput): Alert & { seq: number };
  /** Every route registered, in order (method, uWS pattern): what the API reference must describe. */
  readonly routes: readonly RouteEntry[];
}

export const DEFAULT_MAX_BACKPRESSURE = defaultStreamConfig().maxBackpressure;
export const DEFAULT_MAX_PAYLOAD_LENGTH = defaultStreamConfig().maxMessageBytes;
/** `createServer` options that override keys of the `stream:` section of the same name. */
const STREAM_OPTIONS = ['maxBackpressure', 'slowConsumer', 'resumeHistory', 'resumeLingerS', 'maxChannelsPerConnection', 'subscribeRate', 'idleTimeoutS'] as const;
/**
 * `LIBUS_LISTEN_EXCLUSIVE_PORT`: no SO_REUSEPORT, so a second server on the same port fails instead of
 * sharing it. (The pinned build sets neither SO_REUSEPORT nor SO_REUSEADDR in any mode, checked with
 * strace: a server-side TIME_WAIT left on the port, e.g. by an idle keep-alive HTTP connection `close()`
 * had to cut, blocks re-binding it for up to 60 s.)
 */
const LISTEN_EXCLUSIVE_PORT = 1;

/** uWS-specific calls this build has but its declarations lack. */
interface UwsAppExtras {
  listen(host: string, port: number, options: number, cb: (socket: us_listen_socket | false) => void): TemplatedApp;
  close(): void;
}

/**
 * Refuse to run without uWebSockets.js's native binary (never on a copy's
 * JavaScript fallback): a TickwireError naming the missing requirement (uws.ts).
 */
export function assertNativeUws(): void {
  uws();
}

/**
 * The options given in code, checked with the config's own rules and messages
 * (config/server.ts); the config's values are trusted, validated at load.
 */
function validateOptions(options: ServerOptions, tickwire: Tickwire): CheckedServerOptions {
  // `??`: a Tickwire implemented outside this package may carry a config without the section.
  const base = tickwire.config.stream ?? defaultStreamConfig();
  const { server } = tickwire.config;
  const given: Record<string, unknown> = {
    host: options.host,
    port: options.port,
    maxPayloadLength: options.maxPayloadLength,
    maxConnections: options.maxConnections,
    maxConnectionsPerAddress: options.maxConnectionsPerAddress,
  };
  for (const key of STREAM_OPTIONS) if (options[key] !== undefined) given[key] = options[key];
  return parseServerOptions(given, {
    host: server.host,
    port: server.port,
    maxConnections: server.maxConnections,
    maxConnectionsPerAddress: server.maxConnectionsPerAddress,
    stream: base,
  });
}

/** `candleCacheBytes` as given (checked: an integer ≥ 0; 0 keeps nothing ready), else the default. */
function candleCacheBytes(given: number | undefined): number {
  if (given === undefined) return DEFAULT_CANDLE_CACHE_BYTES;
  if (!Number.isSafeInteger(given) || given < 0) {
    throw new TickwireError(ErrorCode.INVALID_CONFIG, `candleCacheBytes: ${showValue(given)} is not an integer ≥ 0 (bytes of ready candles; 0 keeps none)`);
  }
  return given;
}

export function createServer(tickwire: Tickwire, options: ServerOptions = {}): TickwireServer {
  const uWS = uws();
  const opts = validateOptions(options, tickwire);
  const log = options.logger ?? tickwire.log ?? libraryLogger();
  const onError = options.onError ?? ((err: unknown, where: string) => log.error({ event: 'server.internal_error', where, err }, `unexpected error in ${where}`));
  // `??`: a Tickwire implemented outside this package may carry a config without these sections.
  const auth = options.auth ?? tickwire.config.auth ?? defaultAuthConfig();
  const corsConfig = options.cors ?? tickwire.config.server.cors ?? { origins: [] };
  if (isOpen(auth) && !auth.allowOpen && !isLoopbackHost(opts.host)) {
    throw new TickwireError(ErrorCode.INVALID_CONFIG, `auth.allowOpen: ${openServerProblem(JSON.stringify(opts.host))}`);
  }
  // One policy for the routes and the authenticator; it learns the server's own origins at listen().
  const cors = new CorsPolicy(corsConfig);
  const connections = new ConnectionLimits(connectionCaps(opts, readFdLimit()));

  const routes: RouteEntry[] = [];
  const app = recordRoutes(uWS.App(), routes);
  let stream: StreamServer | undefined = undefined;
  const metrics = new LoggedServerMetrics({
    connections: () => stream?.connections ?? 0,
    subscriptions: () => stream?.subscriptions ?? 0,
    historyBytes: () => stream?.historyBytes ?? 0,
    maxBuffered: () => stream?.maxBuffered ?? 0,
    counted: () => connections.open,
    maxConnections: () => connections.caps.maxConnections,
  }, log.child({ component: 'server' }));
  const authenticate = createAuthenticator(auth, { cors, onThrottled: (reason) => metrics.authThrottled(reason) });
  const wsAuthenticate: Authenticator = (request) => {
    const counted = (err: unknown): never => {
      if (err instanceof UnauthorizedError) metrics.authFailure('ws', err.reason);
      throw err;
    };
    try {
      const who = authenticate(request);
      return who instanceof Promise ? who.catch(counted) : who;
    } catch (err) {
      return counted(err);
    }
  };
  const operationsOnly = options.operationsOnly === true;
  if (!operationsOnly) stream = new StreamServer(app, tickwire, metrics, { config: opts.stream, onError, authenticate: wsAuthenticate, connections });

  // ── routes (WebSocket first; HTTP ends with the catch-all 404) ──
  if (stream !== undefined) app.ws('/v1/stream', stream.behavior);
  const http: HttpContext = {
    tickwire,
    metrics,
    onError,
    authenticate,
    rateLimiter: auth.httpRate === null ? undefined : new RateLimiter(auth.httpRate.rate, auth.httpRate.burst),
    cors,
    connections,
    keepAliveNeedsCredential: !isOpen(auth),
    candleCacheBytes: candleCacheBytes(options.candleCacheBytes),
    operationsOnly,
  };
  if (!operationsOnly) registerAdminRoutes(app, http, options.reload);
  registerHttpRoutes(app, http);

  let listenSocket: us_listen_socket | null = null;
  let address: { host: string; port: number } | null = null;
  let closed = false;

  return {
    listen() {
      if (closed) return Promise.reject(new TickwireError(ErrorCode.INTERNAL_ERROR, 'server is closed'));
      if (address !== null) return Promise.resolve({ ...address });
      return new Promise((resolve, reject) => {
        (app as unknown as UwsAppExtras).listen(opts.host, opts.port, LISTEN_EXCLUSIVE_PORT, (socket) => {
          if (socket === false) {
            reject(new TickwireError(ErrorCode.INTERNAL_ERROR, `could not listen on ${opts.host}:${opts.port} (in use or not permitted)`));
            return;
          }
          listenSocket = socket;
          address = { host: opts.host, port: uWS.us_socket_local_port(socket as unknown as us_socket) };
          cors.listening(address.host, address.port);
          resolve({ ...address });
        });
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      stream?.close();
      if (listenSocket !== null) {
        uWS.us_listen_socket_close(listenSocket);
        listenSocket = null;
      }
      // Closes what is left: idle keep-alive HTTP connections, responses still awaiting /metrics.
      (app as unknown as UwsAppExtras).close();
    },

    get connections() {
      return stream?.connections ?? 0;
    },

    caps: connections.caps,

    get epoch() {
      return stream?.epoch ?? tickwire.epoch ?? '';
    },

    publishAlert(alert) {
      if (stream === undefined) throw new TickwireError(ErrorCode.INVALID_PARAMETER, 'this server serves no stream (operationsOnly): alerts are raised on an edge');
      return stream.publishAlert(alert);
    },

    routes,
  };
}
