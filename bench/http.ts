/**
 * HTTP candles: requests per second and latency of
 * `GET /v1/candles/binance/BTCUSDT/1m?limit=50` and `limit=500` on tickwire,
 * against the same candles served by a plain Fastify route from an array
 * (fastify-candles.ts), with autocannon as the load client.
 *
 * tickwire's bars are real: the fake exchange plays 600 minutes of
 * back-dated trades (one every 5 s) through the feed worker, so the 1m
 * series holds 600 closed bars and the forming one. Fastify gets exactly the
 * candles tickwire answers (fetched with limit=1000), and the two answers are
 * checked equal for both limits before anything is measured.
 *
 * Placement (2 cores): the server under test in a child process pinned to
 * CPU 1; autocannon in a worker thread of this process, pinned to CPU 0.
 * Each measurement follows a 1 s warm-up run. Latency is autocannon's
 * response time per request (closed loop, `connections` in flight), in an
 * HDR histogram at µs resolution.
 *
 * The floor (http-floor.ts) runs beside them under the same loads: one uWS
 * route answering tickwire's own answer bytes, with tickwire's headers, as
 * fixed bytes. Its CPU per request and its tail are what the kernel, uWS and
 * Node's event loop cost on this machine; the figures carry it as their
 * `floor`, so a goal the floor misses too is reported beyond this machine.
 *
 * Then the latency goal's own load: `limit=50` at a fixed 2,000 requests/s,
 * open loop (openloop-worker.ts: requests on a schedule, whatever the
 * answers do), on all three servers. Its p99 is the goal's figure: a closed loop
 * sends as fast as answers come, so its p99 measures a saturated server's
 * queue, not what a client of a server under a given load sees.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import type { Worker } from 'node:worker_threads';
import type { AutocannonJob, AutocannonResult } from './autocannon-worker.ts';
import type { FloorBody } from './http-floor.ts';
import type { OpenLoopJob, OpenLoopResult } from './openloop-worker.ts';
import type { ExchangeCommand, ExchangeReply, ExchangeWorkerData } from './exchange-worker.ts';
import { merge, summarize, type LatencySummary } from './load/latency.ts';
import { nextMessage, ofType, startChild, startWorker, stopChild } from './load/peers.ts';
import { SendTimes } from './load/send-times.ts';
import { probed, type GatewayProbe } from './load/gateway-probe.ts';
import type { Profile } from './profile.ts';
import { figure, type Figure } from './report.ts';
import { cpuSeconds } from './threads.ts';

const PATH = '/v1/candles/binance/BTCUSDT/1m';
const LIMITS = [50, 500] as const;
const HISTORY_MINUTES = 600;
const TRADE_EVERY_MS = 5_000;
/** Issue 12's goal for server CPU per request, µs, by limit. */
const CPU_GOAL_US: Readonly<Record<number, number>> = { 50: 10, 500: 60 };
/** Headers uWS writes on every answer itself: the floor gets every other header of tickwire's answer. */
const UWS_OWN_HEADERS = new Set(['date', 'content-length', 'uwebsockets', 'connection', 'keep-alive']);

/** One measured autocannon run against one server at one limit. */
export interface HttpRun {
  server: 'tickwire' | 'fastify' | 'floor';
  limit: number;
  seconds: number;
  connections: number;
  requests: number;
  rps: number;
  non2xx: number;
  errors: number;
  bytesPerResponse: number;
  latencyUs: LatencySummary;
  serverCpuPct: number;
  clientElu: number;
  /** The server's main thread over the run: GC pauses, event-loop utilization. */
  serverThread: GatewayProbe;
}

type Played = Extract<ExchangeReply, { type: 'played' }>;

