/**
 * Who is asking, as the transports see it. `auth.ts` turns credentials into a
 * `Principal`; the HTTP routes and the `/v1/stream` WebSocket only ask it
 * whether a channel is allowed. Kept apart so neither transport depends on how
 * credentials are checked.
 */

/** What a transport hands over to be authenticated (empty strings when absent). */
export interface AuthRequest {
  /** The `Authorization` header (`Bearer <token or JWT>`). */
  authorization: string;
  /** The `Sec-WebSocket-Protocol` header: offered subprotocols, comma-separated (`tickwire.fbs, bearer.<token>`). */
  protocol: string;
  /** The raw query string, without `?` (`token=...` is accepted where headers cannot be set, e.g. browsers' WebSocket). */
  query: string;
  /** The `Origin` header (browsers). */
  origin: string;
  /** Remote address as text, for per-client rate limits and logs. */
  remoteAddress: string;
}

/** An authenticated (or anonymous, when the server is open) client. */
export interface Principal {
  /** Stable name for logs, metrics and rate limits: the token's name, the JWT subject, or `anonymous`. */
  readonly name: string;
  /** True when this principal may read `channel` (a concrete channel name such as `trades:binance:BTCUSDT`). */
  allows(channel: string): boolean;
}

/** Authenticates a request; throws TickwireError `UNAUTHORIZED` when the credentials are missing or wrong. */
export type Authenticate = (request: AuthRequest) => Principal;

/** The principal of an open server: everything allowed. */
export const ANONYMOUS: Principal = { name: 'anonymous', allows: () => true };
