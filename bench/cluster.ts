/**
 * Scale-out (docs/scale-out.md): the same load through the single process
 * and through the cluster, one after the other.
 *
 *  - single: `tickwire start` (role all), the simulated exchange at `rate`
 *    trades/s over two symbols, in a process of its own where a venue would
 *    be (bench/sim-exchange.ts; `inlineExchange`: the built-in one);
 *  - cluster: a nats-server (JetStream, loopback, a temporary store),
 *    `tickwire start --role feed` with the same exchange and rate, and
 *    `tickwire start --role edge`; the subscriber connects to the edge.
 *
 * One subscriber (this process) takes both trade channels, subscribed before
 * the load starts where the order allows it (the edge and the floor's relay
 * start before what feeds them), and each setup is measured on the same
 * trades: those the seeded market makes in `seconds` starting between
 * WARM_UP_MS and WARM_UP_MS + WINDOW_SEARCH_MS after its start, where their
 * count is nearest the rate (load/market-window.ts; a wall-clock window
 * caught a 6× burst in one setup and none in another).
 * Latency: the trade's `recvTs` (when the feed's worker received the
 * exchange frame) to its arrival here, one clock (all on this machine):
 * frame → feed → NATS → edge → subscriber, against frame → subscriber in
 * the single process. CPU per delivered message: the serving process's CPU
 * time (/proc) over the messages this subscriber received; the single
 * process's figure includes its exchange worker (parsing, aggregation), the
 * edge's does not, so the ratio flatters the edge by that much. Each
 * tickwire process's stages (`/v1/latency`, the feed's outbox stages among
 * them: event → JetStream's acknowledgement) are cut to the measured
 * window: read with their histograms at its first trade and after its end,
 * and subtracted. Messages
 * per trade: what JetStream stored (both streams, every subject) over the
 * trades it stored, read from the streams at the end.
 *
 * Then, on the same nats-server, the hop's floor peer (bench/cluster-floor.ts):
 * the same market, rate and stream settings through a bare publisher
 * process (the feed's message and acknowledged publish, nothing else) and a
 * bare relay process (the edge's consumer into uWS topics), the same
 * subscriber here. Its p99 over the single process's is the hop's floor on
 * this machine under this load, shown beside the hop's goal (report.ts).
 * Measurements only: nothing is asserted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import WebSocket from 'ws';
import { latencyHistogram, summarize, type LatencySummary } from './load/latency.ts';
import { figure, type Figure } from './report.ts';
import { cpuSeconds } from './threads.ts';
import { cpuProfileArgs, nameThread } from './load/profiling.ts';
import { PUBLISHER_READY, RELAY_READY } from './cluster-floor.ts';
import { SIM_EXCHANGE_READY, SIM_SEED } from './sim-exchange.ts';
import { ClusterNames } from '../src/cluster/subjects.ts';
import type { ClusterStatus, LatencyReport, LatencySummary as StageSummary, OutboxStatus } from '../src/model/status.ts';
import { freePort } from '../test/support/nats.ts';
import { MarketWindow } from './load/market-window.ts';
import { decodeMessage } from '../src/wire/fbs.ts';
import { between } from '../src/api/latency.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin/tickwire.mjs');
const FLOOR = path.join(ROOT, 'bench/cluster-floor.ts');
const SIM_EXCHANGE = path.join(ROOT, 'bench/sim-exchange.ts');
const SYMBOLS = ['SIM-BTC', 'SIM-ETH'];
/** Market time before the measured window: every setup subscribed and warm (the single process's market starts before its subscriber connects), ms. */
const WARM_UP_MS = 5_000;
/** The measured window starts up to this long after WARM_UP_MS, where its trade count is nearest the rate (market-window.ts), ms. */
const WINDOW_SEARCH_MS = 10_000;
/** How long after the window's end a setup may still deliver its trades, ms. */
const WINDOW_GRACE_MS = 60_000;
const CHANNELS = ['trades:simulated:SIM-BTC', 'trades:simulated:SIM-ETH'];

