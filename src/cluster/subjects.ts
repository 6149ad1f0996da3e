/**
 * Names in NATS for a cluster (docs/scale-out.md, "Subjects"): every name
 * starts with the cluster's `name`, so two clusters can share one NATS.
 *
 * | what | name |
 * | --- | --- |
 * | trades, quotes, bar events of a channel (live stream) | `<name>.trades.<exchange>.<symbol>`, `<name>.quotes.…`, `<name>.bars.<exchange>.<symbol>.<tf>` |
 * | closed bars and amendments (history stream) | `<name>.closed.<exchange>.<symbol>.<tf>` |
 * | streams | `<name>_live` (kept `history.trades`), `<name>_bars` (kept `history.bars`) |
 * | leading feed's status of an exchange (core NATS, not kept) | `<name>.status.<exchange>` |
 * | a feed took or lost an exchange's lease (core NATS, not kept) | `<name>.leadership.<exchange>` |
 * | lease bucket | `<name>_leases`, key `feed.<exchange>` |
 *
 * A subject token cannot hold `.`, `*`, `>` or white space: such characters
 * of an exchange or symbol (and `%`) are written `%XX` (their UTF-8 bytes in
 * hex), so every channel has exactly one subject and back. Pure: no I/O.
 */
import type { MarketKind } from '../wire/channels.ts';

/** Message headers the feed sets; the payload is the stream's FlatBuffers message (src/wire/fbs.ts). */
export const Header = {
  /** The channel's seq, assigned once by the feed: every edge serves this seq. */
  SEQ: 'Tw-Seq',
  /** The revision at which the publishing feed acquired its lease: edges drop messages of an older term (fencing). */
  TERM: 'Tw-Term',
} as const;

const UNSAFE = /[.*>%\s]/u;

/** One subject token for an exchange or symbol (see the module comment). */
export function subjectToken(text: string): string {
  if (!UNSAFE.test(text) && text !== '') return text;
  let out = '';
  for (const ch of text) {
    if (!UNSAFE.test(ch)) {
      out += ch;
      continue;
    }
    for (const b of Buffer.from(ch, 'utf8')) out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out === '' ? '%' : out;
}

/** The names of one cluster in NATS. */
export class ClusterNames {
  readonly name: string;
  /** Trades, quotes and bar events with their seqs: what edges serve live. */
  readonly liveStream: string;
  /** Closed bars and amendments: what an edge rebuilds candles from. */
  readonly barsStream: string;
  readonly leaseBucket: string;

  constructor(name: string) {
    this.name = name;
    this.liveStream = `${name}_live`;
    this.barsStream = `${name}_bars`;
    this.leaseBucket = `${name}_leases`;
  }

  /** Subjects the live stream holds. */
  liveSubjects(): string[] {
    return [`${this.name}.trades.>`, `${this.name}.quotes.>`, `${this.name}.bars.>`];
  }

  /** Subjects the bars stream holds. */
  barsSubjects(): string[] {
    return [`${this.name}.closed.>`];
  }

  /** The live subject of a market channel. */
  subject(kind: MarketKind, exchange: string, symbol: string, timeframe?: string): string {
    const base = `${this.name}.${kind}.${subjectToken(exchange)}.${subjectToken(symbol)}`;
    return timeframe === undefined ? base : `${base}.${timeframe}`;
  }

  /** The history subject of a bar series' closed bars. */
  closedSubject(exchange: string, symbol: string, timeframe: string): string {
    return `${this.name}.closed.${subjectToken(exchange)}.${subjectToken(symbol)}.${timeframe}`;
  }

  /** Every live subject of one exchange (a filter). */
  exchangeLive(kind: MarketKind, exchange: string): string {
    return `${this.name}.${kind}.${subjectToken(exchange)}.>`;
  }

  /** Closed-bar subjects of one timeframe over every exchange and symbol (a filter). */
  closedOfTimeframe(timeframe: string): string {
    return `${this.name}.closed.*.*.${timeframe}`;
  }

  /** Where the leading feed reports an exchange's status (core NATS, not kept). */
  statusSubject(exchange: string): string {
    return `${this.name}.status.${subjectToken(exchange)}`;
  }

  /** Every exchange's status subject (a subscription). */
  statusSubjects(): string {
    return `${this.name}.status.*`;
  }

  /** Where a feed announces taking or losing an exchange's lease (core NATS, not kept); edges relay it to `system`. */
  leadershipSubject(exchange: string): string {
    return `${this.name}.leadership.${subjectToken(exchange)}`;
  }

  /** Every exchange's leadership subject (a subscription). */
  leadershipSubjects(): string {
    return `${this.name}.leadership.*`;
  }

  /** The lease key of an exchange's feed. */
  leaseKey(exchange: string): string {
    return `feed.${exchange}`; // exchange names are registry keys: letters, digits and -
  }
}
