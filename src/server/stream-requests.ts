/**
 * Client messages of `/v1/stream` → validated requests. Client ops are JSON
 * text frames: `subscribe` (channels, wildcards, an optional bars `snapshot`
 * of 1..1000, an optional `since` map to resume, an optional `epoch`),
 * `unsubscribe`, `ping`. A message with any bad part is rejected whole (the
 * first bad channel names the error) with INVALID_PARAMETER, UNAUTHORIZED or
 * RATE_LIMITED; nothing here changes a connection's subscriptions.
 *
 * Work is bounded per message (at most MAX_CHANNELS_PER_MESSAGE names, of
 * which MAX_WILDCARDS_PER_MESSAGE wildcards, each expanded once) and counted
 * (`work`: channels resolved, expanded or matched), so the caller charges
 * the connection's rate limit by what a message cost, not one per message.
 */
import { ErrorCode, InvalidParameterError, showValue, TickwireError } from '../errors.ts';
import { unknownChannel, type WildcardPattern } from '../wire/channels.ts';
import { MAX_CHANNELS_PER_MESSAGE, MAX_SNAPSHOT, MAX_WILDCARDS_PER_MESSAGE } from '../wire/protocol.ts';
import { AuthFailure, UnauthorizedError } from './auth.ts';
import { isStrategyChannel, STRATEGY_HISTORY, type Channel, type ChannelIndex, type LibrarySymbols } from './channels.ts';
import type { Conn, Id } from './stream-conn.ts';
import { ANONYMOUS } from './principal.ts';

/** Longest `epoch` a subscribe may carry (ours are 16 hex characters). */
const MAX_EPOCH_LENGTH = 64;
const OPS = 'expected subscribe, unsubscribe or ping';
const DECODER = new TextDecoder('utf-8', { fatal: true });

/** The ops a client may send. */
export type Op = 'subscribe' | 'unsubscribe' | 'ping';

/** Channels of a message, resolved and de-duplicated in order, the wildcards it holds (de-duplicated), and the channels looked at. */
export interface ChannelList {
  channels: Channel[];
  patterns: WildcardPattern[];
  work: number;
}

/**
 * Channel look-ups (names resolved, wildcard expansions and matches) one
 * subscribe/unsubscribe token pays for; a message costs 1 token plus 1 per
 * this many. A 500-name subscribe costs 1; 50 wildcards over 200 symbols
 * (10,000 look-ups) cost 11.
 */
export const WORK_PER_TOKEN = 1000;

/** A valid subscribe: what to join, the snapshot size (0: none) and where each resumed channel resumes after. */
export interface SubscribeRequest extends ChannelList {
  snapshot: number;
  since: Map<Channel, number>;
}

function invalid(message: string): TickwireError {
  return new TickwireError(ErrorCode.INVALID_PARAMETER, message);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A client frame as a JSON object; throws INVALID_PARAMETER for a binary frame, one over `maxBytes`, bad UTF-8 or JSON, or a non-object. */
export function readMessage(data: ArrayBuffer, isBinary: boolean, maxBytes: number): Record<string, unknown> {
  if (isBinary) throw invalid('binary frames are not accepted: send JSON text');
  if (data.byteLength > maxBytes) {
    throw invalid(`message of ${data.byteLength} bytes is larger than the limit of ${maxBytes}`);
  }
  let msg: unknown;
  try {
    msg = JSON.parse(DECODER.decode(data));
  } catch {
    throw invalid('message is not valid JSON');
  }
  // showValue: a client's value for an error message, bounded, and safe for any input (deep nesting included).
  if (!isPlainObject(msg)) throw invalid(`message must be a JSON object, got ${showValue(msg)}`);
  return msg;
}

/** A message's `id`, echoed in its reply: a finite number, a string of at most 256 characters, or null. */
export function readId(v: unknown): Id {
  if (v === undefined || v === null) return null;
  if ((typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.length <= 256)) return v;
  throw invalid(`invalid id: got ${showValue(v)}, expected a number or a string of at most 256 characters`);
}

/** A message's `op`; throws INVALID_PARAMETER for a missing or unknown one. */
export function readOp(v: unknown): Op {
  if (v === 'subscribe' || v === 'unsubscribe' || v === 'ping') return v;
  if (v === undefined) throw invalid(`missing "op": ${OPS}`);
  throw invalid(`unknown op ${showValue(v)}: ${OPS}`);
}

/** Charge the work of a request done beyond its first token (may leave the bucket in debt: the next requests wait). */
export function chargeWork(conn: Conn, work: number): void {
  const extra = Math.floor(work / WORK_PER_TOKEN);
  if (extra > 0) conn.bucket.charge(extra);
}

/** One subscribe or unsubscribe request from the connection's bucket; RATE_LIMITED when empty. */
export function takeRequest(conn: Conn): void {
  if (conn.bucket.take()) return;
  const ms = conn.bucket.waitMs();
  throw new TickwireError(
    ErrorCode.RATE_LIMITED,
    `too many subscribe/unsubscribe requests: at most ${conn.bucket.rate} per second (bursts of ${conn.bucket.burst}; large wildcard or snapshot requests count as several); retry in ${ms} ms`,
  );
}

function readSnapshot(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_SNAPSHOT) return v;
  throw new InvalidParameterError('snapshot', v, `an integer from 1 to ${MAX_SNAPSHOT}`);
}

