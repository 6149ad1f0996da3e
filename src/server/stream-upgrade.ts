/**
 * The HTTP upgrade to `/v1/stream`: the connection caps (503
 * TOO_MANY_CONNECTIONS, counted by reason, checked first: a refusal costs no
 * authentication), the `authenticate` hook (401 with the JSON error body on
 * failure, 503 while shutting down), the format
 * negotiation (JSON text, or FlatBuffers binary frames for `?format=fbs` or
 * the `tickwire.fbs` subprotocol) and the new connection's state. Every
 * refusal closes its socket (`Connection: close`): a refused client holds no
 * descriptor.
 *
 * Authentication may answer later: a JWT checked against a JWKS the first
 * time it is seen is a promise (auth.ts). Then, as uWS requires, everything
 * is copied from `req` first (it already is: key, subprotocols, extensions,
 * query), `onAborted` is registered before waiting (an answer to a request
 * that went away without one aborts the process), and the upgrade or the
 * refusal is written inside `res.cork`; a client gone meanwhile is dropped,
 * and the shutdown check is made again.
 */
import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import type { StreamConfig } from '../config/types.ts';
import { ErrorCode, InvalidParameterError, TickwireError } from '../errors.ts';
import { FBS_SUBPROTOCOL, JSON_SUBPROTOCOL } from '../wire/protocol.ts';
import type { ConnectionLimits } from './connection-limits.ts';
import type { HeaderList } from './cors.ts';
import { JSON_TYPE, parseQuery, remoteAddress, statusOfCode, v1ErrorBody, writeResponse } from './http-util.ts';
import type { ServerMetrics } from './metrics.ts';
import type { Authenticator, AuthRequest, Principal } from './principal.ts';
import { TokenBucket } from './rate-limit.ts';
import { ConnState, type BufferLimits, type Conn } from './stream-conn.ts';

const CLOSE = { close: true } as const;
/** A refusal for load: clients may retry (the SDK's reconnect backs off on its own). */
const RETRY_LATER: HeaderList = [['Retry-After', '1']];

/** The subprotocol to answer ('' for none) and whether the connection gets binary frames. */
export interface Negotiated {
  protocol: string;
  binary: boolean;
}

/**
 * The format and the subprotocol to answer. `?format=json|fbs` decides when
 * given (an offered subprotocol of the other format is a contradiction:
 * 400); else the first of `tickwire.json` / `tickwire.fbs` the client
 * offers; else JSON. Other offered subprotocols (`bearer.<token>`) are
 * never selected.
 */
export function negotiateFormat(query: string, offered: string): Negotiated {
  const format = parseQuery(query, ['format', 'token']).get('format');
  if (format !== undefined && format !== 'json' && format !== 'fbs') throw new InvalidParameterError('format', format, 'json or fbs');
  const protocols = offered.split(',').map((p) => p.trim());
  const json = protocols.indexOf(JSON_SUBPROTOCOL);
  const fbs = protocols.indexOf(FBS_SUBPROTOCOL);
  let binary: boolean;
  if (format !== undefined) {
    binary = format === 'fbs';
    if ((binary && fbs < 0 && json >= 0) || (!binary && json < 0 && fbs >= 0)) {
      throw new TickwireError(
        ErrorCode.INVALID_PARAMETER,
        `format=${format} contradicts the offered subprotocol ${binary ? JSON_SUBPROTOCOL : FBS_SUBPROTOCOL}`,
      );
    }
  } else {
    binary = fbs >= 0 && (json < 0 || fbs < json);
  }
  if (binary) return { protocol: fbs >= 0 ? FBS_SUBPROTOCOL : '', binary };
  return { protocol: json >= 0 ? JSON_SUBPROTOCOL : '', binary };
}

/** Answers upgrade requests: authenticated and negotiated ones become connections, the others an HTTP error. */
export class StreamUpgrade {
  /** Set by the stream's close: later upgrades are refused with 503. */
  closing = false;
  readonly #cfg: StreamConfig;
  readonly #limits: BufferLimits;
  readonly #metrics: ServerMetrics;
  readonly #authenticate: Authenticator;
  readonly #onError: (err: unknown, where: string) => void;
  readonly #connections: ConnectionLimits;

