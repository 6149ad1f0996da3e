/**
 * One HTTP GET to the tickwire API with a deadline: the global `fetch`
 * (browsers, Node ≥ 18) or an injected one. An answer with the API's error
 * body (`{"error":{"code","message"}}`) becomes a TickwireError with that
 * code; a refused connection, a timeout or an unreadable answer throws a
 * `TransportError` (which has no server code to give).
 */
import { ErrorCode, TickwireError } from '../errors.ts';

/** The part of `fetch` the client uses. */
export type FetchLike = (
  url: string,
  init: { headers: Record<string, string>; signal: AbortSignal },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string>; arrayBuffer(): Promise<ArrayBuffer> }>;

/** The request never got an API answer: connection refused or reset, timeout, or an answer that is not the API's. */
export class TransportError extends Error {
  /** `timeout` when the deadline passed, else `network` or `malformed`. */
  readonly kind: 'timeout' | 'network' | 'malformed';

  constructor(kind: TransportError['kind'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportError';
    this.kind = kind;
  }
}

const CODES = new Set<string>(Object.values(ErrorCode));

/** An API error body turned into a TickwireError; undefined when `text` is not one. */
export function apiError(status: number, text: string, retryAfter: string | null): TickwireError | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const err = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (typeof err?.code !== 'string' || typeof err.message !== 'string') return undefined;
  const known = CODES.has(err.code);
  const code = known ? (err.code as ErrorCode) : ErrorCode.INTERNAL_ERROR;
  const wait = retryAfter === null ? '' : ` (retry after ${retryAfter} s)`;
  return new TickwireError(code, `${known ? '' : `${err.code}: `}${err.message}${wait} [HTTP ${status}]`);
}

/** How to make one request: which fetch, which credential, how long to wait. */
export interface GetOptions {
  fetch: FetchLike;
  token: string | undefined;
  timeoutMs: number;
  /** Aborts the request early (a caller's own deadline). */
  signal?: AbortSignal;
}

/** The answer of a GET: status and the body as text or bytes. */
export interface GetAnswer<B> {
  status: number;
  body: B;
}

/**
 * GET `url`; answers 2xx (and the statuses in `alsoOk`) are returned, any other status throws the API's
 * TickwireError (or a TransportError when the body is not an API error).
 */
export async function httpGet(url: string, options: GetOptions, as: 'text', alsoOk?: readonly number[]): Promise<GetAnswer<string>>;
export async function httpGet(url: string, options: GetOptions, as: 'bytes', alsoOk?: readonly number[]): Promise<GetAnswer<Uint8Array>>;
export async function httpGet(
  url: string,
  options: GetOptions,
  as: 'text' | 'bytes',
  alsoOk: readonly number[] = [],
): Promise<GetAnswer<string | Uint8Array>> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), options.timeoutMs);
  const outer = options.signal;
  const forward = (): void => abort.abort();
  if (outer?.aborted === true) abort.abort();
  else outer?.addEventListener('abort', forward, { once: true });
  try {
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    const res = await options.fetch(url, { headers, signal: abort.signal });
    if ((res.status >= 200 && res.status < 300) || alsoOk.includes(res.status)) {
      const body = as === 'text' ? await res.text() : new Uint8Array(await res.arrayBuffer());
      return { status: res.status, body };
    }
    const text = await res.text();
    const err = apiError(res.status, text, res.headers.get('retry-after'));
    if (err !== undefined) throw err;
    throw new TransportError('malformed', `HTTP ${res.status} without an API error body: ${text.slice(0, 200)}`);
  } catch (err) {
    if (err instanceof TickwireError || err instanceof TransportError) throw err;
    if (abort.signal.aborted) throw new TransportError('timeout', `no answer within ${options.timeoutMs} ms`, { cause: err });
    const reason = (err as { cause?: { code?: unknown } })?.cause?.code;
    throw new TransportError('network', `request failed${typeof reason === 'string' ? ` (${reason})` : ''}: ${String((err as Error)?.message ?? err)}`, {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', forward);
  }
}
