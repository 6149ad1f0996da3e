/**
 * Fuzz: 100,000 malformed HTTP queries (times FUZZ_SCALE: a tenth in
 * `npm test`) to the real uWebSockets.js server
 * over eight keep-alive loopback connections, pipelined (see
 * support/http-queries.ts for what they are), with valid candle queries
 * interleaved. Every malformed one must be answered, in time, with one of
 * its expected 4xx statuses and the matching JSON error code in the route
 * family's shape (never a 2xx, never a 5xx, never a closed connection);
 * every valid one with exactly what it answered alone; and
 * `tickwire_http_requests_total` must count each answer under its status.
 *
 * Meanwhile, requests that are not HTTP at all (a raw space or NUL in the
 * request line, control bytes, an unknown version, a broken header, a
 * mebibyte request line, a bad Content-Length) go to connections of their
 * own: uWS answers some of them 4xx and drops the others, at once or after
 * its ~10 s timeout — never a crash, never an open connection left behind.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultAuthConfig } from '../../src/config/defaults.ts';
import { Prng } from '../support/prng.ts';
import { startServer, type Running } from '../server/helpers.ts';
import { fuzzCount } from './support/fuzz-scale.ts';
import { fuzzSeed } from './support/fuzz-seed.ts';
import { QueryFuzzer, type Query } from './support/http-queries.ts';

const CONNECTIONS = 8;
/** 100,000 at FUZZ_SCALE=1, split evenly over the connections. */
const QUERIES = fuzzCount(100_000, CONNECTIONS);
/** Requests pipelined per connection before waiting for their answers. */
const BATCH = 64;
/** A batch not answered within this is a hang. */
const BATCH_TIMEOUT_MS = 15_000;

let running: Running | undefined;
let other: Running | undefined;
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await running?.server.close();
  await other?.server.close();
  running = undefined;
  other = undefined;
});

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** One keep-alive connection with pipelined GETs; answers are read in order by Content-Length. */
class Pipeline {
  readonly #socket: net.Socket;
  #buffer = Buffer.alloc(0);
  readonly #waiting: { resolve: (a: Answer) => void; reject: (e: Error) => void }[] = [];
  #closed = false;

  constructor(port: number) {
    this.#socket = net.connect(port, '127.0.0.1');
    sockets.push(this.#socket);
    this.#socket.setNoDelay(true);
    this.#socket.on('data', (chunk) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#drain();
    });
    const fail = (why: string) => {
      this.#closed = true;
      for (const w of this.#waiting.splice(0)) w.reject(new Error(why));
    };
    this.#socket.on('close', () => fail('the server closed the connection'));
    this.#socket.on('error', (err) => fail(`connection error: ${err.message}`));
  }

