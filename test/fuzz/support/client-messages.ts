/**
 * Seeded malformed client messages for `/v1/stream`, each with the answer
 * the server owes it (README "WebSocket", src/server/stream.ts contract):
 *
 * - an `error` whose code is one of a known set: bad JSON, a JSON value that
 *   is not an object (nested 30,000 levels deep too), a missing or unknown
 *   `op` of any type, a bad `id`, `channels` of the wrong type or size
 *   (huge arrays), channel names of no channel (unknown kinds, exchanges,
 *   symbols, timeframes, wildcards in the wrong place), bad `snapshot`,
 *   `since` and `epoch` next to valid channels (the whole message is
 *   rejected, nothing subscribed), binary frames, messages over
 *   `maxMessageBytes`;
 * - a `pong` for the well-formed pings mixed in;
 * - a closed connection (uWS closes it itself, 1006) for a message over
 *   twice `maxMessageBytes` and for a text frame that is not UTF-8.
 *
 * Nothing here is valid enough to subscribe, so the connection sending
 * garbage never receives market data: each message gets exactly one reply,
 * in order.
 */
import type { Prng } from '../../support/prng.ts';

/** What the server owes a message. */
export type Answer = { error: readonly string[] } | { pong: string } | { close: 'too big' | 'not UTF-8' };

/** One message to send, how, and what the server owes it. */
export interface ClientMessage {
  data: string | Buffer;
  binary: boolean;
  /** Sent as a text frame whose bytes are not UTF-8. */
  rawText: boolean;
  answer: Answer;
  kind: string;
}

/** Codes a channel name of no channel may be answered with. */
export const CHANNEL_CODES = ['UNKNOWN_CHANNEL', 'EXCHANGE_NOT_FOUND', 'SYMBOL_NOT_FOUND', 'INVALID_TIMEFRAME', 'INVALID_PARAMETER'] as const;
const INVALID = ['INVALID_PARAMETER'] as const;

/** Channels that exist on the server under test (FakeTickwire's config), for messages valid but for one part. */
const VALID_CHANNELS = ['trades:binance:BTCUSDT', 'bars:binance:BTCUSDT:1m', 'quotes:binance:ETH-USDT', 'trades:kraken:XBT/USD', 'bars:kraken:ETH/USD:M5', 'trades:bybit:BTCUSDT'];

/**
 * Channel names of no channel, for subscribe and unsubscribe alike: wrong
 * kinds, unknown exchanges and symbols, bad timeframes, wildcards where none
 * may stand. (Not a trailing space: symbols are trimmed, so that one exists.)
 */
const BAD_CHANNELS = [
  '', ':', '::', ':::', 'trades', 'trades:', 'trades:binance', 'trades:binance:', 'tradez:binance:BTCUSDT', 'TRADES:binance:BTCUSDT',
  'trade:binance:BTCUSDT', 'book:binance:BTCUSDT', 'trades:nope:BTCUSDT', 'trades:BINANCE:BTCUSDT', 'trades: binance:BTCUSDT',
  'trades:binance:NOPE', 'trades:binance:BTC*', 'trades:bin*:BTCUSDT', 'quotes:kraken:XBT/USD', 'bars:binance:BTCUSDT',
  'bars:binance:BTCUSDT:', 'bars:binance:BTCUSDT:7m', 'bars:binance:BTCUSDT:1h', 'bars:binance:BTCUSDT:*', 'bars:binance:BTCUSDT:1m:extra',
  '*:binance:BTCUSDT', '*:*:*', 'trades:binance:BTCUSDT\u0000', 'trades:binance:\ud800', 'trades:__proto__:constructor',
  'bars:binance:BTCUSDT:__proto__', 'trades:binance:' + 'X'.repeat(300), 'x'.repeat(2000),
];
/** Wildcards over what does not exist: an error for a subscribe (an unsubscribe just removes nothing). */
const BAD_PATTERNS = ['trades:nope:*', 'quotes:bybit:*', 'bars:nope:*:1m'];

