/**
 * Who is asking, as the transports see it. `auth.ts` turns credentials into a
 * `Principal`; the HTTP routes and the `/v1/stream` WebSocket only ask it
 * whether a channel is allowed. Kept apart so neither transport depends on how
 * credentials are checked.
 *
 * Channel patterns (token `channels` in the config, the JWT `channels` claim):
 *  - `*` alone allows every channel, rooms included;
 *  - `trades:<exchange>:<symbol>`, `quotes:<exchange>:<symbol>`,
 *    `bars:<exchange>:<symbol>:<tf>` where `*` may stand for a whole segment
 *    (exchange, symbol or timeframe; never part of one, never the kind);
 *  - `system`, `alerts`: the rooms.
 * Symbols are the exchange's native ids (`BTCUSDT`, `XBT/USD`, and they may
 * hold `:`); a timeframe may be given as a MetaTrader alias (`M1` = `1m`).
 * Allowing `*` for the timeframe goes one step further than the stream's
 * subscribe wildcards (exchange and symbol only): a permission for "every bar
 * of binance" should not have to list each timeframe. The patterns are parsed
 * and matched by src/wire/channels.ts (`parseChannelPattern`, `matchesChannel`).
 */
import { ErrorCode, TickwireError } from '../errors.ts';
import { matchesChannel, parseChannelPattern, type ChannelPattern } from '../wire/channels.ts';

/** What a transport hands over to be authenticated (empty strings when absent). */
export interface AuthRequest {
  /** The `Authorization` header (`Bearer <token or JWT>`). */
  authorization: string;
  /** The `Sec-WebSocket-Protocol` header: offered subprotocols, comma-separated (`tickwire.fbs, bearer.<token>`). */
  protocol: string;
  /** The raw query string, without `?` (`token=...` is accepted where headers cannot be set, e.g. browsers' WebSocket). */
  query: string;
  /**
   * The `Origin` header (browsers). There is deliberately no `Host`: a
   * DNS-rebinding page controls it along with its `Origin`; the server's own
   * origins come from the address it is bound to (cors.ts).
   */
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
  /** Scopes beyond reading (`admin`); absent: none. */
  readonly scopes?: readonly string[];
}

/**
 * What a route or channel protects (docs/security.md):
 *  - `market`: market data and the gateway's own status. A credential when
 *    the server has any configured; everyone is anonymous on an open server.
 *  - `private`: anything that changes state or reveals holdings (admin,
 *    portfolios, strategies). A credential always, open server or not (an
 *    open server has none, so it serves no private route), sent in the
 *    `Authorization` header or, on the WebSocket, the `bearer.` subprotocol,
 *    never `?token=`: a request carrying it is never a "simple" one a form or
 *    an `<img>` can make. Browser origins: the server's own and those listed
 *    by name in `server.cors.origins`, `*` never.
 */
export type Protection = 'market' | 'private';

/** Authenticates a request (for `market` by default); throws TickwireError `UNAUTHORIZED` when the credentials are missing or wrong. */
export type Authenticate = (request: AuthRequest, protection?: Protection) => Principal;

/**
 * What `createAuthenticator` returns: an `Authenticate` that may answer with
 * a promise, the first time it sees a JWT whose signature is checked against
 * a JWKS (asynchronously); rejects with UNAUTHORIZED like the other throws.
 */
export type Authenticator = (request: AuthRequest, protection?: Protection) => Principal | Promise<Principal>;

/** The principal of an open server: everything allowed. */
export const ANONYMOUS: Principal = { name: 'anonymous', allows: () => true };

// ── channel patterns ───────────────────────────────────────────────────────

/**
 * Compile a list of patterns into one `allows` test (a bare `*` anywhere: a
 * constant true). Throws TickwireError INVALID_PARAMETER naming the first bad
 * pattern.
 */
export function compileChannelPatterns(patterns: readonly string[]): (channel: string) => boolean {
  const parsed: ChannelPattern[] = [];
  for (const text of patterns) {
    const p = parseChannelPattern(text);
    if (typeof p === 'string') throw new TickwireError(ErrorCode.INVALID_PARAMETER, `invalid channel pattern ${JSON.stringify(text)}: ${p}`);
    if (p.kind === '*') return () => true;
    parsed.push(p);
  }
  return (channel) => {
    for (let i = 0; i < parsed.length; i++) if (matchesChannel(parsed[i]!, channel)) return true;
    return false;
  };
}
