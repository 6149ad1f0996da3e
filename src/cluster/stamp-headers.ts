/**
 * The headers of a feed message (docs/scale-out.md), written in one step.
 *
 * Every JetStream message the feed publishes carries the same three
 * headers: the lease term (fencing), the channel's seq (absent on a closed
 * bar's history copy) and JetStream's de-duplication id. The client's
 * `headers()` object keeps a map of arrays and, per `set`, lists its keys
 * twice, canonicalizes the key and tests the value against a regular
 * expression; encoding then concatenates the text again. Three `set`s and
 * the encoding were 6% of a `--role feed` main thread at 2,000 trades/s
 * (CPU profile of bench/cluster.ts), and their garbage a share of its GC.
 * Here the text is made once, from a template, and encoded once.
 *
 * nats-core's `publish` takes the bytes from `encode()` (protocol.js
 * `publish`, @nats-io/nats-core 3.4); the rest of MsgHdrs is answered by the
 * client's own headers object, made on first use (nothing on the hot path
 * reads them). test/cluster/acked-publisher.test.ts reads the headers back
 * through a subscription, so a client that stopped calling `encode()` fails
 * there.
 *
 * Values are the feed's own: numbers, and message ids made of a channel name
 * (validated symbols, src/config/exchanges.ts) and a trade id or seq; none
 * holds CR or LF (which would end the header block), and `StampHeaders`
 * refuses one that does.
 */
import { headers, type Match, type MsgHdrs } from '@nats-io/transport-node';
import { Header } from './subjects.ts';

/** JetStream's de-duplication header (what `js.publish` sets from `msgID`). */
export const MSG_ID = 'Nats-Msg-Id';

/** What a feed message carries besides its payload. */
export interface Stamp {
  /** The lease term it is published under. */
  readonly term: number;
  /** The channel's seq; 0: none (a closed bar's copy on its history subject). */
  readonly seq: number;
  /** JetStream's de-duplication id. */
  readonly msgID: string;
}

const encoder = new TextEncoder();
const LINE_BREAK = /[\r\n]/u;

/** A stamp as NATS message headers (see the module comment). */
export class StampHeaders implements MsgHdrs {
  readonly #stamp: Stamp;
  #full: MsgHdrs | undefined;

  /** Throws a TypeError when the message id holds CR or LF. */
  constructor(stamp: Stamp) {
    if (LINE_BREAK.test(stamp.msgID)) throw new TypeError(`message id ${JSON.stringify(stamp.msgID)} holds a line break`);
    this.#stamp = stamp;
  }

  /** The header block as the NATS protocol carries it (what the client's `publish` writes). */
  encode(): Uint8Array {
    if (this.#full !== undefined) return (this.#full as MsgHdrs & { encode(): Uint8Array }).encode(); // changed through MsgHdrs
    const { term, seq, msgID } = this.#stamp;
    const text = seq > 0
      ? `NATS/1.0\r\n${Header.TERM}: ${term}\r\n${Header.SEQ}: ${seq}\r\n${MSG_ID}: ${msgID}\r\n\r\n`
      : `NATS/1.0\r\n${Header.TERM}: ${term}\r\n${MSG_ID}: ${msgID}\r\n\r\n`;
    return encoder.encode(text);
  }

  // ── MsgHdrs, through the client's own headers object ──

  get hasError(): boolean {
    return false;
  }

  get status(): string {
    return this.#headers().status;
  }

  get code(): number {
    return 0;
  }

  get description(): string {
    return '';
  }

  get(k: string, match?: Match): string {
    return this.#headers().get(k, match);
  }

  set(k: string, v: string, match?: Match): void {
    this.#headers().set(k, v, match);
  }

  append(k: string, v: string, match?: Match): void {
    this.#headers().append(k, v, match);
  }

  has(k: string, match?: Match): boolean {
    return this.#headers().has(k, match);
  }

  keys(): string[] {
    return this.#headers().keys();
  }

  values(k: string, match?: Match): string[] {
    return this.#headers().values(k, match);
  }

  delete(k: string, match?: Match): void {
    this.#headers().delete(k, match);
  }

  last(k: string, match?: Match): string {
    return this.#headers().last(k, match);
  }

  [Symbol.iterator](): Iterator<[string, string[]]> {
    return this.#headers()[Symbol.iterator]();
  }

  /** The client's headers object holding the stamp's headers; once made, it is what `encode` writes. */
  #headers(): MsgHdrs {
    if (this.#full === undefined) {
      const h = headers();
      h.set(Header.TERM, String(this.#stamp.term));
      if (this.#stamp.seq > 0) h.set(Header.SEQ, String(this.#stamp.seq));
      h.set(MSG_ID, this.#stamp.msgID);
      this.#full = h;
    }
    return this.#full;
  }
}
