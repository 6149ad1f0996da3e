/**
 * The soak orchestrator: brings up the fake exchange (a worker thread), the
 * gateway (a child process, measured alone), the subscribers (worker
 * threads), drives rated load for the configured time, samples every
 * interval, then takes everything down and judges the run.
 *
 * Order: exchange listening → gateway ready → every subscriber subscribed →
 * the exchange waits for the gateway's trade subscriptions and starts
 * sending. Every subscriber is on before the first trade, so each is owed
 * every trade of its symbol: after sending stops the orchestrator waits for
 * the deliveries to add up (at most DRAIN_MS), and any shortfall is a loss.
 *
 * A failed peer (crash, exit, a `failed` message) ends the run early; so
 * does `signal` (Ctrl-C). Either way the report is written and judged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Histogram } from 'hdr-histogram-js';
import { latencyHistogram, merge, summarize } from '../../bench/load/latency.ts';
import { startChild, startWorker } from '../../bench/load/peers.ts';
import { SendTimes } from '../../bench/load/send-times.ts';
import { Endpoint } from './endpoint.ts';
import { FLOOD_CONNECTIONS, attackStartMs, hostileReasons, hostileSetup, outcomeMetrics, subscriberAddress, type HostileReport, type PhaseFigures } from './hostile.ts';
import type { SoakOptions } from './options.ts';
import type {
  AttackOutcomes,
  AttackerWorkerData,
  ExchangeWindow,
  ExchangeWorkerData,
  GatewayArgs,
  GatewaySample,
  SubscriberWindow,
  SubscriberWorkerData,
} from './protocol.ts';
import { progressLine, type LatencyMs, type SoakReport, type SoakSample } from './report.ts';
import { judgeSoak, type SoakTotals } from './verdict.ts';

const EXCHANGE_ENTRY = new URL('./exchange-worker.ts', import.meta.url);
const SUBSCRIBER_ENTRY = new URL('./subscriber-worker.ts', import.meta.url);
const GATEWAY_ENTRY = new URL('./gateway.ts', import.meta.url);
const ATTACKER_ENTRY = new URL('./attacker-worker.ts', import.meta.url);

/** Bars each subscriber asks as a snapshot when it subscribes. */
const SNAPSHOT_BARS = 10;
/** Longest wait for start-up steps, ms. */
const START_TIMEOUT_MS = 30_000;
/** Longest wait for a peer's reply during the run, ms (a busy machine is slow, not broken). */
const REPLY_TIMEOUT_MS = 15_000;
/** How long a peer may take to end when asked before it is ended by force, ms. */
const CLOSE_GRACE_MS = 5_000;
/** After sending stops, how long deliveries may take to add up, ms. */
const DRAIN_MS = 10_000;
/** How long the attacker may take to end its attacks when asked (a 64 MiB frame waits up to 10 s for its close), ms. */
const ATTACKER_STOP_MS = 30_000;

/** The report's view of a latency histogram (recorded in µs): ms, and zeros when it is empty. */
function latencyMs(h: Histogram): LatencyMs {
  const s = summarize(h);
  const ms = (us: number): number => (s.count === 0 ? 0 : us / 1_000);
  return { p50: ms(s.p50), p99: ms(s.p99), p999: ms(s.p999), max: ms(s.max), count: s.count };
}

/** Per-exchange fields of /v1/status the soak reads. */
interface ExchangeStatusView {
  state: string;
  ringOverflow: number;
  restarts: number;
  reconnects: number;
}

