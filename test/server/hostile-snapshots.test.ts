/**
 * The snapshot attack of issue 18 (item 2) measured as the issue's goal for
 * item 1 states it: no turn of the main thread held more than 5 ms, and
 * other clients' ping p99 low while it lasts.
 *
 * The attacker runs in a child process (parsing megabytes of snapshots must
 * not be counted as the server's stall, nor its CPU in the server's measure); the server and the
 * pinging client share this process's loop, so a ping's round trip includes
 * any turn the server held. Several attacking connections ask for
 * `snapshot: 1000` over 400 bars channels again and again, each as soon as
 * the previous was answered (or RATE_LIMITED), for a fixed time.
 *
 * Measured here with 8 attackers (4 s, 8 admitted, 3,200 snapshots, ~11 MB):
 * before slicing every admitted message was one turn, 7 of them over 25 ms,
 * and the pinger's slowest round trip 475 ms; sliced, 0–2 turns over 25 ms,
 * 6–10 of ~650 over 5 ms (a loaded machine's preemption and GC), ping p99
 * 2.4–3.3 ms (quiet 0.7–1.8 ms), slowest 53–105 ms. The p99 alone does not
 * tell them apart (2 ms before: 8 stalls among 2,400 pings), so the test asserts the
 * server's own per-turn measure (the smaller of wall and process CPU time),
 * and the p99 generously against a same-run quiet baseline.
 */
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { afterEach, expect, it } from 'vitest';
import { makeBar } from '../support/fake-tickwire.ts';
import { BARS, SYMBOLS, seeded } from './snapshot-fixtures.ts';
import { Client, startServer, type Msg, type Running } from './helpers.ts';

const ATTACKERS = 12;
const ATTACK_MS = 4000;

/** The attacker: plain JS in a child process, `ws` from the project's dependencies; prints its figures as JSON. */
const ATTACKER = `
const workerData = JSON.parse(process.env.ATTACK);
const WebSocket = require(workerData.ws);
const { url, n, ms, channels, snapshot } = workerData;
const stats = { sent: 0, admitted: 0, limited: 0, snapshots: 0, bytes: 0, closed: 0 };
const until = Date.now() + ms;
async function one() {
  const ws = new WebSocket(url);
  await new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); });
  let waiting = null;
  ws.on('message', (data) => {
    stats.bytes += data.length;
    const m = JSON.parse(data.toString());
    if (m.type === 'snapshot') stats.snapshots++;
    if (m.id !== undefined && m.id !== null && waiting !== null) { const w = waiting; waiting = null; w(m); }
  });
  ws.on('close', () => { stats.closed++; if (waiting !== null) waiting({ type: 'closed' }); });
  for (let k = 0; Date.now() < until && ws.readyState === WebSocket.OPEN; k++) {
    const reply = new Promise((res) => (waiting = res));
    ws.send(JSON.stringify({ op: 'subscribe', id: k, channels, snapshot }));
    stats.sent++;
    const m = await reply;
    if (m.type === 'subscribed') stats.admitted++;
    else if (m.code === 'RATE_LIMITED') { stats.limited++; await new Promise((res) => setTimeout(res, 50)); }
    else break;
  }
  ws.terminate();
}
Promise.all(Array.from({ length: n }, one)).then(() => console.log(JSON.stringify(stats)), (err) => console.log(JSON.stringify({ error: String(err) })));
`;

interface AttackStats {
  sent: number;
  admitted: number;
  limited: number;
  snapshots: number;
  bytes: number;
  closed: number;
  error?: string;
}

let r: Running | undefined;
let pinger: Client | undefined;

afterEach(async () => {
  pinger?.ws.terminate();
  pinger = undefined;
  await r?.server.close();
  r = undefined;
});

/** Ping round trips, ms, one after another with a 1 ms pause, until `done()`. */
async function pings(c: Client, done: () => boolean): Promise<number[]> {
  const rtts: number[] = [];
  while (!done()) {
    const t = performance.now();
    await c.request({ op: 'ping' });
    rtts.push(performance.now() - t);
    await new Promise((res) => setTimeout(res, 1));
  }
  return rtts;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))]!;
}

/** The server's per-turn measure of subscribes (`op`) or snapshot turns: count, over 5 ms, over 25 ms. */
async function turnTimes(op: 'subscribe' | 'snapshot'): Promise<{ count: number; over5: number; over25: number }> {
  const text = await (await fetch(`${r!.base}/metrics`)).text();
  const at = (le: string): number => {
    const m = new RegExp(`^tickwire_ws_request_seconds_bucket\\{le="${le.replace('+', '\\+')}",op="${op}"\\} (\\d+)`, 'm').exec(text);
    return m === null ? 0 : Number(m[1]);
  };
  const count = at('+Inf');
  return { count, over5: count - at('0.005'), over25: count - at('0.025') };
}

