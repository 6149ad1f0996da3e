/**
 * Fuzz: 100,000 malformed client messages (times FUZZ_SCALE: a tenth in
 * `npm test`) to the real uWebSockets.js server over loopback, spread over four connections sending in parallel (see
 * support/client-messages.ts for what they are). Each must get exactly its
 * answer, in order: an `error` with a documented code (never
 * INTERNAL_ERROR), a `pong` for the pings mixed in, or — for a message over
 * twice `maxMessageBytes` and a text frame that is not UTF-8 — the
 * connection closed by uWS (1006, as src/server/stream.ts documents), after
 * which the sender reconnects and goes on. Every answered rejection is
 * counted in `/metrics` by code, and a subscriber on a fifth connection
 * receives every trade published meanwhile, in order, without a gap.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Prng } from '../support/prng.ts';
import { Client, startServer, type Msg, type Running } from '../server/helpers.ts';
import { fuzzCount } from './support/fuzz-scale.ts';
import { fuzzSeed } from './support/fuzz-seed.ts';
import { ClientMessageFuzzer, type ClientMessage } from './support/client-messages.ts';

const CONNECTIONS = 4;
/** 100,000 at FUZZ_SCALE=1, split evenly over the connections. */
const MESSAGES = fuzzCount(100_000, CONNECTIONS);
/** Messages in flight per connection before the sender waits for answers. */
const WINDOW = 256;
/** How many of each connection's messages may close it (they cost a reconnect each). */
const CLOSING_SHARE = 0.004;
const MAX_MESSAGE_BYTES = 64 * 1024;

let running: Running | undefined;
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await running?.server.close();
  running = undefined;
});

/** What one sending connection saw. */
interface Tally {
  sent: number;
  /** Answered errors by code. */
  codes: Record<string, number>;
  pongs: number;
  closes: { 'too big': number; 'not UTF-8': number };
  kinds: Record<string, number>;
}

function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 24 });
  sockets.push(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function preview(m: ClientMessage): string {
  const text = typeof m.data === 'string' ? m.data : `<${m.binary ? 'binary' : 'text'} ${m.data.length} bytes: ${m.data.subarray(0, 40).toString('hex')}>`;
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}… (${text.length} chars)` : text);
}

/** Send `count` fuzzed messages on one connection (reconnecting after each close), checking every answer in order. */
async function sendGarbage(url: string, fuzzer: ClientMessageFuzzer, rng: Prng, count: number, where: string): Promise<Tally> {
  const tally: Tally = { sent: 0, codes: {}, pongs: 0, closes: { 'too big': 0, 'not UTF-8': 0 }, kinds: {} };
  const pending: { m: ClientMessage; n: number }[] = [];
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const waitUntil = async (cond: () => boolean, what: string) => {
    const deadline = Date.now() + 20_000;
    while (!cond() && failure === undefined) {
      if (Date.now() > deadline) throw new Error(`${where}: timed out waiting for ${what} (${pending.length} unanswered, first: message #${pending[0]?.n} ${pending[0] ? preview(pending[0].m) : ''})`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    if (failure !== undefined) throw failure;
  };
  const attach = (ws: WebSocket) => {
    ws.on('message', (data, isBinary) => {
      const p = pending.shift();
      let reply: Msg;
      try {
        reply = isBinary ? { binary: (data as Buffer).length } : JSON.parse(data.toString());
      } catch {
        reply = { unparsable: data.toString().slice(0, 200) };
      }
      const problem = (() => {
        if (p === undefined) return 'a message nothing asked for';
        const answer = p.m.answer;
        if ('pong' in answer) return reply.type === 'pong' && reply.id === answer.pong ? '' : `expected pong ${answer.pong}`;
        if ('error' in answer) {
          if (reply.type !== 'error' || !answer.error.includes(reply.code)) return `expected an error with a code in ${answer.error.join('/')}`;
          tally.codes[reply.code] = (tally.codes[reply.code] ?? 0) + 1;
          return '';
        }
        return 'an answer to a message that closes the connection';
      })();
      if (reply.type === 'pong' && problem === '') tally.pongs++;
      if (problem !== '' && failure === undefined) {
        failure = new Error(`${where}: message #${p?.n} (${p?.m.kind}) ${p ? preview(p.m) : ''}: ${problem}, got ${JSON.stringify(reply).slice(0, 300)}`);
      }
      notify();
    });
    ws.on('error', () => {});
  };

  let ws = await open(url);
  attach(ws);
  for (let n = 0; n < count; n++) {
    const m = fuzzer.next(rng.chance(CLOSING_SHARE));
    tally.sent++;
    tally.kinds[m.kind] = (tally.kinds[m.kind] ?? 0) + 1;
    if ('close' in m.answer) {
      // Everything before it answered, then the close, then a new connection.
      await waitUntil(() => pending.length === 0, 'answers before a closing message');
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      ws.send(m.data, { binary: false });
      const code = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 10_000))]);
      if (code !== 1006) throw new Error(`${where}: message #${n} (${m.kind}) ${preview(m)}: expected uWS to close the connection (1006), got ${code}`);
      tally.closes[m.answer.close]++;
      ws = await open(url);
      attach(ws);
      continue;
    }
    pending.push({ m, n });
    ws.send(m.data, { binary: m.binary });
    if (pending.length >= WINDOW) await waitUntil(() => pending.length < WINDOW / 2, 'answers');
  }
  await waitUntil(() => pending.length === 0, 'the last answers');
  return tally;
}