export interface ClusterBenchOptions {
  /** Trades per second over the two symbols. */
  rate: number;
  /**
   * The simulated exchange inside the single process and the feed (their
   * built-in one, on their main thread) instead of a process of its own
   * (bench/sim-exchange.ts); default false. `BENCH_CLUSTER_EXCHANGE=inline`.
   */
  inlineExchange?: boolean;
  /** Seconds of market time measured per setup (the same trades in each: load/market-window.ts). */
  seconds: number;
}

/** One setup's measurement. */
export interface ClusterRun {
  setup: 'single' | 'cluster' | 'floor';
  /** Trades of the measured window (market-window.ts) delivered, and how many it holds. */
  delivered: number;
  expected: number;
  latency: LatencySummary;
  /** CPU time of the serving process (single, or the edge) per delivered message, µs. */
  cpuPerMessageUs: number;
  /** The serving process's stages (absent for the floor, which keeps none; its `/v1/latency`; the edge's: feed_to_store, store_to_edge, edge_publish, src/cluster/edge-latency.ts), over the measured window. */
  stages?: LatencyReport;
  /** Cluster and floor: the window's trades from `recvTs` to a core NATS subscriber here (as JetStream stores them), this process's clock: the publishing side of the hop. */
  toNats?: LatencySummary;
  /** Cluster: the feed's event → JetStream acknowledgement (its /v1/latency `send_to_ack`), over the measured window. */
  feedSendToAck?: StageSummary;
  /** Cluster: messages JetStream stored per trade stored (both streams), at the end of the run. */
  feedMessagesPerTrade?: number;
  /** Cluster: the feed process's CPU time (every thread: exchange worker, publishing, the lease thread; the simulated market only when inline) per trade delivered here, µs. */
  feedCpuPerTradeUs?: number;
  /**
   * Cluster and floor: the publishing process's write system calls (/proc/PID/io `syscw`, every write of every thread:
   * almost all of them its NATS socket's) per trade delivered here. The NATS client writes once per turn of the event
   * loop that published: how many trades each socket write carries.
   */
  feedWritesPerTrade?: number;
  /** Cluster: the feed's own stages (its `/v1/latency`: parse, receive_to_publish, ring_wait, event_loop_delay, outbox_wait, publish_to_ack, send_to_ack), over the measured window. */
  feedStages?: LatencyReport;
}

/** The feed's cluster state at the end, from its /v1/status: its side of the hop and what its outbox and lease went through. */
async function feedCluster(port: number): Promise<ClusterStatus & { outbox: OutboxStatus }> {
  const status = (await (await fetch(`http://127.0.0.1:${port}/v1/status`)).json()) as { cluster: ClusterStatus & { outbox: OutboxStatus } };
  return status.cluster;
}

/** Messages JetStream stored for cluster `name` (both streams) per trade it stored. */
async function storedPerTrade(natsUrl: string, name: string): Promise<number> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const names = new ClusterNames(name);
    let messages = 0;
    let trades = 0;
    for (const stream of [names.liveStream, names.barsStream]) {
      const info = await jsm.streams.info(stream, { subjects_filter: '>' });
      for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
        messages += n;
        if (subject.startsWith(`${name}.trades.`)) trades += n;
      }
    }
    return messages / Math.max(1, trades);
  } finally {
    await nc.close();
  }
}

/** A process's `/v1/latency` with each stage's histogram (since its start). */
async function latencyOf(port: number): Promise<LatencyReport> {
  return (await (await fetch(`http://127.0.0.1:${port}/v1/latency?histograms=true`)).json()) as LatencyReport;
}