it('snapshot attack from a child process: no server turn over 5 ms (outliers aside), other clients\' ping p99 stays low', async () => {
  r = await startServer({}, seeded());
  pinger = await Client.connect(r.wsUrl);
  const quietEnd = performance.now() + 500;
  const quiet = await pings(pinger, () => performance.now() > quietEnd);
  const before = [await turnTimes('subscribe'), await turnTimes('snapshot')];
  const attack = {
    ws: createRequire(import.meta.url).resolve('ws'), url: r.wsUrl, n: ATTACKERS, ms: ATTACK_MS, snapshot: BARS,
    channels: ['bars:binance:*:1m', 'bars:binance:*:5m'],
  };
  const child = spawn(process.execPath, ['-e', ATTACKER], { env: { ...process.env, ATTACK: JSON.stringify(attack) }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  let stats: AttackStats | undefined;
  const finished = new Promise<AttackStats>((res, rej) => {
    child.once('exit', () => res((stats = JSON.parse(out || '{"error":"no output"}') as AttackStats)));
    child.once('error', rej);
  });
  const rss0 = process.memoryUsage().rss;
  let rssMax = rss0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 50);
  const rtts = await pings(pinger, () => stats !== undefined);
  clearInterval(sampler);
  await finished;
  const after = [await turnTimes('subscribe'), await turnTimes('snapshot')];
  const s = stats!;
  const [subs, slices] = [0, 1].map((i) => ({
    count: after[i]!.count - before[i]!.count, over5: after[i]!.over5 - before[i]!.over5, over25: after[i]!.over25 - before[i]!.over25,
  })) as [{ count: number; over5: number; over25: number }, { count: number; over5: number; over25: number }];
  const turns = subs.count + slices.count;
  const over5 = subs.over5 + slices.over5;
  const over25 = subs.over25 + slices.over25;
  console.log(`[hostile-snapshots] ${ATTACKERS} attackers for ${ATTACK_MS} ms: ${s.sent} subscribes, ${s.admitted} admitted, ${s.limited} RATE_LIMITED, ` +
    `${s.snapshots} snapshots, ${(s.bytes / 1e6).toFixed(1)} MB; server: ${subs.count} subscribe turns (${subs.over5} over 5 ms, ${subs.over25} over 25 ms), ` +
    `${slices.count} snapshot turns (${slices.over5} over 5 ms, ${slices.over25} over 25 ms); ` +
    `RSS +${((rssMax - rss0) / 1e6).toFixed(0)} MB; ` +
    `other client's ping p50 ${quantile(rtts, 0.5).toFixed(2)} p99 ${quantile(rtts, 0.99).toFixed(2)} max ${Math.max(...rtts).toFixed(1)} ms over ${rtts.length} ` +
    `(quiet p99 ${quantile(quiet, 0.99).toFixed(2)} ms over ${quiet.length})`);
  expect(s.error).toBeUndefined();
  expect(s.admitted).toBeGreaterThanOrEqual(ATTACKERS);
  expect(s.snapshots).toBeGreaterThanOrEqual(400 * ATTACKERS);
  // The server's own measure: before slicing every admitted message was one turn of 30–130 ms.
  expect(over5).toBeLessThanOrEqual(Math.max(5, Math.floor(turns / 50)));
  // Outliers: the first subscribe creating 400 resume histories (~11 ms measured, not snapshot work), a GC.
  expect(over25).toBeLessThanOrEqual(3);
  // Before: p99 of 40–130 ms. Generous for a shared machine, relative to this run's quiet p99.
  expect(quantile(rtts, 0.99)).toBeLessThan(25 + quantile(quiet, 0.99));
  expect(rssMax - rss0).toBeLessThan(200e6);
}, 30_000);

it('a sliced subscribe: the ack first, each channel live right after its snapshot (seq + 1, no gap, no duplicate), the same connection\'s ping after every snapshot; a client leaving mid-way harms nothing', async () => {
  const tw = seeded();
  r = await startServer({}, tw);
  const c = await Client.connect(r.wsUrl);
  const leaver = await Client.connect(r.wsUrl);
  try {
    const t0 = Date.UTC(2024, 0, 1);
    // Forming-bar updates on every 1m channel, every turn, while the snapshots are sent.
    let k = 0;
    const updates = setInterval(() => {
      for (let i = 0; i < SYMBOLS; i += 7) tw.bar('binance', `S${i}USDT`, '1m', makeBar(t0 + (BARS - 1) * 60_000, 60_000, 200 + k, false));
      k++;
    }, 0);
    leaver.send({ op: 'subscribe', id: 'x', channels: ['bars:binance:*:1m'], snapshot: BARS });
    leaver.ws.terminate();
    c.send({ op: 'subscribe', id: 's', channels: ['bars:binance:*:1m'], snapshot: BARS });
    c.send({ op: 'ping', id: 'p' });
    const got: Msg[] = [];
    for (;;) {
      const m = await c.next(10_000);
      got.push(m);
      if (m.type === 'pong') break;
    }
    clearInterval(updates);
    expect(got[0]).toMatchObject({ type: 'subscribed', id: 's' });
    expect(got[0].channels).toHaveLength(SYMBOLS);
    const snapshots = got.filter((m) => m.type === 'snapshot');
    expect(snapshots).toHaveLength(SYMBOLS);
    // Sent over several turns, with updates published between them.
    expect(k).toBeGreaterThan(0);
    const snapAt = new Map<string, number>();
    const lastSeq = new Map<string, number>();
    let live = 0;
    for (const m of got.slice(1)) {
      if (m.type === 'snapshot') {
        expect(snapAt.has(m.channel)).toBe(false);
        snapAt.set(m.channel, m.seq);
        lastSeq.set(m.channel, m.seq);
      } else if (m.type === 'bar') {
        live++;
        expect(snapAt.has(m.channel)).toBe(true); // never before its snapshot
        expect(m.seq).toBe(lastSeq.get(m.channel)! + 1); // no gap, no duplicate
        lastSeq.set(m.channel, m.seq);
      } else if (m.type !== 'gap' && m.type !== 'pong') {
        throw new Error(`unexpected ${JSON.stringify(m).slice(0, 200)}`);
      }
    }
    console.log(`[hostile-snapshots] ordered: ${snapshots.length} snapshots, ${live} live bars among them, ${k} update rounds`);
    // The server carries on: the leaver's channels are gone, this client's held.
    await c.sync();
    const text = await (await fetch(`${r.base}/metrics`)).text();
    expect(text).toMatch(new RegExp(`^tickwire_subscribers ${SYMBOLS}$`, 'm'));
  } finally {
    c.ws.terminate();
  }
});