  /** Send every path at once; resolves with their answers in order. */
  send(paths: readonly string[]): Promise<Answer[]> {
    if (this.#closed) return Promise.reject(new Error('connection closed'));
    const answers = paths.map(() => new Promise<Answer>((resolve, reject) => this.#waiting.push({ resolve, reject })));
    this.#socket.write(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`).join(''));
    return Promise.all(answers);
  }

  #drain(): void {
    for (;;) {
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.#buffer.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(head[0]!.split(' ')[1]);
      let length = 0;
      let contentType = '';
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).toLowerCase();
        const value = line.slice(colon + 1).trim();
        if (name === 'content-length') length = Number(value);
        else if (name === 'content-type') contentType = value;
      }
      if (this.#buffer.length < end + 4 + length) return;
      const body = this.#buffer.subarray(end + 4, end + 4 + length).toString('utf8');
      this.#buffer = this.#buffer.subarray(end + 4 + length);
      this.#waiting.shift()?.resolve({ status, contentType, body });
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** Why `a` is not an acceptable answer to `q`, or ''. */
function wrong(q: Query, a: Answer): string {
  if (!q.expect.some((e) => e.status === a.status)) return `status ${a.status}, expected ${q.expect.map((e) => e.status).join(' or ')}`;
  if (!a.contentType.startsWith('application/json')) return `content type ${JSON.stringify(a.contentType)}`;
  let body: { error?: { code?: unknown; message?: unknown }; success?: unknown; error_code?: unknown };
  try {
    body = JSON.parse(a.body);
  } catch {
    return 'a body that is not JSON';
  }
  const code = q.shape === 'v1' ? body.error?.code : body.error_code;
  if (q.shape === 'streamer' && body.success !== false) return 'a streamer error without "success": false';
  if (!q.expect.some((e) => e.status === a.status && e.code === code)) return `code ${JSON.stringify(code)} with status ${a.status}, expected ${q.expect.map((e) => `${e.status} ${e.code}`).join(' or ')}`;
  return '';
}

/** Requests that are not valid HTTP, each on a connection of its own. */
const NOT_HTTP: readonly (readonly [string, Buffer])[] = [
  ['raw space in the path', 'GET /v1/candles/binance/BTC USDT/1m HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['control bytes', '\x00\x01\x02garbage\r\n\r\n'],
  ['HTTP/9.9', 'GET /health HTTP/9.9\r\nHost: x\r\n\r\n'],
  ['no version', 'GET /health\r\n\r\n'],
  ['lower-case method', 'get /health HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['header without a colon', 'GET /health HTTP/1.1\r\nHost x\r\n\r\n'],
  ['NUL in the path', 'GET /v1/candles/binance/BTC\x00USDT/1m HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['8-bit bytes in the path', 'GET /v1/candles/binance/BTC\xff\xfeUSDT/1m HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['negative Content-Length', 'POST /v1/candles/binance/BTCUSDT/1m HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'],
  ['broken chunked body', 'POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
  ['request never finished', 'GET /v1/candles/binance/BTCUSDT/1m HTTP/1.1\r\nHost: x\r\n'],
  ['mebibyte request line', `GET /${'a'.repeat(1 << 20)} HTTP/1.1\r\nHost: x\r\n\r\n`],
].map(([what, text]) => [what!, Buffer.from(text!, 'latin1')] as const);

/** Send `bytes` on a connection of its own; resolves with what came back and when the server closed it. */
function notHttp(port: number, bytes: Buffer): Promise<{ answer: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    sockets.push(socket);
    const t0 = performance.now();
    let answer = '';
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => resolve({ answer, closedAfterMs: performance.now() - t0 }));
    socket.write(bytes);
  });
}

/** The valid queries interleaved, with what each answers alone (the streamer's `timestamp` left out). */
const VALID = [
  '/v1/candles/binance/BTCUSDT/1m?limit=5',
  '/v1/candles/binance/BTC-USDT/M1?limit=3&format=csv',
  '/v1/candles/binance/BTCUSDT/5m?closed=true',
  '/v1/candles/kraken/XBT%2FUSD/1m?limit=4',
  '/streamer/candles/BTCUSDT/1m?limit=2',
];
const stable = (body: string) => body.replace(/"timestamp":("[^"]*"|\d+)/, '"timestamp":0');

describe('fuzz: HTTP queries', () => {
  it(`${QUERIES.toLocaleString('en')} malformed candle queries over ${CONNECTIONS} keep-alive connections: each a 4xx with its JSON code, counted; valid ones answer as alone`, async () => {
    const seed = fuzzSeed('http queries');
    const internal: unknown[] = [];
    // The fuzz is of validation, not of the rate limit: no per-client limit.
    running = await startServer({ auth: { ...defaultAuthConfig(), httpRate: null }, onError: (err) => internal.push(err) });
    const { tw, port, base } = running;
    const t0 = Date.UTC(2024, 7, 9, 0, 0);
    tw.seed('binance', 'BTCUSDT', '1m', 40, t0, 61_000);
    tw.seed('binance', 'BTCUSDT', '5m', 10, t0, 61_000);
    tw.seed('kraken', 'XBT/USD', '1m', 20, t0, 60_000);

    const byStatus: Record<number, number> = {};
    const count = (status: number) => (byStatus[status] = (byStatus[status] ?? 0) + 1);
    // Each valid query alone, before any garbage.
    const alone = new Map<string, string>();
    const first = new Pipeline(port);
    for (const [i, a] of (await first.send(VALID)).entries()) {
      expect(a.status, VALID[i]).toBe(200);
      alone.set(VALID[i]!, stable(a.body));
      count(a.status);
    }
    expect(JSON.parse(alone.get(VALID[0]!)!).candles).toHaveLength(5);
    expect(alone.get(VALID[1]!)!.trim().split('\n')).toHaveLength(4);

    // On a server of their own: uWS may run a route for a request it then drops unanswered (a POST with a bad
    // body), which would count an answer nobody got and blur the exact count below.
    other = await startServer({ auth: { ...defaultAuthConfig(), httpRate: null }, onError: (err) => internal.push(err) });
    const otherPort = other.port;
    const garbage = NOT_HTTP.map(([what, bytes]) => notHttp(otherPort, bytes).then((r) => ({ what, ...r })));

    const kinds: Record<string, number> = {};
    let valid = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async (_, c) => {
        const rng = new Prng((seed + c) >>> 0);
        const fuzzer = new QueryFuzzer(rng);
        const pipe = new Pipeline(port);
        const where = `seed ${seed}, connection ${c}`;
        for (let sent = 0; sent < QUERIES / CONNECTIONS; ) {
          const batch: (Query | string)[] = [];
          while (batch.length < BATCH && sent < QUERIES / CONNECTIONS) {
            if (rng.chance(0.1)) {
              batch.push(rng.pick(VALID));
            } else {
              batch.push(fuzzer.next());
              sent++;
            }
          }
          const answers = await withTimeout(pipe.send(batch.map((q) => (typeof q === 'string' ? q : q.path))), BATCH_TIMEOUT_MS, where);
          answers.forEach((a, i) => {
            const q = batch[i]!;
            count(a.status);
            if (typeof q === 'string') {
              valid++;
              if (a.status !== 200 || stable(a.body) !== alone.get(q)) throw new Error(`${where}: valid query ${q} answered ${a.status} ${a.body.slice(0, 200)} amid the garbage`);
              return;
            }
            kinds[q.kind] = (kinds[q.kind] ?? 0) + 1;
            const why = wrong(q, a);
            if (why !== '') throw new Error(`${where}: ${q.kind}: GET ${q.path.slice(0, 300)}: ${why}; body ${a.body.slice(0, 300)}`);
          });
        }
      }),
    );
    const elapsed = performance.now() - started;
    expect(internal).toEqual([]);
    expect(Object.keys(byStatus).filter((s) => Number(s) >= 500)).toEqual([]);

    // Not-HTTP requests: answered 4xx or dropped, at once or at uWS's timeout; and that server still serves.
    expect((await new Pipeline(otherPort).send([VALID[0]!]))[0]!.status).toBe(200);
    const notHttpAnswers = await withTimeout(Promise.all(garbage), 35_000, 'the not-HTTP connections to be closed');
    for (const g of notHttpAnswers) {
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(g.answer)?.[1];
      expect(status === undefined || (Number(status) >= 400 && Number(status) < 500), `${g.what}: ${g.answer.slice(0, 100)}`).toBe(true);
      expect(g.closedAfterMs, `${g.what}: a hang`).toBeLessThan(30_000); // uWS's timeout is ~10 s
    }

    // Counted by status, over every route (the /metrics answer counts itself only after it is written).
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const counted: Record<number, number> = {};
    for (const m of metrics.matchAll(/^tickwire_http_requests_total\{route="[^"]*",status="(\d+)"\} (\d+)$/gm)) {
      counted[Number(m[1])] = (counted[Number(m[1])] ?? 0) + Number(m[2]);
    }
    expect(counted).toEqual(byStatus);
    console.log(
      `fuzz HTTP queries (seed ${seed}): ${QUERIES} malformed and ${valid} valid over ${CONNECTIONS} keep-alive connections in ${(elapsed / 1000).toFixed(1)} s; ` +
        `answers by status ${JSON.stringify(byStatus)}; not HTTP: ${notHttpAnswers.map((g) => `${g.what} → ${g.answer === '' ? 'closed' : g.answer.slice(9, 12)} in ${Math.round(g.closedAfterMs)} ms`).join(', ')}; kinds ${Object.entries(kinds).sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, n]) => `${k} ${n}`).join(', ')}`,
    );
  });
});