/** What each stage recorded between two readings of `latencyOf` (a stage or key absent from the first had no sample yet). */
function windowOf(earlier: LatencyReport, later: LatencyReport): LatencyReport {
  const out: LatencyReport = {};
  for (const [stage, byKey] of Object.entries(later)) {
    for (const [key, summary] of Object.entries(byKey)) {
      const w = between(earlier[stage]?.[key], summary);
      if (w !== undefined && w.count > 0) (out[stage] ??= {})[key] = w;
    }
  }
  return out;
}

/** The simulated exchange in a process of its own (bench/sim-exchange.ts); resolves with its ws:// URL. */
async function startExchange(ratePerSymbol: number, children: ChildProcess[]): Promise<string> {
  const ready = new RegExp(`${SIM_EXCHANGE_READY} on (ws://\\S+)`);
  const { out } = await launch(process.execPath, ['--import', 'tsx', SIM_EXCHANGE, String(ratePerSymbol), SYMBOLS.join(',')], ROOT, ready, children, 'sim-exchange');
  return ready.exec(out())![1]!;
}

/** A process's main-thread event-loop delay p99 in the window, µs (NaN when it reported none). */
function loopDelayP99(stages: LatencyReport | undefined): number {
  return stages?.['event_loop_delay']?.['main']?.p99 ?? NaN;
}

/** Spawn and wait until `ready` shows in its output. A tickwire process (`role` named) is CPU-profiled in a profiled run. */
async function launch(cmd: string, args: string[], cwd: string, ready: RegExp, children: ChildProcess[], role?: string): Promise<{ proc: ChildProcess; out: () => string }> {
  const proc = spawn(cmd, role === undefined ? args : [...cpuProfileArgs(), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  if (role !== undefined) nameThread(proc.pid, 0, role);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 60_000;
  while (!ready.test(out)) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`${cmd} ${args.join(' ')} did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { proc, out: () => out };
}

/**
 * Subscribe to the trade channels at `port`, then start the load (`startLoad`,
 * which returns the pid of the process making it, or none: it runs already),
 * and measure the trades of `window`: every setup is measured on the same
 * trades (market-window.ts). Done once a trade past the window arrived on
 * every symbol, or WINDOW_GRACE_MS past the window's end. CPU is counted from
 * the first trade of the window to the end.
 */
async function measure(port: number, pid: number, window: MarketWindow, setup: ClusterRun['setup'], startLoad?: () => Promise<number>, tap?: NatsTap, feedPort?: number): Promise<ClusterRun> {
  const tapped = tap === undefined ? undefined : await tapTrades(tap, window);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/stream`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const h = latencyHistogram();
  let delivered = 0;
  let loadPid: number | undefined;
  let cpu0 = NaN;
  let loadCpu0 = NaN;
  let loadWrites0 = NaN;
  const pastWindow = new Set<string>();
  // Each tickwire process's stages at the window's first trade: subtracted from the readings at the end.
  let stagesAtStart: Promise<[LatencyReport | undefined, LatencyReport | undefined]> | undefined;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  let subscribed!: () => void;
  const acked = new Promise<void>((resolve) => (subscribed = resolve));
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString()) as { type: string; symbol?: string; tradeId?: number; recvTs?: number };
    if (m.type === 'subscribed') subscribed();
    if (m.type !== 'trade') return;
    if (window.has(m.symbol!, m.tradeId!)) {
      if (delivered++ === 0) {
        cpu0 = cpuSeconds(pid);
        if (loadPid !== undefined) {
          loadCpu0 = cpuSeconds(loadPid);
          loadWrites0 = writeCalls(loadPid);
        }
        if (setup !== 'floor') stagesAtStart = Promise.all([latencyOf(port), feedPort === undefined ? undefined : latencyOf(feedPort)]);
      }
      h.recordValue(Math.max(1, Math.round((performance.timeOrigin + performance.now() - m.recvTs!) * 1000)));
    } else if (window.after(m.symbol!, m.tradeId!)) {
      pastWindow.add(m.symbol!);
      if (window.symbols.every((sym) => pastWindow.has(sym))) done();
    }
  });
  ws.send(JSON.stringify({ op: 'subscribe', id: 1, channels: CHANNELS }));
  await acked;
  if (startLoad !== undefined) loadPid = await startLoad();
  const timeout = setTimeout(done, window.toMs + WINDOW_GRACE_MS);
  await finished;
  clearTimeout(timeout);
  const cpu = cpuSeconds(pid) - cpu0;
  const loadCpu = loadPid === undefined ? NaN : cpuSeconds(loadPid) - loadCpu0;
  const loadWrites = loadPid === undefined ? NaN : writeCalls(loadPid) - loadWrites0;
  ws.close();
  const run: ClusterRun = { setup, delivered, expected: window.expected, latency: summarize(h), cpuPerMessageUs: (cpu * 1e6) / Math.max(1, delivered) };
  if (tapped !== undefined) run.toNats = await tapped();
  if (loadPid !== undefined) {
    run.feedCpuPerTradeUs = (loadCpu * 1e6) / Math.max(1, delivered);
    run.feedWritesPerTrade = loadWrites / Math.max(1, delivered);
  }
  if (stagesAtStart !== undefined) {
    const [serving, feed] = await stagesAtStart;
    run.stages = windowOf(serving!, await latencyOf(port));
    if (feed !== undefined) run.feedStages = windowOf(feed, await latencyOf(feedPort!));
  }
  return run;
}