/** Validates subscribe and unsubscribe messages against the channels, the connection's principal and holdings, and this server's epoch. */
export class RequestReader {
  readonly #channels: ChannelIndex;
  readonly #epoch: string;
  readonly #maxChannels: number;

  constructor(channels: ChannelIndex, epoch: string, maxChannelsPerConnection: number) {
    this.#channels = channels;
    this.#epoch = epoch;
    this.#maxChannels = maxChannelsPerConnection;
  }

  /** A subscribe, checked whole: channels (allowed to the principal), snapshot, since/epoch, and the connection's channel limit. */
  subscribe(conn: Conn, m: Record<string, unknown>): SubscribeRequest {
    const { channels, patterns, work } = this.#channelList(conn, m['channels'], true);
    const snapshot = readSnapshot(m['snapshot']);
    const since = this.#readSince(conn, m['since'], m['epoch'], channels);
    for (const ch of channels) {
      if (!isStrategyChannel(ch)) continue;
      if (conn.binary) throw invalid(`${ch.name}: strategy channels are JSON only; subscribe on a JSON connection`);
      // A strategy channel's snapshot is its last messages themselves, replayed from its history.
      if (snapshot > 0 && !since.has(ch)) since.set(ch, Math.max(0, ch.seq - Math.min(snapshot, STRATEGY_HISTORY)));
    }
    let added = 0;
    for (const ch of channels) if (!conn.channels.has(ch)) added++;
    const max = this.#maxChannels;
    if (conn.channels.size + added > max) {
      throw invalid(`too many channels: this connection would have ${conn.channels.size + added}, at most ${max}`);
    }
    return { channels, patterns, work, snapshot, since };
  }

  /** An unsubscribe's channels and wildcards (a wildcard removes what it matches among the held channels). */
  unsubscribe(conn: Conn, m: Record<string, unknown>): ChannelList {
    return this.#channelList(conn, m['channels'], false);
  }