/** One open-loop run against one server at limit=50. */
export interface OpenLoopRun {
  server: HttpRun['server'];
  rate: number;
  seconds: number;
  sent: number;
  answered: number;
  non2xx: number;
  unanswered: number;
  latencyUs: LatencySummary;
  /** How late the client wrote against its schedule, µs: the client's part, not the server's. */
  scheduleLagUs: LatencySummary;
  /** From each request's scheduled send to its whole answer, µs: corrected for coordinated omission. */
  fromScheduleUs: LatencySummary;
  serverCpuPct: number;
  clientElu: number;
  /** The load generator's own CPU time per request, µs. */
  clientCpuUs: number;
  /** Of the server's CPU, % of a core: its main thread, and every other thread (a feed worker, V8's GC helpers, libuv's pool). */
  serverMainCpuPct: number;
  serverOtherCpuPct: number;
  /** The server's main thread over the run: GC pauses, event-loop utilization. */
  serverThread: GatewayProbe;
}

async function openLoopRun(server: HttpRun['server'], child: ChildProcess, port: number, profile: Profile): Promise<OpenLoopRun> {
  const { rate, seconds, connections } = profile.http.openLoop;
  const job: OpenLoopJob = { host: '127.0.0.1', port, path: `${PATH}?limit=50`, rate, seconds, connections };
  const cpu0 = cpuSeconds(child.pid!);
  const main0 = cpuSeconds(child.pid!, child.pid!);
  const t0 = performance.now();
  const { result, probe } = await probed(child, async () => {
    const worker = startWorker(new URL('./openloop-worker.ts', import.meta.url), { ...job });
    try {
      return await nextMessage(worker, ofType<OpenLoopResult>('result'), (seconds + 60) * 1000, 'open-loop client');
    } finally {
      await worker.terminate();
    }
  });
  const wall = (performance.now() - t0) / 1000;
  const cpuPct = ((cpuSeconds(child.pid!) - cpu0) / wall) * 100;
  const mainPct = ((cpuSeconds(child.pid!, child.pid!) - main0) / wall) * 100;
  return {
    server,
    rate,
    seconds,
    sent: result.sent,
    answered: result.answered,
    non2xx: result.non2xx,
    unanswered: result.unanswered,
    latencyUs: summarize(merge([result.histogram])),
    scheduleLagUs: summarize(merge([result.lagHistogram])),
    fromScheduleUs: summarize(merge([result.scheduledHistogram])),
    serverCpuPct: cpuPct,
    clientElu: Number(result.elu.toFixed(3)),
    clientCpuUs: (result.cpuMs * 1000) / Math.max(1, result.sent),
    serverMainCpuPct: mainPct,
    serverOtherCpuPct: cpuPct - mainPct,
    serverThread: probe,
  };
}

async function autocannonRun(job: AutocannonJob): Promise<{ result: AutocannonResult; latency: LatencySummary }> {
  const worker = startWorker(new URL('./autocannon-worker.ts', import.meta.url), { ...job });
  try {
    const result = await nextMessage(worker, ofType<AutocannonResult>('result'), (job.seconds + 60) * 1000, 'autocannon');
    return { result, latency: summarize(merge([result.histogram])) };
  } finally {
    await worker.terminate();
  }
}

async function measure(server: HttpRun['server'], child: ChildProcess, port: number, limit: number, profile: Profile): Promise<HttpRun> {
  const url = `http://127.0.0.1:${port}${PATH}?limit=${limit}`;
  const { connections, seconds } = profile.http;
  await autocannonRun({ url, connections, seconds: 1 }); // warm-up
  const cpu0 = cpuSeconds(child.pid!);
  const t0 = performance.now();
  const { result: { result, latency }, probe } = await probed(child, () => autocannonRun({ url, connections, seconds }));
  const cpuPct = ((cpuSeconds(child.pid!) - cpu0) / ((performance.now() - t0) / 1000)) * 100;
  return {
    server,
    limit,
    seconds,
    connections,
    requests: result.requests,
    rps: result.rps,
    non2xx: result.non2xx,
    errors: result.errors,
    bytesPerResponse: result.requests > 0 ? Math.round(result.bytes / result.requests) : 0,
    latencyUs: latency,
    serverCpuPct: cpuPct,
    clientElu: Number(result.elu.toFixed(3)),
    serverThread: probe,
  };
}