/** A process's write system calls so far (/proc/PID/io `syscw`, every thread), NaN when unreadable. */
function writeCalls(pid: number): number {
  try {
    const m = /^syscw: (\d+)$/mu.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m === null ? NaN : Number(m[1]);
  } catch {
    return NaN;
  }
}

/** Where a cluster's trades pass through NATS: its server and cluster name. */
interface NatsTap {
  url: string;
  name: string;
}

/**
 * A core subscription on the cluster's trade subjects, here: each trade of
 * the window as NATS routes it to subscribers (as JetStream stores it), on
 * this process's clock, the subscriber's. Returns what stops it and gives
 * `recvTs` → NATS's percentiles: the feed's side of the hop, the rest being
 * the consumer's side.
 */
async function tapTrades(tap: NatsTap, window: MarketWindow): Promise<() => Promise<LatencySummary>> {
  const nc = await connect({ servers: tap.url, name: 'bench tap' });
  const names = new ClusterNames(tap.name);
  const h = latencyHistogram();
  for (const symbol of SYMBOLS) {
    nc.subscribe(names.subject('trades', 'simulated', symbol), {
      callback: (err, m) => {
        if (err !== null) return;
        const t = decodeMessage(m.data);
        if (t.type === 'trade' && t.tradeId !== null && window.has(t.symbol, t.tradeId)) h.recordValue(Math.max(1, Math.round((performance.timeOrigin + performance.now() - t.recvTs) * 1000)));
      },
    });
  }
  await nc.flush();
  return async () => {
    await nc.close();
    return summarize(h);
  };
}

function stopAll(children: ChildProcess[]): Promise<void> {
  return Promise.all(
    children.splice(0).map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGINT');
          setTimeout(() => c.kill('SIGKILL'), 3_000).unref();
        }),
    ),
  ).then(() => undefined);
}

