/**
 * Seeded malformed HTTP queries for the candle routes, each with the answers
 * the server may give it (README "HTTP", the error table): a valid query
 * with one to three things wrong — bad paths (404 NOT_FOUND), unknown
 * exchanges and symbols (404), wrong timeframes (400 INVALID_TIMEFRAME),
 * unknown, repeated or malformed query parameters, huge numbers, long URLs
 * and percent-encoding garbage (400 INVALID_PARAMETER) — on `/v1/candles`
 * (`{"error":{"code"}}`) and the older `/streamer/candles`
 * (`{"success":false,"error_code"}`). With several faults any of their
 * answers will do: the order of the checks is the server's business.
 *
 * The request line itself stays valid HTTP (anything outside the URL
 * characters is percent-encoded): this is about what the routes make of
 * what they are given.
 */
import type { Prng } from '../../support/prng.ts';

/** One acceptable answer: status, error code, and which body shape carries the code. */
export interface Expected {
  status: number;
  code: string;
}

/** One request path, the answers it may get, and which error body shape carries the code. */
export interface Query {
  path: string;
  /** Any of these (the faults of the query), never a 2xx or a 5xx. */
  expect: Expected[];
  shape: 'v1' | 'streamer';
  kind: string;
}

const E = (status: number, code: string): Expected => ({ status, code });
const NOT_FOUND = E(404, 'NOT_FOUND');
const BAD_PARAM = E(400, 'INVALID_PARAMETER');
const BAD_TF = E(400, 'INVALID_TIMEFRAME');
const NO_EXCHANGE = E(404, 'EXCHANGE_NOT_FOUND');
const NO_SYMBOL = E(404, 'SYMBOL_NOT_FOUND');

const URL_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/;

