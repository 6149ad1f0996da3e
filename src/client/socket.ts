/**
 * The WebSocket the client talks through, the same in browsers and Node.
 *
 * The client is written against the WHATWG WebSocket API only (`onopen`,
 * `onmessage`, `binaryType`, ...). It uses, in order: an implementation
 * passed in the options; the global `WebSocket` (browsers, Deno, Node ≥ 22);
 * else the `ws` package, imported lazily through a specifier bundlers do not
 * follow, so a browser bundle never contains it.
 *
 * Credentials: `ws` can send headers, so it gets `Authorization: Bearer`.
 * A browser WebSocket cannot: the token is offered as a subprotocol
 * `bearer.<token>` next to `tickwire.json`/`tickwire.fbs` (which the server
 * selects), or, for a token with characters a subprotocol cannot carry, in
 * the query (`token=`, the last resort: URLs end up in logs).
 */
import { ErrorCode, InvalidParameterError, TickwireError } from '../errors.ts';
import { FBS_SUBPROTOCOL, JSON_SUBPROTOCOL } from '../wire/protocol.ts';

/** The part of the WHATWG WebSocket API the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket class: the browser's, `ws`, or any with the same constructor. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** `ws`'s constructor, which also takes options (headers). */
type NodeWebSocketConstructor = new (
  url: string,
  protocols: string[],
  options: { headers: Record<string, string>; perMessageDeflate: boolean },
) => WebSocketLike;

/** WebSocket `readyState` values. */
export const OPEN = 1;

/** Where the token travels on the upgrade request. */
export type TokenPlacement = 'none' | 'header' | 'protocol' | 'query';

/** Characters a subprotocol name may hold (RFC 7230 `token`). */
const TCHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Where `token` goes: a header when the implementation can send one, else a subprotocol when it fits, else the query. */
export function tokenPlacement(token: string | undefined, headers: boolean): TokenPlacement {
  if (token === undefined) return 'none';
  if (headers) return 'header';
  return TCHARS.test(token) ? 'protocol' : 'query';
}

/** Opens stream connections with the implementation found. */
export interface SocketFactory {
  /** Open `/v1/stream` of `base` in `format`, carrying `token` the best way this implementation allows. */
  open(base: Endpoints, format: 'json' | 'fbs', token: string | undefined): WebSocketLike;
  /** True when the implementation sends headers (the `ws` package). */
  readonly headers: boolean;
}

/** Not a literal in the `import()` below, so bundlers leave `ws` out of browser builds. */
const NODE_WS_MODULE = 'ws';
let nodeWs: Promise<NodeWebSocketConstructor> | undefined;

function loadNodeWs(): Promise<NodeWebSocketConstructor> {
  nodeWs ??= (import(/* @vite-ignore */ /* webpackIgnore: true */ NODE_WS_MODULE) as Promise<{ default?: unknown; WebSocket?: unknown }>).then(
    (m) => {
      const ctor = m.default ?? m.WebSocket;
      if (typeof ctor !== 'function') throw new Error('the ws package has no WebSocket export');
      return ctor as NodeWebSocketConstructor;
    },
    (err: unknown) => {
      nodeWs = undefined;
      throw new TickwireError(
        ErrorCode.INVALID_PARAMETER,
        'no WebSocket implementation: this runtime has no global WebSocket and the "ws" package could not be loaded; ' +
          'install ws or pass one in the WebSocket option',
        { cause: err },
      );
    },
  );
  return nodeWs;
}

/** Resolve which WebSocket implementation to use (loading `ws` on first need). */
export async function socketFactory(injected: WebSocketConstructor | undefined): Promise<SocketFactory> {
  const impl = injected ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof impl === 'function') {
    return {
      headers: false,
      open(base, format, token) {
        const placement = tokenPlacement(token, false);
        const url = streamUrl(base, format, placement === 'query' ? token : undefined);
        return placement === 'protocol' ? new impl(url, [format === 'fbs' ? FBS_SUBPROTOCOL : JSON_SUBPROTOCOL, `bearer.${token}`]) : new impl(url);
      },
    };
  }
  const Ws = await loadNodeWs();
  return {
    headers: true,
    open(base, format, token) {
      const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
      return new Ws(streamUrl(base, format, undefined), [], { headers, perMessageDeflate: false });
    },
  };
}

/** Base URLs of one server: HTTP (for candles, health) and WebSocket, without a trailing slash. */
export interface Endpoints {
  readonly http: string;
  readonly ws: string;
}

const SCHEMES: Record<string, [string, string]> = {
  'http:': ['http:', 'ws:'],
  'https:': ['https:', 'wss:'],
  'ws:': ['http:', 'ws:'],
  'wss:': ['https:', 'wss:'],
};

/** Derive both base URLs from the one the user gave (`http://host:port[/prefix]` or its ws form). */
export function endpoints(url: unknown): Endpoints {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    throw new InvalidParameterError('url', url, 'an absolute http(s):// or ws(s):// URL of the tickwire server');
  }
  const schemes = SCHEMES[parsed.protocol];
  if (typeof url !== 'string' || schemes === undefined || parsed.search !== '' || parsed.hash !== '') {
    throw new InvalidParameterError('url', url, 'an absolute http(s):// or ws(s):// URL without query or fragment');
  }
  const rest = parsed.host + parsed.pathname.replace(/\/+$/, '');
  return { http: `${schemes[0]}//${rest}`, ws: `${schemes[1]}//${rest}` };
}

/** The `/v1/stream` URL: `format=fbs` for binary, `token=` when the token can travel no other way. */
export function streamUrl(base: Endpoints, format: 'json' | 'fbs', queryToken: string | undefined): string {
  const params = new URLSearchParams();
  if (format === 'fbs') params.set('format', 'fbs');
  if (queryToken !== undefined) params.set('token', queryToken);
  const query = params.toString();
  return `${base.ws}/v1/stream${query === '' ? '' : `?${query}`}`;
}

/** What a WebSocket error event says, as far as the runtime tells (browsers tell nothing). */
export function socketErrorText(event: unknown): string {
  const e = event as { message?: unknown; error?: { message?: unknown } } | null;
  if (typeof e?.message === 'string' && e.message !== '') return e.message;
  if (typeof e?.error?.message === 'string') return e.error.message;
  return 'WebSocket error';
}