/** Run a soak with `opts`; `log` gets progress lines. Resolves with the judged report (not yet written). */
export async function runSoak(opts: SoakOptions, log: (line: string) => void, signal?: AbortSignal): Promise<SoakReport> {
  const startedAt = new Date().toISOString();
  const failures: string[] = [];
  const stopRun = new AbortController();
  const onFailure = (reason: string): void => {
    if (failures.includes(reason)) return;
    failures.push(reason);
    log(`FAILURE: ${reason}`);
    stopRun.abort();
  };
  signal?.addEventListener('abort', () => stopRun.abort(), { once: true });

  const sendTimes = SendTimes.allocate();
  const assignment = assignSymbols(opts.subscribers, opts.symbols);
  const samples: SoakSample[] = [];
  const overall = latencyHistogram();
  let lastWindows: SubscriberWindow[] = [];
  let lastExchange: ExchangeWindow | undefined;
  let lastStatus: ExchangeStatusView = { state: 'unknown', ringOverflow: 0, restarts: 0, reconnects: 0 };
  let httpErrors = 0;
  let messagesTotal = 0;
  let barsTotal = 0;
  let shutdownMs: number | null = null;
  let completed = false;
  let base = '';
  let storagePath: string | null = null;
  let gateway: Endpoint | undefined;
  let exchange: Endpoint | undefined;
  let attacker: Endpoint | undefined;
  const hostile = opts.hostile ? hostileSetup(opts.subscribers) : undefined;
  const attackAtMs = opts.hostile ? attackStartMs(opts.durationMs, opts.intervalMs) : Infinity;
  let attacking = false;
  let outcomes: AttackOutcomes | null = null;
  let outcomeCounters: Record<string, number> = {};
  const calmLatency = latencyHistogram();
  const attackedLatency = latencyHistogram();
  const auth: Record<string, string> = hostile === undefined ? {} : { authorization: `Bearer ${hostile.token}` };
  const subscribers: Endpoint[] = [];

  /** GET `route` on the gateway; counts a failure and returns undefined on any error. */
  const getJson = async (route: string): Promise<unknown> => {
    try {
      const res = await fetch(base + route, { headers: auth, signal: AbortSignal.timeout(REPLY_TIMEOUT_MS) });
      const body: unknown = route === '/metrics' ? await res.text() : await res.json();
      if (res.status !== 200) throw new Error(`HTTP ${res.status} ${JSON.stringify(body)}`);
      return body;
    } catch (err) {
      httpErrors++;
      log(`HTTP check ${route} failed: ${(err as Error).message}`);
      return undefined;
    }
  };

  /** Every subscriber thread's window, folded into the run's totals; returns the windows and their merged latency. */
  const collectSubscribers = async (): Promise<{ windows: SubscriberWindow[]; latency: Histogram }> => {
    const windows = await Promise.all(subscribers.map((s) => s.ask<SubscriberWindow>({ type: 'window' }, 'window', REPLY_TIMEOUT_MS)));
    const latency = merge(windows.map((w) => w.latency));
    for (const w of windows) {
      messagesTotal += w.messages;
      barsTotal += w.bars;
    }
    overall.add(latency);
    lastWindows = windows;
    return { windows, latency };
  };

  try {
    // ── start-up ──
    exchange = new Endpoint('fake exchange', startWorker(EXCHANGE_ENTRY, { symbols: opts.symbols, rate: opts.rate, seed: opts.seed, sendTimes } satisfies ExchangeWorkerData), onFailure);
    const { url } = await exchange.wait<{ type: 'listening'; url: string }>('listening', START_TIMEOUT_MS);

    if (opts.storage) storagePath = mkdtempSync(path.join(os.tmpdir(), 'tickwire-soak-'));
    const args: GatewayArgs = { exchangeUrl: url, symbols: opts.symbols, storagePath, leakBytesPerMin: opts.leakBytesPerMin, hostile: hostile?.gateway };
    const child = startChild(GATEWAY_ENTRY, [JSON.stringify(args)], undefined, ['--expose-gc']);
    gateway = new Endpoint('gateway', child, onFailure);
    const { port } = await gateway.wait<{ type: 'ready'; port: number }>('ready', START_TIMEOUT_MS);
    base = `http://127.0.0.1:${port}`;
    log(`gateway pid ${child.pid} on ${base}; fake exchange ${url}; ${opts.subscribers} subscribers over ${opts.clientThreads} threads`);

    for (let t = 0; t < opts.clientThreads; t++) {
      const mine = assignment.map((_, i) => i).filter((i) => i % opts.clientThreads === t);
      const worker = startWorker(SUBSCRIBER_ENTRY, {
        url: `ws://127.0.0.1:${port}/v1/stream${hostile === undefined ? '' : `?token=${hostile.token}`}`,
        exchange: 'binance',
        symbols: mine.map((i) => assignment[i]!),
        sendTimes,
        snapshot: SNAPSHOT_BARS,
        // --hostile: under the per-address cap the flood runs into.
        localAddresses: hostile === undefined ? undefined : mine.map(subscriberAddress),
      } satisfies SubscriberWorkerData);
      const ep = new Endpoint(`subscriber thread ${t + 1}`, worker, onFailure);
      subscribers.push(ep);
    }
    await Promise.all(subscribers.map((s) => s.wait('ready', START_TIMEOUT_MS)));
    if (hostile !== undefined) {
      const data: AttackerWorkerData = { host: '127.0.0.1', port, token: hostile.token, secret: hostile.secret, floodConnections: FLOOD_CONNECTIONS };
      attacker = new Endpoint('attacker thread', startWorker(ATTACKER_ENTRY, data), onFailure);
      await attacker.wait('ready', START_TIMEOUT_MS);
    }
    await exchange.ask({ type: 'go', timeoutMs: START_TIMEOUT_MS }, 'going', START_TIMEOUT_MS + 5_000);

    // Zero every window at the start of load.
    const t0 = performance.now();
    await Promise.all([
      gateway.ask({ type: 'sample' }, 'sample', REPLY_TIMEOUT_MS),
      exchange.ask({ type: 'window' }, 'window', REPLY_TIMEOUT_MS),
      collectSubscribers(),
    ]);
    log(`load started: ${opts.rate} trades/s over ${opts.symbols.join(' ')} for ${opts.durationMs / 1000} s, sampling every ${opts.intervalMs / 1000} s`);

    // ── rated load ──
    let lastAt = t0;
    let lastCpu = process.cpuUsage();
    for (let k = 1; ; k++) {
      const due = t0 + Math.min(k * opts.intervalMs, opts.durationMs);
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait, undefined, { signal: stopRun.signal }).catch(() => undefined);
      if (stopRun.signal.aborted) break;
      const [g, ex, { windows, latency }, status] = await Promise.all([
        gateway.ask<GatewaySample>({ type: 'sample' }, 'sample', REPLY_TIMEOUT_MS),
        exchange.ask<ExchangeWindow>({ type: 'window' }, 'window', REPLY_TIMEOUT_MS),
        collectSubscribers(),
        getJson('/v1/status'),
        getJson(`/v1/candles/binance/${opts.symbols[k % opts.symbols.length]}/1m?limit=100`),
      ]);
      const now = performance.now();
      const seconds = (now - lastAt) / 1000;
      lastAt = now;
      const cpu = process.cpuUsage(lastCpu);
      lastCpu = process.cpuUsage();
      lastExchange = ex;
      const view = (status as { exchanges?: Record<string, ExchangeStatusView> } | undefined)?.exchanges?.['binance'];
      if (view !== undefined) lastStatus = view;
      let messages = 0;
      let trades = 0;
      let bars = 0;
      let missed = 0;
      for (const w of windows) {
        messages += w.messages;
        trades += w.trades;
        bars += w.bars;
        missed += w.missed;
      }
      const tMs = Math.min(k * opts.intervalMs, opts.durationMs);
      if (tMs >= opts.warmupMs) (attacking ? attackedLatency : calmLatency).add(latency);
      const sample: SoakSample = {
        tSec: tMs / 1000,
        judged: tMs >= opts.warmupMs,
        attacked: attacking,
        rssBytes: g.rssBytes,
        heapUsedBytes: g.heapUsedBytes,
        heapTotalBytes: g.heapTotalBytes,
        externalBytes: g.externalBytes,
        arrayBuffersBytes: g.arrayBuffersBytes,
        heapUsedBeforeGcBytes: g.heapUsedBeforeGcBytes,
        gcMs: g.gcMs,
        cpuPercent: g.cpuPercent,
        loadCpuPercent: (cpu.user + cpu.system) / 10_000 / seconds,
        loadAverage: os.loadavg()[0]!,
        eventLoopMs: g.eventLoop,
        latencyMs: latencyMs(latency),
        tradesSentPerSec: ex.sent / seconds,
        messagesPerSec: messages / seconds,
        tradesDeliveredPerSec: trades / seconds,
        barsDeliveredPerSec: bars / seconds,
        missed,
        ringOverflow: lastStatus.ringOverflow,
        exchangeState: lastStatus.state,
      };
      samples.push(sample);
      log(progressLine(sample));
      if (tMs >= opts.durationMs) {
        completed = true;
        break;
      }
      if (attacker !== undefined && !attacking && tMs >= attackAtMs) {
        attacker.send({ type: 'start' });
        attacking = true;
        log('attacks started');
      }
    }

    // ── attacks end before the drain: what the subscribers are owed must arrive ──
    if (attacker !== undefined && attacking) {
      outcomes = (await attacker.ask<{ type: 'stopped'; outcomes: AttackOutcomes }>({ type: 'stop' }, 'stopped', ATTACKER_STOP_MS)).outcomes;
      const text = await getJson('/metrics');
      if (typeof text === 'string') outcomeCounters = outcomeMetrics(text);
    }

    // ── drain: every trade sent must reach every subscriber of its symbol ──
    const halted = await exchange.ask<{ type: 'halted'; window: ExchangeWindow }>({ type: 'halt' }, 'halted', REPLY_TIMEOUT_MS);
    lastExchange = halted.window;
    const owed = expectedDeliveries(assignment, opts.symbols, halted.window.sentPerSymbol);
    const deadline = performance.now() + DRAIN_MS;
    for (;;) {
      const { windows } = await collectSubscribers();
      // Ctrl-C still drains; a failed peer does not (what it owed may never come).
      if (delivered(windows) >= owed || performance.now() > deadline || failures.length > 0) break;
      await sleep(250);
    }
    const status = (await getJson('/v1/status')) as { exchanges?: Record<string, ExchangeStatusView> } | undefined;
    if (status?.exchanges?.['binance'] !== undefined) lastStatus = status.exchanges['binance'];
  } catch (err) {
    onFailure(`soak aborted: ${(err as Error).message}`);
  } finally {
    // ── take-down: subscribers, then the gateway (its shutdown timed), then the exchange ──
    await attacker?.close({ type: 'close' }, CLOSE_GRACE_MS);
    await Promise.all(subscribers.map((s) => s.close({ type: 'close' }, CLOSE_GRACE_MS)));
    if (gateway !== undefined) {
      const stopped = gateway.wait<{ type: 'stopped'; shutdownMs: number }>('stopped', CLOSE_GRACE_MS).then(
        (m) => m.shutdownMs,
        () => null,
      );
      await gateway.close({ type: 'stop' }, CLOSE_GRACE_MS);
      shutdownMs = await stopped;
      if (shutdownMs === null && failures.length === 0) failures.push(`gateway did not confirm a clean shutdown within ${CLOSE_GRACE_MS} ms`);
    }
    await exchange?.close({ type: 'close' }, CLOSE_GRACE_MS);
    if (storagePath !== null) rmSync(storagePath, { recursive: true, force: true });
  }

  const totals = soakTotals(lastWindows, lastExchange, lastStatus, { httpErrors, messages: messagesTotal, bars: barsTotal }, assignment, opts.symbols);
  const report: HostileReport | undefined = opts.hostile
    ? {
        attackStartSec: attackAtMs / 1000,
        calm: phase(samples.filter((s) => s.judged && !s.attacked), calmLatency, samples),
        attacked: phase(samples.filter((s) => s.attacked), attackedLatency, samples),
        outcomes,
        metrics: outcomeCounters,
      }
    : undefined;
  if (report !== undefined && attacking) failures.push(...hostileReasons(outcomes));
  if (report !== undefined && !attacking) failures.push('the run ended before the attacks started');
  const verdict = judgeSoak(
    samples.map((s) => ({ tMs: s.tSec * 1000, heapUsedBytes: s.heapUsedBytes, externalBytes: s.externalBytes, rssBytes: s.rssBytes })),
    // Attacked runs judge memory under attack: from two samples after the attacks start.
    opts.hostile ? Math.max(opts.warmupMs, attackAtMs + 2 * opts.intervalMs) : opts.warmupMs,
    totals,
    failures,
  );
  return {
    tool: 'tickwire soak',
    startedAt,
    finishedAt: new Date().toISOString(),
    completed,
    options: {
      durationSec: opts.durationMs / 1000,
      rate: opts.rate,
      subscribers: opts.subscribers,
      symbols: opts.symbols,
      intervalSec: opts.intervalMs / 1000,
      warmupSec: opts.warmupMs / 1000,
      clientThreads: opts.clientThreads,
      seed: opts.seed,
      storage: opts.storage,
      leakMbPerMin: opts.leakBytesPerMin / (1024 * 1024),
      hostile: opts.hostile,
    },
    host: { node: process.versions.node, platform: `${process.platform}-${process.arch}`, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown' },
    samples,
    totals,
    latencyMs: latencyMs(overall),
    shutdownMs,
    verdict,
    ...(report === undefined ? {} : { hostile: report }),
  };
}