const NOT_ARRAYS = ['null', 'true', '0', '"trades:binance:BTCUSDT"', '{}', '{"0":"trades:binance:BTCUSDT"}'];
const NOT_IDS = ['{}', '[]', '[1]', 'true', 'false', '{"a":1}', JSON.stringify('i'.repeat(257))];
const BAD_OPS = ['"Subscribe"', '"SUBSCRIBE"', '"sub"', '""', '"pong"', '"subscribe "', '"ping\\u0000"', '1', 'null', 'true', '[]', '{}', '["ping"]', '{"op":"ping"}'];
const BAD_SNAPSHOTS = ['0', '-1', '1001', '1.5', '1e400', '"10"', '[]', '{}', 'true', '1e3000'];
const BAD_SINCE = ['"x"', '1', 'true', '[]', '[1]'];
const BAD_EPOCHS = ['1', 'true', '[]', '{}', JSON.stringify('e'.repeat(65))];

/** The kinds of message below other than the size and closing ones. */
const SMALL = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13];

/** Depths that nest past JSON.stringify's stack (a few thousand levels) yet fit in 64 KiB. */
const DEEP = [5_000, 10_000, 30_000].map((d) => '['.repeat(d) + ']'.repeat(d));
const DEEP_OBJECT = '{"a":'.repeat(9_000) + '1' + '}'.repeat(9_000);

/** Seeded generator of client messages; `maxMessageBytes` is the server's limit. */
export class ClientMessageFuzzer {
  #ping = 0;

  constructor(
    private readonly rng: Prng,
    private readonly maxMessageBytes: number,
  ) {}