  constructor(
    cfg: StreamConfig,
    limits: BufferLimits,
    metrics: ServerMetrics,
    authenticate: Authenticator,
    onError: (err: unknown, where: string) => void,
    connections: ConnectionLimits,
  ) {
    this.#cfg = cfg;
    this.#limits = limits;
    this.#metrics = metrics;
    this.#authenticate = authenticate;
    this.#onError = onError;
    this.#connections = connections;
  }

  /** uWS `upgrade`: authenticate, negotiate, then upgrade with a fresh connection state (or answer the error). */
  handle(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    const address = remoteAddress(res);
    const refusal = this.#connections.refusal(address);
    if (refusal !== null) {
      this.#metrics.connectionRefused(refusal);
      this.#metrics.httpRequest('/v1/stream', 503);
      const { caps } = this.#connections;
      const message =
        refusal === 'max_connections'
          ? `too many connections: the server holds its limit of ${caps.maxConnections} (server.maxConnections); retry later`
          : `too many connections from ${address}: ${caps.maxConnectionsPerAddress} per address (server.maxConnectionsPerAddress); retry later`;
      writeResponse(res, 503, v1ErrorBody(ErrorCode.TOO_MANY_CONNECTIONS, message), JSON_TYPE, RETRY_LATER, CLOSE);
      return;
    }
    // Copy everything from req first: it is only valid in this call.
    const key = req.getHeader('sec-websocket-key');
    const offered = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    const query = req.getQuery() ?? '';
    const request: AuthRequest = {
      authorization: req.getHeader('authorization'),
      protocol: offered,
      query,
      origin: req.getHeader('origin'),
      remoteAddress: address,
    };
    let negotiated: Negotiated;
    let principal: Principal | Promise<Principal>;
    try {
      if (this.closing) throw new TickwireError(ErrorCode.INTERNAL_ERROR, 'server is shutting down');
      principal = this.#authenticate(request);
      negotiated = negotiateFormat(query, offered);
    } catch (err) {
      this.#refuse(res, err);
      return;
    }
    if (!(principal instanceof Promise)) {
      this.#open(res, principal, address, negotiated, key, extensions, context);
      return;
    }
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    principal
      .then(
        (who) => !aborted && res.cork(() => (this.closing ? this.#refuse(res, undefined) : this.#open(res, who, address, negotiated, key, extensions, context))),
        (err: unknown) => !aborted && res.cork(() => this.#refuse(res, err)),
      )
      .catch((err: unknown) => this.#onError(err, '/v1/stream upgrade'));
  }

  /** Answer `err` (undefined: shutting down) with its status and the JSON error body. */
  #refuse(res: HttpResponse, err: unknown): void {
    let e: TickwireError;
    if (err === undefined) {
      e = new TickwireError(ErrorCode.INTERNAL_ERROR, 'server is shutting down');
    } else if (err instanceof TickwireError) {
      e = err;
    } else {
      this.#onError(err, '/v1/stream upgrade');
      e = new TickwireError(ErrorCode.INTERNAL_ERROR, 'internal error');
    }
    const status = this.closing ? 503 : statusOfCode(e.code);
    this.#metrics.httpRequest('/v1/stream', status);
    writeResponse(res, status, v1ErrorBody(e.code, e.message), JSON_TYPE, undefined, CLOSE);
  }

  #open(res: HttpResponse, principal: Principal, address: string, negotiated: Negotiated, key: string, extensions: string, context: us_socket_context_t): void {
    const conn: Conn = {
      closed: false, ws: null, binary: negotiated.binary, principal, address, state: ConnState.NORMAL,
      channels: new Map(), patterns: [],
      bucket: new TokenBucket(this.#cfg.subscribeRate.rate, this.#cfg.subscribeRate.burst),
      limit: this.#limits.conflate, largest: 0, heapIndex: -1, checkAt: 0, pending: new Set(), queued: null,
    };
    res.upgrade(conn, key, negotiated.protocol, extensions, context);
  }
}