/** Percent-encode what may not stand raw in a request target; `%` is kept (so garbage escapes stay garbage). */
function target(s: string): string {
  if (URL_CHARS.test(s)) return s;
  let out = '';
  for (const ch of s) {
    if (/^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]$/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Path segments that do not decode (`decodeURIComponent` throws). */
const BAD_ESCAPES = ['%', '%zz', '%E0%A4%A', '%C0%AF', '%ED%A0%80', '%FF', '%F0%9F%92', 'BTC%', '%%41', '%u0041'];
const BAD_EXCHANGES = ['nope', 'BINANCE', 'binance%20', '%00', 'x'.repeat(500), '__proto__', 'constructor', 'kraken%2F', 'bin%2Fance', 'simulated', 'binance.'];
const BAD_SYMBOLS = ['NOPE', 'BTCUSD', 'BTC-USDX', '%F0%9F%92%A9', 'X'.repeat(200), 'BTC%00USDT', '__proto__', 'ETH%2FBTC', 'toString'];
const BAD_TIMEFRAMES = ['7m', '1M', 'm1', 'H2', '60s', '1h', '1d', 'M1M', '0m', '-1m', '1m%20', 'x'.repeat(300), '__proto__', '1.0m'];
const BAD_PARAM_NAMES = ['foo=1', 'LIMIT=5', 'limit%5B%5D=5', '=5', 'Limit=1', 'start_time=1', 'symbol=BTCUSDT', '%00=1', 'x'.repeat(300) + '=1'];
const BAD_LIMITS = ['0', '-1', '5001', '', 'abc', '1e3', '1.5', '0x10', '%205', '5%20', '%2B5', '99999999999999999999', '%zz', '%FF', '%EF%BC%95', 'NaN', 'Infinity', '1'.repeat(300)];
const BAD_TIMES = ['-1', 'abc', '1.5', '99999999999999999999', '1e12', '%zz', '', '9007199254740993', 'now'];
const BAD_FORMATS = ['xml', 'JSON', 'Csv', '', 'fbs2', 'json%00', 'x'.repeat(400)];
const BAD_CLOSED = ['yes', '1', 'TRUE', '', 'false%20', 'no'];
const BAD_PATHS = [
  '/v1/candles', '/v1/candles/binance', '/v1/candles/binance/BTCUSDT', '/v1/candles/binance/BTCUSDT/1m/extra', '/v1/candle/binance/BTCUSDT/1m',
  '/V1/candles/binance/BTCUSDT/1m', '/v1//candles/binance/BTCUSDT/1m', '/v1/candles//BTCUSDT/1m', '/v1/candles/binance//1m', '/v2/candles/binance/BTCUSDT/1m',
  '/../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/v1/symbols/x', '/health/x', '/' + 'a'.repeat(8000), '/v1/candles/binance/BTCUSDT/1m/%zz',
  '/v1/status/binance', '/metrics/x', '/docs/x',
];

/** Seeded generator of malformed candle queries. */
export class QueryFuzzer {
  constructor(private readonly rng: Prng) {}

  next(): Query {
    const rng = this.rng;
    if (rng.chance(0.12)) return this.streamer();
    if (rng.chance(0.06)) return { path: target(rng.pick(BAD_PATHS)) + (rng.chance(0.3) ? '?limit=5' : ''), expect: [NOT_FOUND], shape: 'v1', kind: 'no such route' };
    let exchange = 'binance';
    let symbol = rng.pick(['BTCUSDT', 'BTC-USDT', 'ethusdt']);
    let tf = rng.pick(['1m', '5m', 'M1', 'M5']);
    const params: string[] = rng.chance(0.5) ? [`limit=${rng.int(1, 5000)}`] : [];
    const expect: Expected[] = [];
    const kinds: string[] = [];
    for (let faults = rng.chance(0.8) ? 1 : rng.int(2, 3); faults > 0; faults--) {
      // About 1 in 100 is a long URL (kilobytes each: the rest stay small, so 100,000 take seconds, not minutes).
      switch (rng.chance(0.01) ? 10 : rng.int(0, 9)) {
        case 0:
          exchange = rng.pick(BAD_EXCHANGES);
          expect.push(NO_EXCHANGE);
          kinds.push('unknown exchange');
          break;
        case 1:
          symbol = rng.pick(BAD_SYMBOLS);
          expect.push(NO_SYMBOL);
          kinds.push('unknown symbol');
          break;
        case 2:
          tf = rng.pick(BAD_TIMEFRAMES);
          expect.push(BAD_TF);
          kinds.push('bad timeframe');
          break;
        case 3: {
          const which = rng.int(0, 2);
          if (which === 0) exchange = rng.pick(BAD_ESCAPES);
          else if (which === 1) symbol = rng.pick(BAD_ESCAPES);
          else tf = rng.pick(BAD_ESCAPES);
          expect.push(BAD_PARAM);
          kinds.push('percent-encoding garbage');
          break;
        }
        case 4:
          params.push(rng.pick(BAD_PARAM_NAMES));
          expect.push(BAD_PARAM);
          kinds.push('unknown parameter');
          break;
        case 5: {
          const name = rng.pick(['limit', 'start', 'end', 'format', 'closed']);
          params.push(`${name}=1`, `${name}=${rng.pick(['1', '2', 'csv', 'true'])}`);
          expect.push(BAD_PARAM);
          kinds.push('repeated parameter');
          break;
        }
        case 6:
          params.push(`limit=${rng.pick(BAD_LIMITS)}`);
          expect.push(BAD_PARAM);
          kinds.push('bad limit');
          break;
        case 7: {
          params.push(rng.chance(0.7) ? `${rng.pick(['start', 'end'])}=${rng.pick(BAD_TIMES)}` : `start=${rng.int(1_000_001, 2_000_000)}&end=${rng.int(0, 1_000_000)}`);
          expect.push(BAD_PARAM);
          kinds.push('bad start or end');
          break;
        }
        case 8:
          params.push(`format=${rng.pick(BAD_FORMATS)}`);
          expect.push(BAD_PARAM);
          kinds.push('bad format');
          break;
        case 9:
          params.push(`closed=${rng.pick(BAD_CLOSED)}`);
          expect.push(BAD_PARAM);
          kinds.push('bad closed');
          break;
        default: {
          // A long URL: a parameter of many kilobytes (uWS takes request lines of tens of KiB).
          params.push(`${rng.pick(['limit', 'start', 'foo'])}=${'9'.repeat(rng.int(4_000, 16_000))}`);
          expect.push(BAD_PARAM);
          kinds.push('long URL');
        }
      }
    }
    const query = params.length > 0 ? `?${rng.shuffle(params).join('&')}` : '';
    return { path: target(`/v1/candles/${exchange}/${symbol}/${tf}${query}`), expect, shape: 'v1', kind: kinds.join(' + ') };
  }

  private streamer(): Query {
    const rng = this.rng;
    switch (rng.int(0, 4)) {
      case 0:
        // Not BTCUSD: the streamer looks on every exchange, and kraken has XBT/USD (BTC-USD).
        return { path: target(`/streamer/candles/${rng.pick(BAD_SYMBOLS.filter((s) => s !== 'BTCUSD'))}/1m`), expect: [NO_SYMBOL], shape: 'streamer', kind: 'streamer: unknown symbol' };
      case 1:
        return { path: target(`/streamer/candles/BTCUSDT/${rng.pick(BAD_TIMEFRAMES.filter((t) => !['1h', '1d'].includes(t)))}`), expect: [BAD_TF], shape: 'streamer', kind: 'streamer: bad timeframe' };
      case 2:
        return { path: target(`/streamer/candles/BTCUSDT/1m?limit=${rng.pick(BAD_LIMITS)}`), expect: [BAD_PARAM], shape: 'streamer', kind: 'streamer: bad limit' };
      case 3:
        return { path: target(`/streamer/candles/${rng.pick(BAD_ESCAPES)}/1m`), expect: [BAD_PARAM], shape: 'streamer', kind: 'streamer: percent-encoding garbage' };
      default:
        return { path: target(rng.pick(['/streamer/nope', '/streamer/candles', '/streamer/candles/BTCUSDT', '/streamer/candles/BTCUSDT/1m/x', '/streamer/'])), expect: [NOT_FOUND], shape: 'streamer', kind: 'streamer: no such route' };
    }
  }
}