  /** One message (`closing` allows the kinds that make uWS close the connection). */
  next(closing: boolean): ClientMessage {
    const rng = this.rng;
    const text = (data: string, answer: Answer, kind: string): ClientMessage => ({ data, binary: false, rawText: false, answer, kind });
    // Mostly small messages; about 1 in 200 over the size limit and 1 in 100 nested thousands deep (each of
    // those costs the server milliseconds).
    const r = closing ? rng.int(14, 15) : rng.chance(0.005) ? 11 : rng.pick(SMALL);
    switch (r) {
      case 0: {
        // Not JSON: a truncated request, random text, words.
        const whole = JSON.stringify({ op: 'subscribe', id: rng.int(1, 1e6), channels: [rng.pick(VALID_CHANNELS)] });
        const data = rng.chance(0.5)
          ? whole.slice(0, rng.int(0, whole.length - 1))
          : rng.pick(['', ' ', 'NaN', 'undefined', "{'op':'ping'}", '{op:"ping"}', '{"op":"ping",}', '[', '{"op":"ping"', 'ping', '\u0000', String.fromCharCode(...Array.from({ length: rng.int(1, 80) }, () => rng.int(1, 0xd7ff)))]);
        return text(data, { error: INVALID }, 'not JSON');
      }
      case 1: {
        // JSON that is not an object, nested too.
        const data = rng.chance(0.01) ? rng.pick(DEEP) : rng.pick(['null', '0', '-1e400', '"subscribe"', '[]', '[{"op":"ping"}]', 'true', '"\\ud800"', '[[[[[[[[[[]]]]]]]]]]']);
        return text(data, { error: INVALID }, 'not an object');
      }
      case 2: {
        // A missing, unknown or wrongly typed op (nested deep at times).
        const op = rng.chance(0.01) ? rng.pick(DEEP) : rng.pick(BAD_OPS);
        const data = rng.chance(0.2) ? '{"id":1,"channels":["trades:binance:BTCUSDT"]}' : `{"op":${op},"id":${rng.int(1, 1e6)}}`;
        return text(data, { error: INVALID }, 'bad op');
      }
      case 3: {
        // A bad id on an otherwise good ping.
        const id = rng.chance(0.01) ? rng.pick([...DEEP, DEEP_OBJECT]) : rng.pick(NOT_IDS);
        return text(`{"op":"ping","id":${id}}`, { error: INVALID }, 'bad id');
      }
      case 4: {
        // channels of the wrong type, empty, or huge (more than 500 names).
        const op = rng.pick(['subscribe', 'unsubscribe']);
        const n = rng.int(501, 3000);
        const channels = rng.chance(0.01)
          ? rng.pick(DEEP)
          : rng.pick([...NOT_ARRAYS, '[]', JSON.stringify(Array.from({ length: n }, () => 'x')), JSON.stringify(Array.from({ length: n }, (_, i) => i))]);
        return text(`{"op":"${op}","id":${rng.int(1, 1e6)},"channels":${channels}}`, { error: INVALID }, 'bad channels list');
      }
      case 5:
      case 6: {
        // Names of no channel, alone or after valid ones (the whole message is refused).
        const op = rng.pick(['subscribe', 'unsubscribe']);
        const channels: unknown[] = [];
        for (let n = rng.int(0, 3); n > 0; n--) channels.push(rng.pick(VALID_CHANNELS));
        channels.push(op === 'subscribe' && rng.chance(0.1) ? rng.pick(BAD_PATTERNS) : rng.pick(BAD_CHANNELS));
        if (op === 'subscribe' && rng.chance(0.3)) channels.push(rng.pick(VALID_CHANNELS));
        return text(JSON.stringify({ op, id: rng.int(1, 1e6), channels }), { error: CHANNEL_CODES }, 'no such channel');
      }
      case 7: {
        // A channel that is not a string.
        const bad = rng.chance(0.01) ? rng.pick(DEEP) : rng.pick(['null', '1', 'true', '{}', '[]', '["trades:binance:BTCUSDT"]']);
        return text(`{"op":"subscribe","id":1,"channels":["trades:binance:BTCUSDT",${bad}]}`, { error: INVALID }, 'channel not a string');
      }
      case 8: {
        // Good channels, a bad snapshot, since or epoch: refused whole, nothing subscribed.
        const which = rng.int(0, 2);
        const base = `"op":"subscribe","id":${rng.int(1, 1e6)},"channels":["bars:binance:BTCUSDT:1m","trades:binance:BTCUSDT"]`;
        const extra =
          which === 0
            ? `"snapshot":${rng.pick(BAD_SNAPSHOTS)}`
            : which === 1
              ? `"since":${rng.chance(0.01) ? rng.pick(DEEP) : rng.pick(BAD_SINCE)}`
              : `"since":{"bars:binance:BTCUSDT:1m":0},"epoch":${rng.pick(BAD_EPOCHS)}`;
        return text(`{${base},${extra}}`, { error: INVALID }, 'bad snapshot, since or epoch');
      }
      case 9: {
        // since naming a channel not in the subscribe, or with a bad seq.
        const seq = rng.pick(['-1', '1.5', '"1"', 'null', '1e400', '9007199254740993', '99999999']);
        const name = rng.chance(0.5) ? 'trades:binance:ETHUSDT' : 'trades:binance:BTCUSDT';
        const data = `{"op":"subscribe","id":2,"channels":["trades:binance:BTCUSDT"],"since":{"${name}":${name.endsWith('ETHUSDT') ? '0' : seq}}}`;
        return text(data, { error: INVALID }, 'bad since seq');
      }
      case 10: {
        // A binary frame: random bytes, or a good request sent as binary.
        const data = rng.chance(0.5)
          ? Buffer.from(JSON.stringify({ op: 'ping', id: 'b' }))
          : Buffer.from(Array.from({ length: rng.int(0, 300) }, () => rng.int(0, 255)));
        return { data, binary: true, rawText: false, answer: { error: INVALID }, kind: 'binary frame' };
      }
      case 11: {
        // Over the limit but under twice it: answered INVALID_PARAMETER, the connection stays.
        const size = rng.int(this.maxMessageBytes + 1, this.maxMessageBytes * 2 - 64);
        const data = JSON.stringify({ op: 'ping', id: 'big', pad: 'x'.repeat(Math.max(0, size - 40)) });
        return text(data.length > this.maxMessageBytes ? data : data + ' '.repeat(this.maxMessageBytes + 1 - data.length), { error: INVALID }, 'over the size limit');
      }
      case 12:
      case 13: {
        // A good ping: the connection still answers normally amid the garbage.
        const id = `p${++this.#ping}`;
        return text(JSON.stringify({ op: 'ping', id }), { pong: id }, 'ping');
      }
      case 14: {
        // Over twice the limit: uWS closes the connection.
        return text('x'.repeat(this.maxMessageBytes * 2 + rng.int(1, 4096)), { close: 'too big' }, 'over twice the size limit');
      }
      default: {
        // A text frame whose bytes are not UTF-8: uWS closes the connection.
        const good = Buffer.from(JSON.stringify({ op: 'ping', id: 'u' }));
        const at = rng.int(0, good.length);
        const data = Buffer.concat([good.subarray(0, at), Buffer.from(rng.pick([[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82]])), good.subarray(at)]);
        return { data, binary: false, rawText: true, answer: { close: 'not UTF-8' }, kind: 'text not UTF-8' };
      }
    }
  }
}