/** How late the open-loop generator was and how busy: when its lag alone reaches the goal, the generator is the limit. */
function generatorText(r: OpenLoopRun): string {
  const limit = r.scheduleLagUs.p99 >= 1000 ? ' (the generator alone misses 1 ms: it is the limit here)' : '';
  return `generator lag behind its schedule p99 ${r.scheduleLagUs.p99} µs${limit}, its ELU ${r.clientElu}, its CPU ${r.clientCpuUs.toFixed(1)} µs per request`;
}

/** A server's GC over a run, for the log and the notes. */
function gcText(p: GatewayProbe): string {
  return `main thread ELU ${p.elu.toFixed(2)}, ${p.gc.count} GCs (${p.gc.totalMs.toFixed(1)} ms, longest ${p.gc.maxMs.toFixed(2)} ms)`;
}

/** Server CPU time per request over the run, µs. */
function cpuPerRequest(r: HttpRun): number {
  return r.rps > 0 ? (r.serverCpuPct / 100 / r.rps) * 1e6 : NaN;
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

/** tickwire's answer at `url` as the floor gives it: its bytes and the headers uWS does not write itself. */
async function floorBody(url: string): Promise<FloorBody> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`);
  const headers = [...res.headers].filter(([name]) => !UWS_OWN_HEADERS.has(name)) as [string, string][];
  return { type: 'body', headers, body: Buffer.from(await res.arrayBuffer()).toString('base64') };
}

/** Give the floor the answer for the next runs and wait until it took it. */
async function floorAnswers(floor: ChildProcess, body: FloorBody): Promise<void> {
  const set = nextMessage(floor, ofType<{ type: 'body-set'; bytes: number }>('body-set'), 30_000, 'http floor body');
  floor.send(body);
  await set;
}

async function exchangeCommand(w: Worker, cmd: ExchangeCommand): Promise<ExchangeReply> {
  const reply = nextMessage(w, (m: unknown): m is ExchangeReply => typeof m === 'object' && m !== null && 'type' in m && (m as ExchangeReply).type !== 'listening', 120_000, `load generator ${cmd.type}`);
  w.postMessage(cmd);
  const m = await reply;
  if (m.type === 'error') throw new Error(`load generator ${cmd.type}: ${m.message}`);
  return m;
}

/** Both servers, both limits; the figures comparing them. */
export async function httpBench(profile: Profile, serverCpus: string | undefined, log: (line: string) => void): Promise<{ figures: Figure[]; details: unknown }> {
  // History only: no frame is timed, but the load generator always takes a send-time table.
  const exchange = startWorker(new URL('./exchange-worker.ts', import.meta.url), { sendTimes: SendTimes.allocate(), symbol: 'BTCUSDT' } satisfies ExchangeWorkerData);
  let tickwire: ChildProcess | undefined;
  let fastify: ChildProcess | undefined;
  let floor: ChildProcess | undefined;
  try {
    const { url } = await nextMessage(exchange, ofType<{ type: 'listening'; url: string }>('listening'), 30_000, 'load generator');
    tickwire = startChild(new URL('./gateway-tickwire.ts', import.meta.url), [url, '1m'], serverCpus);
    const { port: twPort } = await nextMessage(tickwire, ofType<{ type: 'ready'; port: number }>('ready'), 60_000, 'tickwire');
    await exchangeCommand(exchange, { type: 'waitSubscribed', timeoutMs: 30_000 });

    // Fill 600 minutes of 1m bars with back-dated trades; wait until they are all closed bars.
    const count = (HISTORY_MINUTES * 60_000) / TRADE_EVERY_MS;
    const fromTs = Math.floor(Date.now() / 60_000) * 60_000 - HISTORY_MINUTES * 60_000;
    const played = (await exchangeCommand(exchange, { type: 'history', firstId: 1, count, fromTs, stepMs: TRADE_EVERY_MS })) as Played;
    const full = `http://127.0.0.1:${twPort}${PATH}?limit=1000`;
    type Candles = { exchange: string; symbol: string; timeframe: string; count: number; candles: Record<string, unknown>[] };
    let all: Candles | undefined;
    const deadline = performance.now() + 30_000;
    while (performance.now() < deadline) {
      all = (await getJson(full)) as Candles;
      if (all.count >= HISTORY_MINUTES) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (all === undefined || all.count < HISTORY_MINUTES) throw new Error(`tickwire holds ${all?.count ?? 0} 1m bars after ${played.sent} trades, expected ${HISTORY_MINUTES}`);
    log(`http: tickwire holds ${all.count} 1m bars from ${played.sent} trades`);

    // Fastify serves what tickwire answers now. tickwire's bars can still move (the forming bar
    // closes on the clock, a flat bar opens each minute): when the two differ, start Fastify again
    // from a fresh copy (at most 3 tries).
    let fyPort = 0;
    for (let attempt = 1; ; attempt++) {
      fastify = startChild(new URL('./fastify-candles.ts', import.meta.url), [], serverCpus);
      fastify.send({ type: 'candles', exchange: all.exchange, symbol: all.symbol, timeframe: all.timeframe, candles: all.candles });
      fyPort = (await nextMessage(fastify, ofType<{ type: 'ready'; port: number }>('ready'), 60_000, 'fastify')).port;
      const differs: number[] = [];
      for (const limit of LIMITS) {
        const a = await getJson(`http://127.0.0.1:${twPort}${PATH}?limit=${limit}`);
        const b = await getJson(`http://127.0.0.1:${fyPort}${PATH}?limit=${limit}`);
        if (!isDeepStrictEqual(a, b)) differs.push(limit);
      }
      if (differs.length === 0) break;
      if (attempt === 3) throw new Error(`http: tickwire and Fastify answer different candles for limit=${differs.join(', ')}`);
      await stopChild(fastify);
      all = (await getJson(full)) as Candles;
    }
    // The floor answers tickwire's own bytes with tickwire's own headers, one limit at a time.
    const answers = new Map<number, FloorBody>();
    for (const limit of LIMITS) answers.set(limit, await floorBody(`http://127.0.0.1:${twPort}${PATH}?limit=${limit}`));
    floor = startChild(new URL('./http-floor.ts', import.meta.url), [PATH], serverCpus);
    floor.send(answers.get(LIMITS[0])!);
    const { port: flPort } = await nextMessage(floor, ofType<{ type: 'ready'; port: number }>('ready'), 60_000, 'http floor');
    const servers = [['tickwire', tickwire, twPort], ['fastify', fastify, fyPort], ['floor', floor, flPort]] as const;
    const runs: HttpRun[] = [];
    for (const limit of LIMITS) {
      await floorAnswers(floor, answers.get(limit)!);
      for (const [name, child, port] of servers) {
        const run = await measure(name, child, port, limit, profile);
        runs.push(run);
        log(
          `http ${name} limit=${limit}: ${Math.round(run.rps)} req/s, p50 ${run.latencyUs.p50} µs, p99 ${run.latencyUs.p99} µs, ` +
            `max ${run.latencyUs.max} µs, non-2xx ${run.non2xx}, errors ${run.errors}; server CPU ${run.serverCpuPct.toFixed(0)}% ` +
            `(${cpuPerRequest(run).toFixed(1)} µs per request), ${gcText(run.serverThread)}; client ELU ${run.clientElu}`,
        );
        if (run.non2xx > 0 || run.errors > 0) throw new Error(`http ${name} limit=${limit}: ${run.non2xx} non-2xx answers, ${run.errors} errors`);
      }
    }
    await floorAnswers(floor, answers.get(50)!);
    const openLoop: OpenLoopRun[] = [];
    for (const [name, child, port] of servers) {
      const run = await openLoopRun(name, child, port, profile);
      openLoop.push(run);
      log(
        `http ${name} limit=50 open loop ${run.rate}/s: p50 ${run.latencyUs.p50} µs, p99 ${run.latencyUs.p99} µs, p99.9 ${run.latencyUs.p999} µs, ` +
          `max ${run.latencyUs.max} µs; sent ${run.sent}, unanswered ${run.unanswered}, non-2xx ${run.non2xx}; ` +
          `from schedule p99 ${run.fromScheduleUs.p99} µs; client schedule lag p99 ${run.scheduleLagUs.p99} µs, ` +
          `client ELU ${run.clientElu}, client CPU ${run.clientCpuUs.toFixed(1)} µs per request; server CPU ${run.serverCpuPct.toFixed(0)}% ` +
          `(main thread ${run.serverMainCpuPct.toFixed(0)}%, other threads ${run.serverOtherCpuPct.toFixed(0)}%), ${gcText(run.serverThread)}`,
      );
      if (run.non2xx > 0 || run.unanswered > 0) throw new Error(`http ${name} open loop: ${run.non2xx} non-2xx answers, ${run.unanswered} unanswered`);
    }
    const pick = (server: HttpRun['server'], limit: number) => runs.find((r) => r.server === server && r.limit === limit)!;
    const peer = (v: number) => ({ name: 'plain Fastify route', value: v });
    const figures: Figure[] = [];
    for (const limit of LIMITS) {
      const tw = pick('tickwire', limit);
      const fy = pick('fastify', limit);
      const fl = pick('floor', limit);
      const floorWhat = `one uWS route answering tickwire's ${fl.bytesPerResponse}-byte limit=${limit} answer as fixed bytes with the same headers, same load`;
      figures.push(
        figure({
          id: `http.limit${limit}.rps`,
          group: 'http',
          name: `candles limit=${limit}: requests per second (${profile.http.connections} connections)`,
          value: tw.rps,
          unit: 'req/s',
          better: 'higher',
          peer: peer(fy.rps),
          goals: [{ text: '≥ 3× Fastify’s requests per second', on: 'ratio', op: '>=', threshold: 3 }],
          floor: { name: 'uWS fixed answer', value: fl.rps, why: `${floorWhat}; autocannon's event-loop utilization ${fl.clientElu} (near 1: the load generator is the limit)` },
          note: `autocannon's event-loop utilization: ${tw.clientElu} (tickwire), ${fy.clientElu} (Fastify), ${fl.clientElu} (floor); near 1 the load generator, not the server, is the limit`,
        }),
        figure({
          id: `http.limit${limit}.cpu_per_request`,
          group: 'http',
          name: `candles limit=${limit}: server CPU time per request`,
          value: cpuPerRequest(tw),
          unit: 'µs',
          better: 'lower',
          peer: peer(cpuPerRequest(fy)),
          goals: [
            { text: `server CPU ≤ ${CPU_GOAL_US[limit]} µs per request at limit=${limit}`, on: 'value', op: '<=', threshold: CPU_GOAL_US[limit]! },
            { text: `server CPU per request ≥ 5× better than Fastify’s at limit=${limit}`, on: 'ratio', op: '>=', threshold: 5 },
          ],
          floor: {
            name: 'uWS fixed answer',
            value: cpuPerRequest(fl),
            why: `${floorWhat}: its process's CPU per request (${fl.serverCpuPct.toFixed(0)}% of a core at ${Math.round(fl.rps)} req/s) is the loopback TCP, uWS's HTTP and Node's event loop alone`,
          },
          note: `server CPU: tickwire ${tw.serverCpuPct.toFixed(0)}%, Fastify ${fy.serverCpuPct.toFixed(0)}%, floor ${fl.serverCpuPct.toFixed(0)}% of a core (CPU time is the figure least disturbed by other work on the machine)`,
        }),
        figure({
          id: `http.limit${limit}.p50`,
          group: 'http',
          name: `candles limit=${limit}: latency p50`,
          value: tw.latencyUs.p50,
          unit: 'µs',
          better: 'lower',
          peer: peer(fy.latencyUs.p50),
        }),
        figure({
          id: `http.limit${limit}.p99`,
          group: 'http',
          name: `candles limit=${limit}: latency p99`,
          value: tw.latencyUs.p99,
          unit: 'µs',
          better: 'lower',
          peer: peer(fy.latencyUs.p99),
        }),
      );
    }
    const open = (server: HttpRun['server']) => openLoop.find((r) => r.server === server)!;
    const [twOpen, fyOpen, flOpen] = [open('tickwire'), open('fastify'), open('floor')];
    const openCpu = (r: OpenLoopRun) => ((r.serverCpuPct / 100) * 1e6) / r.rate;
    figures.push(
      figure({
        id: 'http.limit50.open_loop_p99',
        group: 'http',
        name: `candles limit=50: latency p99, open loop at ${twOpen.rate} req/s, from each request's scheduled send`,
        value: twOpen.fromScheduleUs.p99,
        unit: 'µs',
        better: 'lower',
        peer: peer(fyOpen.fromScheduleUs.p99),
        goals: [{ text: 'p99 < 1 ms at limit 50 under 2,000 req/s', on: 'value', op: '<', threshold: 1000 }],
        floor: {
          name: 'uWS fixed answer',
          value: flOpen.fromScheduleUs.p99,
          why: `the fixed limit=50 answer under the same open-loop schedule: its p99 is the load generator, the loopback, uWS, the event loop and the machine's other load (${generatorText(flOpen)})`,
        },
        note:
          `corrected for coordinated omission (a request the client wrote late is charged the wait); ${generatorText(twOpen)} in tickwire's run; ` +
          `tickwire's main thread: ${gcText(twOpen.serverThread)}, ${twOpen.serverMainCpuPct.toFixed(0)}% of a core, its other threads ${twOpen.serverOtherCpuPct.toFixed(0)}%; ` +
          `the floor's main thread: ${gcText(flOpen.serverThread)}, ${flOpen.serverMainCpuPct.toFixed(0)}%, other threads ${flOpen.serverOtherCpuPct.toFixed(0)}%`,
      }),
      figure({
        id: 'http.limit50.open_loop_p99_from_write',
        group: 'http',
        name: `candles limit=50: latency p99, open loop at ${twOpen.rate} req/s, from each request's write (the server's share)`,
        value: twOpen.latencyUs.p99,
        unit: 'µs',
        better: 'lower',
        peer: peer(fyOpen.latencyUs.p99),
        floor: { name: 'uWS fixed answer', value: flOpen.latencyUs.p99, why: 'the fixed limit=50 answer under the same open-loop schedule' },
        note: 'the client\'s own lateness left out: what the loopback and the server added to a request once written',
      }),
      figure({
        id: 'http.limit50.open_loop_cpu_per_request',
        group: 'http',
        name: `candles limit=50: server CPU time per request, open loop at ${twOpen.rate} req/s`,
        value: openCpu(twOpen),
        unit: 'µs',
        better: 'lower',
        peer: peer(openCpu(fyOpen)),
        floor: { name: 'uWS fixed answer', value: openCpu(flOpen), why: 'the fixed limit=50 answer at the same fixed rate' },
        note: 'at a fixed rate the idle cost of each process (timers, the feed worker) is charged to fewer requests than in the closed-loop runs',
      }),
    );
    return { figures, details: { path: PATH, bars: all.count, runs, openLoop } };
  } finally {
    if (floor !== undefined) await stopChild(floor);
    if (fastify !== undefined) await stopChild(fastify);
    if (tickwire !== undefined) await stopChild(tickwire);
    exchange.postMessage({ type: 'stop' } satisfies ExchangeCommand);
    await nextMessage(exchange, ofType('stopped'), 5_000, 'load generator stop').catch(() => undefined);
    await exchange.terminate();
  }
}