/** A phase's figures: its windows' latency, largest RSS, and the seq losses counted during it. */
function phase(windows: readonly SoakSample[], latency: Histogram, all: readonly SoakSample[]): PhaseFigures {
  const first = windows[0];
  const before = first === undefined ? undefined : all[all.indexOf(first) - 1];
  const last = windows.at(-1);
  return {
    samples: windows.length,
    latencyMs: latencyMs(latency),
    maxRssBytes: windows.reduce((m, s) => Math.max(m, s.rssBytes), 0),
    missed: last === undefined ? 0 : last.missed - (before?.missed ?? 0),
  };
}

/** The symbol of each subscriber: round-robin over `symbols`. */
function assignSymbols(subscribers: number, symbols: readonly string[]): string[] {
  return Array.from({ length: subscribers }, (_, i) => symbols[i % symbols.length]!);
}

/** Trade deliveries owed: each subscriber is owed every trade sent on its symbol. */
function expectedDeliveries(assignment: readonly string[], symbols: readonly string[], sentPerSymbol: readonly number[]): number {
  let owed = 0;
  for (const symbol of assignment) owed += sentPerSymbol[symbols.indexOf(symbol)] ?? 0;
  return owed;
}

/** Trades received over all subscriber threads (their per-symbol counts are cumulative). */
function delivered(windows: readonly SubscriberWindow[]): number {
  let n = 0;
  for (const w of windows) for (const count of Object.values(w.tradesPerSymbol)) n += count;
  return n;
}