  /**
   * The channels of a message, resolved and de-duplicated, in order, with the
   * wildcards it holds (expanded in place); throws for the first bad one. On
   * subscribe each must be allowed to the principal (a wildcard expands over
   * the allowed ones only).
   */
  #channelList(conn: Conn, v: unknown, subscribe: boolean): ChannelList {
    if (!Array.isArray(v)) throw invalid(`"channels" must be an array of channel names, got ${showValue(v)}`);
    if (v.length === 0 || v.length > MAX_CHANNELS_PER_MESSAGE) {
      throw invalid(`"channels" must hold 1 to ${MAX_CHANNELS_PER_MESSAGE} channels, got ${v.length}`);
    }
    const out = new Set<Channel>();
    const patterns: WildcardPattern[] = [];
    const principal = conn.principal;
    // Counted before any is expanded, so an over-full message is refused for the price of reading it.
    let wildcards = 0;
    for (const given of v) if (typeof given === 'string' && given.includes('*')) wildcards++;
    if (wildcards > MAX_WILDCARDS_PER_MESSAGE) {
      throw invalid(`"channels" may hold at most ${MAX_WILDCARDS_PER_MESSAGE} wildcards, got ${wildcards}`);
    }
    let symbols: LibrarySymbols | undefined;
    let work = 0;
    for (const given of v) {
      if (typeof given !== 'string') throw invalid(`a channel must be a string, got ${showValue(given)}`);
      work++;
      const p = this.#channels.pattern(given);
      if (p === undefined) {
        // A symbol on demand is subscribed upstream only for a principal that may read the channel asked for.
        const ch = this.#channels.resolve(given, subscribe ? (name) => mayRead(principal, name) : undefined);
        if (subscribe) mayRead(principal, ch.name);
        if (subscribe) jsonOnlyCheck(conn, ch);
        out.add(ch);
        continue;
      }
      if (patterns.some((q) => q.text === p.text)) continue;
      patterns.push(p);
      if (!subscribe) continue; // unsubscribe: the wildcard removes what it matches among the held channels
      const expanded = this.#channels.expand(p, (symbols ??= this.#channels.library()));
      work += expanded.length;
      let allowed = 0;
      for (const ch of expanded) {
        if (!principal.allows(ch.name)) continue;
        out.add(ch);
        allowed++;
      }
      if (expanded.length > 0 && allowed === 0) {
        throw new UnauthorizedError(AuthFailure.FORBIDDEN, `${principal.name} may not read any channel matching ${p.text}`);
      }
    }
    return { channels: [...out], patterns, work };
  }

  /** `since` of a subscribe: channel → the last seq the client has (0 for every channel when `epoch` names another life). */
  #readSince(conn: Conn, v: unknown, epoch: unknown, channels: readonly Channel[]): Map<Channel, number> {
    const out = new Map<Channel, number>();
    if (v === undefined || v === null) return out;
    if (!isPlainObject(v)) throw new InvalidParameterError('since', v, 'an object of channel name to the last seq received');
    if (epoch !== undefined && epoch !== null && (typeof epoch !== 'string' || epoch.length > MAX_EPOCH_LENGTH)) {
      throw new InvalidParameterError('epoch', epoch, `the epoch string of a subscribed reply (at most ${MAX_EPOCH_LENGTH} characters)`);
    }
    const otherLife = typeof epoch === 'string' && epoch !== this.#epoch;
    for (const [name, seq] of Object.entries(v)) {
      const ch = this.#channels.resolve(name);
      if (!channels.includes(ch)) throw invalid(`since names ${ch.name}, which this subscribe does not include`);
      if (conn.channels.has(ch)) throw invalid(`since names ${ch.name}, which this connection already receives`);
      if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
        throw new InvalidParameterError(`since[${JSON.stringify(ch.name)}]`, seq, 'the seq of the last message received, an integer ≥ 0');
      }
      const after = otherLife ? 0 : seq;
      if (after > ch.seq) {
        throw invalid(`since[${JSON.stringify(ch.name)}] is ${seq}, ahead of the channel (seq ${ch.seq}); seqs restart with each epoch (${this.#epoch})`);
      }
      out.set(ch, after);
    }
    return out;
  }
}

/** Throws FORBIDDEN unless `principal` may read `channel`. */
function mayRead(principal: Conn['principal'], channel: string): void {
  if (!principal.allows(channel)) throw new UnauthorizedError(AuthFailure.FORBIDDEN, `${principal.name} may not read ${channel}`);
}

/**
 * Feeds and portfolios exist in JSON only (src/wire/feed-messages.ts): a
 * binary connection is refused them. A portfolio reveals holdings: it needs
 * a credential, never the anonymous principal of an open server.
 */
function jsonOnlyCheck(conn: Conn, ch: Channel): void {
  if ((ch.kind === 'prices' || ch.kind === 'portfolio') && conn.binary) {
    throw unknownChannel(ch.name, 'feeds and portfolios are JSON only: subscribe from a connection without ?format=fbs');
  }
  if (ch.kind === 'portfolio' && conn.principal === ANONYMOUS) {
    throw new UnauthorizedError(AuthFailure.FORBIDDEN, `${ch.name} reveals holdings: it needs a credential (this server has none configured)`);
  }
}
