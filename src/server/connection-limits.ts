/**
 * Connection caps (docs/protocol.md, "Limits"): open WebSocket connections in all and
 * per remote address, refused cleanly well before the process runs out of
 * file descriptors.
 *
 * Why: at the open-files limit uSockets' `accept` fails with EMFILE and the
 * listen socket stays readable, so the event loop spins (measured: 101% CPU
 * and `/health` at 2 to >5 s with `ulimit -n 1024` and 1,500 clients). A
 * refused upgrade is answered 503 and its socket closed at once, so the
 * descriptors in use stay near the cap.
 *
 * Defaults, from the soft RLIMIT_NOFILE (Node raises it to the hard limit at
 * start, so they are usually equal): `maxConnections` leaves a fifth of the
 * limit (at least 64) for HTTP sockets, files, LMDB and the feeds;
 * `maxConnectionsPerAddress` is a quarter of that for every address but
 * loopback ones (a local reverse proxy, a load generator), unless set.
 *
 * What it cannot see: uWS (the pinned build has no `filter` hook) says
 * nothing when a TCP connection is accepted, only when it makes a request.
 * HTTP sockets are not counted; at the cap every HTTP answer closes its
 * connection, and a socket that never sends a request is closed by uWS
 * after ~10 s. The reserve above is for them.
 */
import { readFileSync } from 'node:fs';
import { isLoopbackHost } from '../security/host.ts';

/** The open-files limits in force (RLIMIT_NOFILE); Infinity for `unlimited`. */
export interface FdLimit {
  soft: number;
  hard: number;
}

/** Why a connection was refused: the `reason` label of `tickwire_connections_refused_total`. */
export type RefusalReason = 'max_connections' | 'max_per_address';

/** The caps in force and where they came from. */
export interface ConnectionCaps {
  maxConnections: number;
  /** Per remote address. */
  maxConnectionsPerAddress: number;
  /** Whether loopback addresses are held to `maxConnectionsPerAddress` (only when it was set explicitly). */
  perAddressOnLoopback: boolean;
  /** The limit the defaults were derived from; undefined where it could not be read (1024 assumed). */
  fdLimit: FdLimit | undefined;
}

/** Assumed where /proc/self/limits cannot be read (not Linux): the common soft default. */
const ASSUMED_FD_LIMIT = 1024;
/** At least this many descriptors stay outside the cap. */
const MIN_RESERVE = 64;

/** The "Max open files" line of /proc/self/limits text; undefined when absent or unreadable. */
export function parseFdLimit(limits: string): FdLimit | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(limits);
  if (m === null) return undefined;
  const read = (v: string) => (v === 'unlimited' ? Infinity : Number(v));
  return { soft: read(m[1]!), hard: read(m[2]!) };
}

/** This process's open-files limit, from /proc/self/limits (Linux); undefined elsewhere. */
export function readFdLimit(): FdLimit | undefined {
  try {
    return parseFdLimit(readFileSync('/proc/self/limits', 'latin1'));
  } catch {
    return undefined;
  }
}

/** The caps: the configured ones, the others derived from `fdLimit` (see the module comment). */
export function connectionCaps(
  configured: { maxConnections?: number | undefined; maxConnectionsPerAddress?: number | undefined },
  fdLimit: FdLimit | undefined,
): ConnectionCaps {
  const soft = Math.min(fdLimit?.soft ?? ASSUMED_FD_LIMIT, Number.MAX_SAFE_INTEGER);
  const derived = Math.max(1, soft - Math.max(MIN_RESERVE, Math.ceil(soft / 5)));
  const maxConnections = configured.maxConnections ?? derived;
  const perAddress = configured.maxConnectionsPerAddress;
  return {
    maxConnections,
    maxConnectionsPerAddress: perAddress ?? Math.max(1, Math.ceil(maxConnections / 4)),
    perAddressOnLoopback: perAddress !== undefined,
    fdLimit,
  };
}

/** One line for start-up: the caps and the open-files limit, with how to raise a soft limit below the hard one. */
export function describeCaps(caps: ConnectionCaps): string {
  const { fdLimit } = caps;
  const perAddress = `${caps.maxConnectionsPerAddress} per address${caps.perAddressOnLoopback ? '' : ', loopback exempt'}`;
  let line = `connections: at most ${caps.maxConnections} WebSockets (${perAddress}); `;
  if (fdLimit === undefined) return line + `open-files limit unknown, ${ASSUMED_FD_LIMIT} assumed (set server.maxConnections)`;
  line += `open-files limit ${fdLimit.soft}`;
  if (fdLimit.soft < fdLimit.hard) line += ` (hard ${fdLimit.hard}: raise it with \`ulimit -n ${fdLimit.hard}\` before starting)`;
  if (caps.maxConnections >= fdLimit.soft) line += `; warning: server.maxConnections is not below it, connections past the limit will stall the server`;
  return line;
}

/** Counts open connections by remote address and says whether one more may open. */
export class ConnectionLimits {
  readonly caps: ConnectionCaps;
  readonly #byAddress = new Map<string, number>();
  #open = 0;
  /** Addresses holding `maxConnectionsPerAddress` or more connections (loopback ones included). */
  #crowded = 0;

  constructor(caps: ConnectionCaps) {
    this.caps = caps;
  }

  /** Connections counted now. */
  get open(): number {
    return this.#open;
  }

  /** Why one more connection from `address` would be refused; null when it may open. */
  refusal(address: string): RefusalReason | null {
    if (this.#open >= this.caps.maxConnections) return 'max_connections';
    if ((this.#byAddress.get(address) ?? 0) >= this.caps.maxConnectionsPerAddress && this.#capped(address)) return 'max_per_address';
    return null;
  }

  /**
   * Whether `refusal` could refuse anyone now: false while no cap is reached, so a caller can skip
   * reading the client's address (an HTTP answer's keep-alive decision).
   */
  mayRefuse(): boolean {
    return this.#crowded > 0 || this.#open >= this.caps.maxConnections;
  }

  opened(address: string): void {
    this.#open++;
    const n = (this.#byAddress.get(address) ?? 0) + 1;
    this.#byAddress.set(address, n);
    if (n === this.caps.maxConnectionsPerAddress) this.#crowded++;
  }

  closed(address: string): void {
    const n = this.#byAddress.get(address);
    if (n === undefined) return;
    this.#open--;
    if (n === this.caps.maxConnectionsPerAddress) this.#crowded--;
    if (n <= 1) this.#byAddress.delete(address);
    else this.#byAddress.set(address, n - 1);
  }

  #capped(address: string): boolean {
    return this.caps.perAddressOnLoopback || !isLoopbackHost(address);
  }
}