/** The run's totals from the last cumulative figures of every peer. */
function soakTotals(
  windows: readonly SubscriberWindow[],
  exchange: ExchangeWindow | undefined,
  status: ExchangeStatusView,
  counted: { httpErrors: number; messages: number; bars: number },
  assignment: readonly string[],
  symbols: readonly string[],
): SoakTotals {
  const sum = (pick: (w: SubscriberWindow) => number): number => windows.reduce((n, w) => n + pick(w), 0);
  const sentPerSymbol = exchange?.sentPerSymbol ?? [];
  return {
    tradesSent: sentPerSymbol.reduce((a, b) => a + b, 0),
    tradesExpected: expectedDeliveries(assignment, symbols, sentPerSymbol),
    tradesDelivered: delivered(windows),
    barsDelivered: counted.bars,
    messages: counted.messages,
    missed: sum((w) => w.missed),
    duplicates: sum((w) => w.duplicates),
    gapNotices: sum((w) => w.gapNotices),
    errors: sum((w) => w.errors),
    disconnects: sum((w) => w.disconnects),
    unmatched: sum((w) => w.unmatched),
    unsent: exchange?.unsent ?? 0,
    ringOverflow: status.ringOverflow,
    workerRestarts: status.restarts,
    reconnects: status.reconnects,
    httpErrors: counted.httpErrors,
  };
}