/** Run both setups; figures for the report, and the runs as details. */
export async function clusterBench(options: ClusterBenchOptions, log: (line: string) => void): Promise<{ figures: Figure[]; details: { runs: ClusterRun[] } }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tickwire-bench-cluster-'));
  const children: ChildProcess[] = [];
  const runs: ClusterRun[] = [];
  try {
    const natsPort = await freePort();
    const yaml = (port: number, exchangeUrl: string | undefined) =>
      [
        `server: { host: 127.0.0.1, port: ${port} }`,
        'timeframes: [1m]',
        'storage: false',
        `exchanges: { simulated: { symbols: [SIM-BTC, SIM-ETH], rate: ${options.rate / 2}${exchangeUrl === undefined ? '' : `, url: "${exchangeUrl}"`} } }`,
        `cluster: { servers: ["nats://127.0.0.1:${natsPort}"], name: bench }`,
        '',
      ].join('\n');
    /** Write a config; a process that reads the exchange gets a market of its own first (its own process unless `inline`). */
    const write = async (name: string, port: number, exchange = false) => {
      const url = exchange && !options.inlineExchange ? await startExchange(options.rate / SYMBOLS.length, children) : undefined;
      writeFileSync(path.join(dir, name), yaml(port, url));
      return name;
    };

    const single = await launch(process.execPath, [BIN, 'start', '--config', await write('single.yaml', await freePort(), true)], dir, /try: curl/, children, 'tickwire-single');
    const singlePort = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(single.out())![1]);
    const window = MarketWindow.atRate(SYMBOLS, options.rate / SYMBOLS.length, SIM_SEED, WARM_UP_MS, options.seconds, WINDOW_SEARCH_MS);
    log(`cluster bench: single process, ${options.rate} trades/s (measured: the ${window.expected} trades the market makes from ${window.fromMs / 1000} to ${window.toMs / 1000} s after its start; the exchange ${options.inlineExchange === true ? 'inside the single process and the feed, on their main thread' : 'in a process of its own'})`);
    runs.push(await measure(singlePort, single.proc.pid!, window, 'single'));
    await stopAll(children);

    await launch('nats-server', ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', path.join(dir, 'js')], dir, /Server is ready/, children);
    const feedPort = await freePort();
    // The edge first (it starts on empty streams), the subscriber, then the feed: its market starts with the measurement, as the single process's did.
    const edge = await launch(process.execPath, [BIN, 'start', '--role', 'edge', '--config', await write('edge.yaml', await freePort())], dir, /try: curl/, children, 'tickwire-edge');
    const edgePort = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(edge.out())![1]);
    log(`cluster bench: feed → NATS → edge, the same trades`);
    let feedOut = (): string => '';
    const startFeed = async () => {
      const feed = await launch(process.execPath, [BIN, 'start', '--role', 'feed', '--config', await write('feed.yaml', feedPort, true)], dir, /simulated: leading/, children, 'tickwire-feed');
      feedOut = feed.out;
      return feed.proc.pid!;
    };
    const run = await measure(edgePort, edge.proc.pid!, window, 'cluster', startFeed, { url: `nats://127.0.0.1:${natsPort}`, name: 'bench' }, feedPort);
    const fc = await feedCluster(feedPort);
    const { sendToAck: _sinceStart, ...counts } = fc.outbox;
    const sendToAck = run.feedStages?.['send_to_ack']?.['outbox'] ?? { p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN, count: 0 };
    run.feedSendToAck = sendToAck;
    // A lease that lapsed on the loaded machine (its renewal came back late) stops the feed's publishing until it leads again.
    for (const line of feedOut().split('\n').filter((l) => /(leading|standing by) \(/.test(l))) log(`cluster bench: feed: ${/tickwire: .*$/.exec(line)?.[0] ?? line}`);
    log(`cluster bench: the feed's outbox ${JSON.stringify(counts)}; lease changes ${fc.leaderChanges}, ${fc.messages} messages published`);
    run.feedMessagesPerTrade = await storedPerTrade(`nats://127.0.0.1:${natsPort}`, 'bench');
    runs.push(run);
    // The floor peer on the same nats-server, its own streams: the feed and the edge stopped first (their processes are the load it replaces).
    await stopAll(children.splice(1));
    const floorPort = await freePort();
    const floorName = 'benchfloor';
    const floorArgs = (role: string, n: number) => ['--import', 'tsx', FLOOR, role, `nats://127.0.0.1:${natsPort}`, floorName, String(n), SYMBOLS.join(',')];
    const relay = await launch(process.execPath, floorArgs('relay', floorPort), ROOT, new RegExp(RELAY_READY), children, 'floor-relay');
    log(`cluster bench: floor peer (market → acknowledged publish → JetStream → ordered consumer → uWS), the same trades`);
    const startPublisher = async () => (await launch(process.execPath, floorArgs('publish', options.rate / SYMBOLS.length), ROOT, new RegExp(PUBLISHER_READY), children, 'floor-publisher')).proc.pid!;
    runs.push(await measure(floorPort, relay.proc.pid!, window, 'floor', startPublisher, { url: `nats://127.0.0.1:${natsPort}`, name: floorName }));
    log(`cluster bench: JetStream stored ${run.feedMessagesPerTrade.toFixed(2)} messages per trade; feed event → ack p50 ${sendToAck.p50} µs, p99 ${sendToAck.p99} µs`);
    // The edge's CPU is divided by what it delivered: a feed that falls behind (few messages) inflates it with the edge's fixed costs.
    for (const r of runs) {
      const side = r.toNats === undefined ? '' : `; recvTs → NATS p50 ${r.toNats.p50} µs, p99 ${r.toNats.p99} µs`;
      log(`cluster bench: ${r.setup} p50 ${r.latency.p50} µs, p99 ${r.latency.p99} µs, p99.9 ${r.latency.p999} µs${side}`);
    }
    log(`cluster bench: the floor's publisher used ${runs[2]!.feedCpuPerTradeUs!.toFixed(1)} µs CPU and ${runs[2]!.feedWritesPerTrade!.toFixed(3)} write calls per trade delivered, its relay ${runs[2]!.cpuPerMessageUs.toFixed(1)} µs CPU per message`);
    for (const r of runs) log(`cluster bench: ${r.setup} delivered ${r.delivered} of the window's ${r.expected} trades, ${r.cpuPerMessageUs.toFixed(1)} µs CPU each`);
    log(`cluster bench: the feed process used ${run.feedCpuPerTradeUs!.toFixed(1)} µs CPU per trade delivered (the single process: ${runs[0]!.cpuPerMessageUs.toFixed(1)}, serving included) and ${run.feedWritesPerTrade!.toFixed(3)} write calls`);
    for (const [side, report] of [['single', runs[0]!.stages], ['edge', run.stages], ['feed', run.feedStages]] as const) {
      for (const [stage, byExchange] of Object.entries(report ?? {})) {
        for (const [exchange, q] of Object.entries(byExchange)) log(`cluster bench: ${side} stage ${stage} (${exchange}): p50 ${q.p50} µs, p99 ${q.p99} µs, p99.9 ${q.p999} µs, ${q.count} messages`);
      }
    }
  } finally {
    await stopAll(children);
    rmSync(dir, { recursive: true, force: true });
  }
  const [s, c, f] = runs as [ClusterRun, ClusterRun, ClusterRun];
  const hopFloor = {
    name: 'floor peer',
    value: f.latency.p99 - s.latency.p99,
    why:
      `p99 ${f.latency.p99} µs (single ${s.latency.p99} µs) of the same market at the same rate through a bare publisher process (the feed's FlatBuffers message, ` +
      'acknowledged JetStream publish, no parsing, aggregation or outbox) and a bare relay process (the edge\'s ordered consumer into uWS topics), same nats-server, same subscriber (bench/cluster-floor.ts)',
  };
  const figures = [
    figure({ id: 'cluster.p50', group: 'cluster', name: 'cluster: frame → subscriber p50 (single process as peer)', value: c.latency.p50, unit: 'µs', better: 'lower', peer: { name: 'single process', value: s.latency.p50 } }),
    figure({ id: 'cluster.p99', group: 'cluster', name: 'cluster: frame → subscriber p99', value: c.latency.p99, unit: 'µs', better: 'lower', peer: { name: 'single process', value: s.latency.p99 } }),
    figure({ id: 'cluster.p999', group: 'cluster', name: 'cluster: frame → subscriber p99.9', value: c.latency.p999, unit: 'µs', better: 'lower', peer: { name: 'single process', value: s.latency.p999 } }),
    figure({ id: 'cluster.hop.p99', group: 'cluster', name: 'cluster: p99 added by the NATS hop', value: c.latency.p99 - s.latency.p99, unit: 'µs', better: 'lower', goals: [{ on: 'value', op: '<', threshold: 1_000, text: '< 1 ms on loopback' }], floor: hopFloor }),
    figure({ id: 'cluster.floor.p99', group: 'cluster', name: 'cluster floor peer: market → subscriber p99 (bench/cluster-floor.ts)', value: f.latency.p99, unit: 'µs', better: 'lower', peer: { name: 'single process', value: s.latency.p99 } }),
    figure({ id: 'cluster.toNats.p99', group: 'cluster', name: 'cluster: frame → NATS p99, the publishing side of the hop (the floor\'s publisher as peer)', value: c.toNats!.p99, unit: 'µs', better: 'lower', peer: { name: 'floor publisher', value: f.toNats!.p99 } }),
    figure({ id: 'cluster.feed.ack.p99', group: 'cluster', name: 'cluster: feed event → JetStream ack p99 (the measured window)', value: c.feedSendToAck!.p99, unit: 'µs', better: 'lower' }),
    figure({ id: 'cluster.feed.cpu', group: 'cluster', name: 'cluster: feed CPU per trade (single process, serving included, as peer)', value: c.feedCpuPerTradeUs!, unit: 'µs', better: 'lower', peer: { name: 'single process', value: s.cpuPerMessageUs } }),
    figure({ id: 'cluster.feed.cpu.floor', group: 'cluster', name: "cluster: feed CPU per trade (the floor's publisher as peer: no frames, parsing, aggregation or outbox)", value: c.feedCpuPerTradeUs!, unit: 'µs', better: 'lower', peer: { name: 'floor publisher', value: f.feedCpuPerTradeUs! } }),
    figure({ id: 'cluster.feed.writes', group: 'cluster', name: "cluster: feed write system calls per trade, its NATS socket's almost all (the floor's publisher as peer: a market step per turn)", value: c.feedWritesPerTrade!, unit: 'writes/trade', better: 'lower', peer: { name: 'floor publisher', value: f.feedWritesPerTrade! } }),
    figure({ id: 'cluster.feed.loopDelay.p99', group: 'cluster', name: "cluster: the feed main thread's event-loop delay p99 in the window (the single process's as peer)", value: loopDelayP99(c.feedStages), unit: 'µs', better: 'lower', peer: { name: 'single process', value: loopDelayP99(s.stages) } }),
    figure({ id: 'cluster.feed.messagesPerTrade', group: 'cluster', name: 'cluster: JetStream messages stored per trade', value: c.feedMessagesPerTrade!, unit: 'messages/trade', better: 'lower' }),
    figure({ id: 'cluster.cpu', group: 'cluster', name: 'cluster: edge CPU per delivered message', value: c.cpuPerMessageUs, unit: 'µs', better: 'lower', peer: { name: 'single process', value: s.cpuPerMessageUs }, goals: [{ on: 'ratio', op: '>=', threshold: 1 / 1.2, text: 'within 1.2× of the single process (ratio ≥ 0.83)' }] }),
  ];
  return { figures, details: { runs } };
}

/** `npx tsx bench/cluster.ts [rate] [seconds]`: this benchmark alone, printed as JSON. */
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rate = Number(process.argv[2] ?? 2_000);
  const seconds = Number(process.argv[3] ?? 5);
  const r = await clusterBench({ rate, seconds, inlineExchange: process.env['BENCH_CLUSTER_EXCHANGE'] === 'inline' }, (l) => process.stderr.write(`${l}\n`));
  console.log(JSON.stringify(r.details.runs, null, 2));
}