/** `tickwire_ws_rejected_messages_total` by code, from the Prometheus text. */
function rejectedByCode(metrics: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of metrics.matchAll(/^tickwire_ws_rejected_messages_total\{code="([A-Z_]+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

describe('fuzz: client messages on /v1/stream', () => {
  it(`${MESSAGES.toLocaleString('en')} malformed messages over ${CONNECTIONS} connections: each answered or closed as documented, counted; a subscriber misses nothing`, async () => {
    const seed = fuzzSeed('client messages');
    const internal: unknown[] = [];
    running = await startServer({
      maxPayloadLength: MAX_MESSAGE_BYTES,
      // The fuzz is of validation, not of the rate limit: every subscribe gets checked.
      subscribeRate: { rate: 10_000, burst: 100_000 },
      onError: (err) => internal.push(err),
    });
    const { tw, wsUrl, base } = running;

    const sub = await Client.connect(wsUrl);
    sockets.push(sub.ws);
    const ack = await sub.subscribe(['trades:binance:BTCUSDT']);
    expect(ack).toMatchObject({ type: 'subscribed', channels: ['trades:binance:BTCUSDT'] });
    const emitted: number[] = [];
    const producer = setInterval(() => {
      for (let i = 0; i < 5; i++) emitted.push(tw.trade('binance', 'BTCUSDT').tradeId!);
    }, 2);

    const started = performance.now();
    let tallies: Tally[];
    try {
      tallies = await Promise.all(
        Array.from({ length: CONNECTIONS }, (_, c) => {
          const rng = new Prng((seed + c) >>> 0);
          return sendGarbage(wsUrl, new ClientMessageFuzzer(rng, MAX_MESSAGE_BYTES), rng, MESSAGES / CONNECTIONS, `seed ${seed}, connection ${c}`);
        }),
      );
    } finally {
      clearInterval(producer);
    }
    const elapsed = performance.now() - started;

    // The subscriber got every trade, in order, seq without holes, no gap notice.
    const live = [...sub.received.splice(0), ...(await sub.sync())];
    expect(live.filter((m: Msg) => m.type !== 'trade'), 'only trades on the subscriber').toEqual([]);
    expect(live.map((m: Msg) => m.tradeId)).toEqual(emitted);
    expect(live.every((m: Msg, i: number) => i === 0 || m.seq === live[i - 1].seq + 1)).toBe(true);

    const sum = (f: (t: Tally) => number) => tallies.reduce((n, t) => n + f(t), 0);
    const codes: Record<string, number> = {};
    for (const t of tallies) for (const [code, n] of Object.entries(t.codes)) codes[code] = (codes[code] ?? 0) + n;
    const tooBig = sum((t) => t.closes['too big']);
    const notUtf8 = sum((t) => t.closes['not UTF-8']);
    const answered = Object.values(codes).reduce((a, b) => a + b, 0);
    expect(sum((t) => t.sent)).toBe(MESSAGES);
    expect(answered + sum((t) => t.pongs) + tooBig + notUtf8).toBe(MESSAGES);
    expect(codes['INTERNAL_ERROR'] ?? 0).toBe(0);
    expect(internal).toEqual([]);

    // Counted by code: exactly, except that a too-big message uWS closed on is counted INVALID_PARAMETER
    // too, and a text frame that is not UTF-8 may or may not be (uWS closes before any handler sees it).
    const counted = rejectedByCode(await (await fetch(`${base}/metrics`)).text());
    for (const [code, n] of Object.entries(codes)) {
      if (code === 'INVALID_PARAMETER') {
        expect(counted[code]).toBeGreaterThanOrEqual(n + tooBig);
        expect(counted[code]).toBeLessThanOrEqual(n + tooBig + notUtf8);
      } else {
        expect(counted[code], code).toBe(n);
      }
    }

    const kinds: Record<string, number> = {};
    for (const t of tallies) for (const [k, n] of Object.entries(t.kinds)) kinds[k] = (kinds[k] ?? 0) + n;
    console.log(
      `fuzz client messages (seed ${seed}): ${MESSAGES} messages over ${CONNECTIONS} connections in ${(elapsed / 1000).toFixed(1)} s ` +
        `(${Object.entries(kinds).map(([k, n]) => `${k} ${n}`).join(', ')}); answered ${JSON.stringify(codes)}, ${sum((t) => t.pongs)} pongs, ` +
        `${tooBig} closed as too big, ${notUtf8} closed as not UTF-8; metrics ${JSON.stringify(counted)}; subscriber got ${live.length} trades in order`,
    );
  });
});
