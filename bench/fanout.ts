/**
 * Fan-out end to end: a fake Binance plays @trade frames at a fixed rate to
 * the gateway under test, which fans them out to K WebSocket subscribers;
 * the same load goes through tickwire, through the hand-written baseline
 * (gateway-baseline.ts) and through the floor (gateway-floor.ts: one uWS
 * thread relaying the exchange's frames unchanged, the least a gateway on
 * this stack can do), one after the other in the same run.
 *
 * Placement (2 cores): the gateway runs in a child process pinned to CPU 1
 * (tickwire's main thread and its feed worker share it); the load generator
 * (exchange-worker.ts) and the subscriber threads (subscriber-worker.ts, K
 * spread over a few threads) run in this process, which the caller pins to
 * CPU 0. So the gateway gets a core of its own that the load does not take.
 * Without `taskset` nothing is pinned and the report says so.
 *
 * Per gateway:
 *  1. warm-up: 1 s at the rated load (not reported);
 *  2. rated: the goal's load (2,000 trades/s to 100 subscribers) for a few
 *     seconds: HDR latency (frame sent → subscriber received, one clock),
 *     loss (every subscriber must see every trade id; gap notices count as
 *     loss), ring overflow (tickwire's /v1/status `ringOverflow` delta);
 *  3. the rate search (rate-search.ts): from the rated load upwards when it
 *     was held (stop at the first rate not held), downwards when it was not
 *     (stop at the first rate held), then optional bisection between the
 *     two; tickwire's and the floor's searches take turns step by step. A
 *     rate is held (one test for every gateway, `Rig.phase`) when nothing
 *     was lost, no gap, no connection closed, no ring overflow, and the last
 *     message arrived within `catchUpMs` of the last frame sent (the gateway
 *     kept up instead of queueing).
 */
import type { ChildProcess } from 'node:child_process';
import type * as hdr from 'hdr-histogram-js';
import type { Worker } from 'node:worker_threads';
import type { ExchangeCommand, ExchangeReply, ExchangeWorkerData } from './exchange-worker.ts';
import { distribution, merge, summarize, type LatencySummary } from './load/latency.ts';
import { nextMessage, ofType, startChild, startWorker, stopChild } from './load/peers.ts';
import { SendTimes } from './load/send-times.ts';
import type { Profile } from './profile.ts';
import { figure, type Figure } from './report.ts';
import type { SubscriberReport } from './subscriber-worker.ts';
import { numbered, type GatewayProbe } from './load/gateway-probe.ts';
import { cpuPerMessage, firstOut, fitWakeCost, loadCpuPerMessage, pool, queueWaitMs, spread, type GatewayKind, type Measured, type PhaseResult, type WakeCostFit } from './fanout-phases.ts';
import { cpuSeconds, threadCpuSeconds } from './threads.ts';
import { TcpQueueSampler } from './load/tcp-queues.ts';
import { RateSearch } from './rate-search.ts';

const GATEWAY_ENTRY: Record<GatewayKind, string> = {
  tickwire: './gateway-tickwire.ts',
  baseline: './gateway-baseline.ts',
  floor: './gateway-floor.ts',
};

export type { GatewayKind, PhaseResult } from './fanout-phases.ts';

/** One gateway's fan-out results: the rated phase, the rate search, the highest rate held. */
export interface GatewayResult {
  kind: GatewayKind;
  /** The rated load; for tickwire and the floor, their alternating slices pooled (`ratedSlices`). */
  rated: PhaseResult;
  /** tickwire's and the floor's rated slices, in the order run (see `ratedAlternating`). */
  ratedSlices?: PhaseResult[];
  steps: PhaseResult[];
  /** Highest rate held (trades/s); 0 when none was. */
  maxHeldRate: number;
  /** True when the highest step tried was held (the true limit is higher). */
  ceilingReached: boolean;
}

const CHANNEL = 'trades:binance:BTCUSDT';
/** The floor peer as every figure names it. */
const FLOOR_NAME = 'floor (uWS relay of the exchange frames)';

type Listening = Extract<ExchangeReply, { type: 'listening' }>;
type Played = Extract<ExchangeReply, { type: 'played' }>;

/** The rig for one gateway: load generator, gateway process, subscriber threads. */
class Rig {
  private exchange!: Worker;
  private gateway!: ChildProcess;
  private subs: Worker[] = [];
  private port = 0;
  /** The fake exchange's port (its socket to the gateway is sampled for unread frames). */
  private exchangePort = 0;
  private nextId = 1_000_000;
  /** Probe requests sent, resets included (each answer echoes its number). */
  private probes = 0;
  /** When each frame was sent, shared by the load generator and the subscriber threads. */
  private readonly sendTimes = SendTimes.allocate();

  constructor(
    readonly kind: GatewayKind,
    private readonly profile: Profile,
    private readonly gatewayCpus: string | undefined,
  ) {}

  async start(): Promise<void> {
    this.exchange = startWorker(new URL('./exchange-worker.ts', import.meta.url), { sendTimes: this.sendTimes, symbol: 'BTCUSDT' } satisfies ExchangeWorkerData);
    const { url } = await nextMessage(this.exchange, ofType<Listening>('listening'), 30_000, 'load generator');
    this.exchangePort = Number(new URL(url).port);
    const entry = new URL(GATEWAY_ENTRY[this.kind], import.meta.url);
    this.gateway = startChild(entry, [url], this.gatewayCpus);
    const ready = await nextMessage(this.gateway, ofType<{ type: 'ready'; port: number }>('ready'), 60_000, `${this.kind} gateway`);
    this.port = ready.port;
    await this.command({ type: 'waitSubscribed', timeoutMs: 30_000 }, 'subscribed');
    const { subscribers, subscriberThreads } = this.profile.fanout;
    for (let t = 0; t < subscriberThreads; t++) {
      const connections = Math.floor(subscribers / subscriberThreads) + (t < subscribers % subscriberThreads ? 1 : 0);
      this.subs.push(
        startWorker(new URL('./subscriber-worker.ts', import.meta.url), {
          url: `ws://127.0.0.1:${this.port}/v1/stream`,
          connections,
          channel: CHANNEL,
          sendTimes: this.sendTimes,
        }),
      );
    }
    await Promise.all(this.subs.map((w, i) => nextMessage(w, ofType('ready'), 60_000, `subscriber thread ${i}`)));
  }

  async stop(): Promise<void> {
    await Promise.allSettled(
      this.subs.map(async (w) => {
        w.postMessage({ type: 'stop' });
        await nextMessage(w, ofType('stopped'), 5_000, 'subscriber stop').catch(() => undefined);
        await w.terminate();
      }),
    );
    if (this.gateway !== undefined) await stopChild(this.gateway);
    if (this.exchange !== undefined) {
      this.exchange.postMessage({ type: 'stop' } satisfies ExchangeCommand);
      await nextMessage(this.exchange, ofType('stopped'), 5_000, 'load generator stop').catch(() => undefined);
      await this.exchange.terminate();
    }
  }

  private async command<T extends ExchangeReply['type']>(cmd: ExchangeCommand, reply: T): Promise<Extract<ExchangeReply, { type: T }>> {
    const answer = nextMessage(
      this.exchange,
      (m: unknown): m is ExchangeReply => typeof m === 'object' && m !== null && ((m as ExchangeReply).type === reply || (m as ExchangeReply).type === 'error'),
      120_000,
      `load generator ${cmd.type}`,
    );
    this.exchange.postMessage(cmd);
    const m = await answer;
    if (m.type === 'error') throw new Error(`load generator ${cmd.type}: ${m.message}`);
    return m as Extract<ExchangeReply, { type: T }>;
  }

  /** tickwire's ring overflow from its public /v1/status; null for the peers. */
  private async ringOverflow(): Promise<number | null> {
    if (this.kind !== 'tickwire') return null;
    const res = await fetch(`http://127.0.0.1:${this.port}/v1/status`);
    const body = (await res.json()) as { exchanges: Record<string, { ringOverflow: number }> };
    return body.exchanges['binance']!.ringOverflow;
  }

  private async reports(): Promise<SubscriberReport[]> {
    return Promise.all(
      this.subs.map((w, i) => {
        const r = nextMessage(w, ofType<SubscriberReport>('report'), 30_000, `subscriber thread ${i} report`);
        w.postMessage({ type: 'report' });
        return r;
      }),
    );
  }

  /** Wait until no subscriber has seen a message for `quietMs` (stragglers of a phase not held), at most `maxMs`. */
  private async settle(quietMs: number, maxMs: number): Promise<void> {
    const until = performance.now() + maxMs;
    let last = -1;
    while (performance.now() < until) {
      const total = (await this.reports()).reduce((a, r) => a + r.totalMessages, 0);
      if (total === last) return;
      last = total;
      await sleep(quietMs);
    }
  }

  /**
   * Listen (from now) for every subscriber thread's `complete`; `within(ms)`
   * resolves true when all came, false after `ms`, and stops listening.
   */
  private allComplete(): { within(ms: number): Promise<boolean> } {
    let pending = this.subs.length;
    let wake: (() => void) | undefined;
    const listeners = this.subs.map((w) => {
      const listener = (m: unknown) => {
        if (ofType('complete')(m) && --pending === 0) wake?.();
      };
      w.on('message', listener);
      return listener;
    });
    return {
      within: async (ms) => {
        if (pending > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, ms);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        this.subs.forEach((w, i) => w.off('message', listeners[i]!));
        return pending === 0;
      },
    };
  }

  /**
   * Start a new probe period of the gateway's main thread
   * (load/gateway-probe.ts); false when it did not answer within 30 s (a
   * gateway seconds behind, as the baseline gets, answers only after its
   * backlog): that phase then has no probe, and its figures stand without it.
   */
  private async resetProbe(): Promise<boolean> {
    const n = ++this.probes;
    const done = nextMessage(this.gateway, numbered('probe-reset', n), 30_000, `${this.kind} probe reset`);
    this.gateway.send({ type: 'probe-reset', n });
    return done.then(
      () => true,
      () => false,
    );
  }

  /** The gateway's main thread since the reset; NaNs when the reset or this request went unanswered for 30 s. */
  private async readProbe(reset: boolean): Promise<GatewayProbe> {
    const n = ++this.probes;
    const lost: GatewayProbe = { type: 'probe', n, eventLoopDelayUs: { p50: NaN, p99: NaN, p999: NaN, max: NaN }, gc: { count: NaN, totalMs: NaN, maxMs: NaN }, wakeups: NaN, elu: NaN };
    if (!reset) return lost;
    const answer = nextMessage(this.gateway, numbered<GatewayProbe>('probe', n), 30_000, `${this.kind} probe`);
    this.gateway.send({ type: 'probe', n });
    return answer.catch(() => lost);
  }

  /**
   * One phase: `rate` trades/s for `seconds`, every subscriber checked. With
   * `stages`, tickwire's `/v1/latency` after it. Returns the result and the
   * merged latency histogram (µs) for pooling.
   */
  async phase(rate: number, seconds: number, stages = false): Promise<{ result: PhaseResult; histogram: hdr.Histogram }> {
    const count = Math.max(1, Math.round(rate * seconds));
    const firstId = this.nextId;
    this.nextId += count + 1000;
    await Promise.all(
      this.subs.map((w, i) => {
        const armed = nextMessage(w, ofType('armed'), 10_000, `subscriber thread ${i} arm`);
        w.postMessage({ type: 'arm', firstId, count });
        return armed;
      }),
    );
    const overflow0 = await this.ringOverflow();
    const probing = await this.resetProbe();
    const cpu0 = cpuSeconds(this.gateway.pid!);
    const threads0 = threadCpuSeconds(this.gateway.pid!);
    const load0 = process.cpuUsage();
    const loadThreads0 = threadCpuSeconds(process.pid);
    const queues = new TcpQueueSampler(this.port, this.exchangePort);
    const t0 = performance.now();
    queues.start();
    const complete = this.allComplete();
    const played: Played = await this.command({ type: 'play', firstId, count, rate }, 'played');
    // Everything should be in within catchUpMs; give stragglers up to 2 s more so the loss figure is exact.
    await complete.within(this.profile.fanout.catchUpMs + 2_000);
    const queued = queues.stop();
    const cpu1 = cpuSeconds(this.gateway.pid!);
    const threads1 = threadCpuSeconds(this.gateway.pid!);
    const load1 = process.cpuUsage(load0);
    const loadThreads1 = threadCpuSeconds(process.pid);
    const wallS = (performance.now() - t0) / 1000;
    const gatewayProbe = await this.readProbe(probing);
    const overflow1 = await this.ringOverflow();
    const reports = await this.reports();
    const h = merge(reports.map((r) => r.histogram));
    const received = reports.reduce((a, r) => a + r.received, 0);
    const expected = reports.reduce((a, r) => a + r.expected, 0);
    const gaps = reports.reduce((a, r) => a + r.gaps, 0);
    const lastRecv = Math.max(...reports.map((r) => (Number.isNaN(r.lastRecvUs) ? -Infinity : r.lastRecvUs)));
    const catchUpMs = lastRecv === -Infinity ? NaN : (lastRecv - played.lastSendUs) / 1e3;
    const ringOverflow = overflow0 === null || overflow1 === null ? null : overflow1 - overflow0;
    const closedConnections = reports.reduce((a, r) => a + r.closed, 0);
    const result: PhaseResult = {
      rate,
      seconds,
      subscribers: this.profile.fanout.subscribers,
      sent: played.sent,
      sentRate: played.sent / (played.ms / 1000),
      expected,
      received,
      lost: expected - received,
      duplicates: reports.reduce((a, r) => a + r.duplicates, 0),
      gaps,
      errors: reports.reduce((a, r) => a + r.errors, 0),
      closedConnections,
      ringOverflow,
      catchUpMs,
      deliveredPerSecond: lastRecv === -Infinity ? 0 : received / ((lastRecv - played.firstSendUs) / 1e6),
      held: received === expected && gaps === 0 && closedConnections === 0 && (ringOverflow ?? 0) === 0 && catchUpMs <= this.profile.fanout.catchUpMs,
      latencyUs: summarize(h),
      gatewayCpuPct: ((cpu1 - cpu0) / wallS) * 100,
      gatewayCpuS: cpu1 - cpu0,
      wallS,
      gatewayThreadsCpuPct: threadShares(this.gateway.pid!, threads0, threads1, wallS),
      gatewayProbe,
      loadgenElu: played.elu,
      loadgenCpuPct: (played.cpuMs / played.ms) * 100,
      subscriberElu: reports.map((r) => Number(r.elu.toFixed(3))),
      subscriberCpuPct: reports.map((r) => Math.round(r.cpuPct)),
      loadCpuPct: Math.round(((load1.user + load1.system) / 1e6 / wallS) * 100),
      loadMainCpuPct: threadShares(process.pid, loadThreads0, loadThreads1, wallS).main,
      bytes: { delivered: reports.reduce((a, r) => a + r.bytes, 0), upstream: played.bytes },
      queues: queued,
    };
    if (stages && this.kind === 'tickwire') result.gatewayStages = await (await fetch(`http://127.0.0.1:${this.port}/v1/latency`)).json();
    if (!result.held) await this.settle(500, 15_000);
    return { result, histogram: h };
  }
}

/**
 * A process's CPU by thread between two readings (threads.ts
 * `threadCpuSeconds`), % of one core over `wallS`: its main thread, its
 * busiest other thread, the rest together.
 */
function threadShares(pid: number, before: Map<number, number>, after: Map<number, number>, wallS: number): PhaseResult['gatewayThreadsCpuPct'] {
  const pct = (s: number) => (s / wallS) * 100;
  const used = [...after].map(([tid, s]) => ({ tid, s: s - (before.get(tid) ?? 0) }));
  const others = used.filter((u) => u.tid !== pid).sort((a, b) => b.s - a.s);
  return {
    main: pct(used.find((u) => u.tid === pid)?.s ?? NaN),
    busiestOther: pct(others[0]?.s ?? 0),
    rest: pct(others.slice(1).reduce((a, u) => a + u.s, 0)),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(p: PhaseResult): string {
  const l = p.latencyUs;
  const g = p.gatewayProbe;
  const t = p.gatewayThreadsCpuPct;
  const q = p.queues;
  const kib = (s: { mean: number; max: number }) => `${(s.mean / 1024).toFixed(0)}/${(s.max / 1024).toFixed(0)}`;
  const wait = queueWaitMs(p);
  return (
    `${p.rate} trades/s × ${p.subscribers}: ${p.held ? 'held' : 'NOT held'}; p50 ${l.p50} µs, p99 ${l.p99} µs, p99.9 ${l.p999} µs, max ${l.max} µs; ` +
    `lost ${p.lost}, gaps ${p.gaps}, overflow ${p.ringOverflow ?? 'n/a'}, catch-up ${p.catchUpMs.toFixed(1)} ms; gateway CPU ${p.gatewayCpuPct.toFixed(0)}% ` +
    `(main ${t.main.toFixed(0)}%, busiest other thread ${t.busiestOther.toFixed(0)}%, rest ${t.rest.toFixed(0)}%; ` +
    `${cpuPerMessage(p).toFixed(2)} µs/msg, ${g.wakeups} wake-ups, GC ${g.gc.count}× max ${g.gc.maxMs} ms, loop delay p99 ${g.eventLoopDelayUs.p99} µs); ` +
    `clients CPU ${p.subscriberCpuPct.join('/')}% ELU ${p.subscriberElu.join('/')}, loadgen CPU ${p.loadgenCpuPct.toFixed(0)}% ELU ${p.loadgenElu.toFixed(2)}, load process CPU ${p.loadCpuPct}% (orchestrator ${p.loadMainCpuPct.toFixed(0)}%); ` +
    `queued KiB mean/max: clients unread ${kib(q.clientsUnread)}, gateway unsent ${kib(q.gatewayUnsent)}, gateway unread from exchange ${kib(q.upstreamUnread)} ` +
    `(waits ${wait.clients.toFixed(2)} ms in the clients' sockets, ${wait.upstream.toFixed(2)} ms upstream, of ${(l.mean / 1000).toFixed(2)} ms mean)`
  );
}

/**
 * The rate searches of one or more gateways (bench/rate-search.ts), taking
 * turns step by step: each rig tries its next rate, the first rig going
 * first in every other turn (A B, B A, …), so tickwire's and the floor's
 * steps meet the machine's load of the same moments, as their rated slices
 * do. Whether a step was held is `Rig.phase`'s test, the same for every
 * gateway.
 */
async function searchRates(rigs: readonly { rig: Rig; rated: PhaseResult }[], profile: Profile, log: (line: string) => void): Promise<Omit<GatewayResult, 'rated' | 'ratedSlices'>[]> {
  const f = profile.fanout;
  const searches = rigs.map(({ rig, rated }) => ({ rig, search: new RateSearch(f.ratedRate, rated.held, f), steps: [] as PhaseResult[] }));
  for (let turn = 0; ; turn++) {
    let stepped = false;
    for (const s of turn % 2 === 0 ? searches : [...searches].reverse()) {
      const rate = s.search.next();
      if (rate === undefined) continue;
      stepped = true;
      const { result: p } = await s.rig.phase(rate, f.stepSeconds);
      s.steps.push(p);
      s.search.record(rate, p.held);
      log(`fan-out ${s.rig.kind} step: ${describe(p)}`);
    }
    if (!stepped) break;
  }
  return searches.map(({ rig, search, steps }) => ({ kind: rig.kind, steps, maxHeldRate: search.maxHeldRate, ceilingReached: search.ceilingReached }));
}

/** One gateway alone (the baseline): warm-up, the rated load in one phase, the rate search. */
async function runAlone(kind: GatewayKind, profile: Profile, gatewayCpus: string | undefined, log: (line: string) => void): Promise<{ result: GatewayResult; histogram: hdr.Histogram }> {
  const f = profile.fanout;
  const rig = new Rig(kind, profile, gatewayCpus);
  try {
    await rig.start();
    await rig.phase(f.ratedRate, 1); // warm-up
    const { result: rated, histogram } = await rig.phase(f.ratedRate, f.ratedSeconds);
    log(`fan-out ${kind} rated: ${describe(rated)}`);
    const [search] = await searchRates([{ rig, rated }], profile, log);
    return { result: { ...search!, rated }, histogram };
  } finally {
    await rig.stop();
  }
}

/** tickwire's and the floor's rated slices side by side, and the ratio of their tails per pair. */
interface Alternating {
  tickwire: Measured;
  floor: Measured;
  /** Per pair of slices (one of each, run back to back): the floor's p99 ÷ tickwire's (times better, as every ratio). */
  p99Ratios: number[];
  p999Ratios: number[];
  tickwireSlices: PhaseResult[];
  floorSlices: PhaseResult[];
}

/**
 * The rated load on tickwire and the floor in alternating slices (A B B A
 * A B …: each gateway goes first in half the pairs, so a drift of the
 * machine's load over the run falls on both alike), both rigs up all along
 * (the idle one only waits). The verdict compares the pooled distributions;
 * the per-pair ratios show how much one slice alone would have varied. One
 * run of a few seconds each, one after the other, let the machine's load
 * of the moment decide the ratio (0.66–2.65× over runs on the same commit).
 */
async function ratedAlternating(tw: Rig, floor: Rig, profile: Profile, log: (line: string) => void): Promise<Alternating> {
  const f = profile.fanout;
  const sliceSeconds = f.ratedSeconds / f.ratedSlices;
  const twSlices: Measured[] = [];
  const floorSlices: Measured[] = [];
  for (let i = 0; i < f.ratedSlices; i++) {
    const order = i % 2 === 0 ? [tw, floor] : [floor, tw];
    for (const rig of order) {
      // tickwire's /v1/latency (since its start) after its last slice.
      const m = await rig.phase(f.ratedRate, sliceSeconds, i === f.ratedSlices - 1);
      (rig === tw ? twSlices : floorSlices).push(m);
      log(`fan-out ${rig.kind} rated slice ${i + 1}/${f.ratedSlices}: ${describe(m.result)}`);
    }
  }
  const ratios = (k: 'p99' | 'p999') => twSlices.map((m, i) => floorSlices[i]!.result.latencyUs[k] / m.result.latencyUs[k]);
  return {
    tickwire: pool(twSlices),
    floor: pool(floorSlices),
    p99Ratios: ratios('p99'),
    p999Ratios: ratios('p999'),
    tickwireSlices: twSlices.map((m) => m.result),
    floorSlices: floorSlices.map((m) => m.result),
  };
}

/** tickwire and the floor: both started, warmed up, the rated load alternating, then each one's rate search. */
async function runPaired(
  profile: Profile,
  gatewayCpus: string | undefined,
  log: (line: string) => void,
): Promise<{ tickwire: GatewayResult; floor: GatewayResult; alternating: Alternating }> {
  const f = profile.fanout;
  const tw = new Rig('tickwire', profile, gatewayCpus);
  const floor = new Rig('floor', profile, gatewayCpus);
  try {
    await tw.start();
    await floor.start();
    await tw.phase(f.ratedRate, 1); // warm-up
    await floor.phase(f.ratedRate, 1);
    const alternating = await ratedAlternating(tw, floor, profile, log);
    const twRated = alternating.tickwire.result;
    const floorRated = alternating.floor.result;
    log(`fan-out tickwire rated, pooled: ${describe(twRated)}`);
    log(`fan-out floor rated, pooled: ${describe(floorRated)}`);
    const [twSearch, floorSearch] = await searchRates(
      [
        { rig: tw, rated: twRated },
        { rig: floor, rated: floorRated },
      ],
      profile,
      log,
    );
    return {
      tickwire: { ...twSearch!, rated: twRated, ratedSlices: alternating.tickwireSlices },
      floor: { ...floorSearch!, rated: floorRated, ratedSlices: alternating.floorSlices },
      alternating,
    };
  } finally {
    await tw.stop();
    await floor.stop();
  }
}

/** The three gateways, then the figures comparing them. */
export async function fanoutBench(
  profile: Profile,
  gatewayCpus: string | undefined,
  log: (line: string) => void,
): Promise<{ figures: Figure[]; details: unknown; distributions: Record<string, [number, number][]> }> {
  const { tickwire: tw, floor, alternating } = await runPaired(profile, gatewayCpus, log);
  const { result: base, histogram: baseHistogram } = await runAlone('baseline', profile, gatewayCpus, log);
  const f = profile.fanout;
  const K = f.subscribers;
  const at = `at ${f.ratedRate} trades/s to ${K} subscribers`;
  const peerName = 'hand-written ws gateway';
  const tails = tailOrigins(tw, floor);
  const lat = (id: string, label: string, pick: (s: LatencySummary) => number, goal?: { text: string; threshold: number }) =>
    figure({
      id: `fanout.rated.${id}`,
      group: 'fanout',
      name: `latency ${label} ${at}`,
      value: pick(tw.rated.latencyUs),
      unit: 'µs',
      better: 'lower',
      peer: { name: peerName, value: pick(base.rated.latencyUs) },
      goals: goal === undefined ? [] : [{ text: goal.text, on: 'value', op: '<', threshold: goal.threshold }],
      ...(goal === undefined
        ? {}
        : {
            floor: {
              name: FLOOR_NAME,
              value: pick(floor.rated.latencyUs),
              why: `the relay's own ${label} in the same run (alternating slices, same load, same clients); ${tails.floor}`,
            },
          }),
    });
  const lossOf = (p: PhaseResult) => p.lost + p.gaps;
  const ceiling = (r: GatewayResult) => (r.ceilingReached ? ' (held at the highest step tried: a lower bound)' : '');
  const figures: Figure[] = [
    lat('p50', 'p50', (s) => s.p50),
    lat('p99', 'p99', (s) => s.p99, { text: 'p99 < 1 ms', threshold: 1000 }),
    lat('p999', 'p99.9', (s) => s.p999, { text: 'p99.9 < 2 ms', threshold: 2000 }),
    lat('max', 'max', (s) => s.max),
    figure({
      id: 'fanout.rated.loss',
      group: 'fanout',
      name: `messages lost ${at} (missing ${(f.catchUpMs + 2000) / 1000} s after the last frame, gap notices included)`,
      value: lossOf(tw.rated),
      unit: 'messages',
      better: 'lower',
      peer: { name: peerName, value: lossOf(base.rated) },
      goals: [{ text: 'zero loss at the rated load', on: 'value', op: '==', threshold: 0 }],
    }),
    figure({
      id: 'fanout.rated.ring_overflow',
      group: 'fanout',
      name: `ring overflow ${at}`,
      value: tw.rated.ringOverflow ?? NaN,
      unit: 'records',
      better: 'lower',
      goals: [{ text: 'zero ring overflow at the rated load', on: 'value', op: '==', threshold: 0 }],
    }),
    figure({
      id: 'fanout.rated.cpu_per_message',
      group: 'fanout',
      name: `gateway CPU time per delivered message ${at}`,
      value: cpuPerMessage(tw.rated),
      unit: 'µs',
      better: 'lower',
      peer: { name: peerName, value: cpuPerMessage(base.rated) },
      note: `gateway CPU: tickwire ${tw.rated.gatewayCpuPct.toFixed(0)}%, baseline ${base.rated.gatewayCpuPct.toFixed(0)}% of a core (CPU time is the figure least disturbed by other work on the machine)`,
    }),
    figure({
      id: 'fanout.max_rate',
      group: 'fanout',
      name: `highest rate held to ${K} subscribers (no loss, no overflow, caught up within ${f.catchUpMs} ms)`,
      value: tw.maxHeldRate,
      unit: 'trades/s',
      better: 'higher',
      peer: { name: peerName, value: base.maxHeldRate },
      note: `tickwire${ceiling(tw)}; baseline${ceiling(base)}`,
    }),
    figure({
      id: 'fanout.delivered_per_s',
      group: 'fanout',
      name: `delivered messages per second at the highest rate held (${K} subscribers)`,
      value: tw.maxHeldRate * K,
      unit: 'msgs/s',
      better: 'higher',
      // A baseline that held no rate tried is below the lowest one: that rate bounds it from above, so the ratio is a lower bound (0 would give no ratio at all).
      peer: { name: peerName, value: (base.maxHeldRate > 0 ? base.maxHeldRate : lowestTried(base)) * K },
      goals: [{ text: '≥ 3× the baseline’s delivered messages per second', on: 'ratio', op: '>=', threshold: 3 }],
      note:
        `tickwire${ceiling(tw)}; baseline${ceiling(base)}` +
        (base.maxHeldRate > 0 ? '' : `; the baseline held no rate tried: its figure is the lowest tried (${lowestTried(base)}/s), an upper bound, so the ratio is a lower bound`),
    }),
    // Against the floor: how far from the least this stack can do, same load, same clients.
    ...floorFigures(tw, floor, alternating, at, K, ceiling),
  ];
  const distributions: Record<string, [number, number][]> = {
    tickwire: distribution(alternating.tickwire.histogram),
    baseline: distribution(baseHistogram),
    floor: distribution(alternating.floor.histogram),
  };
  return {
    figures,
    details: {
      subscribers: K,
      subscriberThreads: f.subscriberThreads,
      channel: CHANNEL,
      // BENCH_WAKE_WINDOW_MS as gateway-tickwire.ts read it (null: tickwire's default).
      wakeWindowMs: process.env['BENCH_WAKE_WINDOW_MS'] ? Number(process.env['BENCH_WAKE_WINDOW_MS']) : null,
      // BENCH_TICK_WRITES as exchange-worker.ts read it: one TCP write per 1 ms tick of frames instead of one per frame.
      tickWrites: process.env['BENCH_TICK_WRITES'] === '1',
      tickwire: tw,
      baseline: base,
      floor,
      tails,
    },
    distributions,
  };
}

/** The lowest rate a gateway's search tried, trades/s. */
export function lowestTried(g: GatewayResult): number {
  return Math.min(g.rated.rate, ...g.steps.map((p) => p.rate));
}

/**
 * Where the rated load's tail comes from, in figures, per gateway: its main
 * thread's event-loop delay and GC pauses over the slices (the probe), and
 * for tickwire the stages of its own `/v1/latency` (since its start):
 * `ring_wait` (worker write → main-thread read), `receive_to_publish`,
 * `event_loop_delay`. Also the client side: how busy the load's core was.
 */
function tailOrigins(tw: GatewayResult, floor: GatewayResult): { tickwire: string; floor: string } {
  const probe = (p: PhaseResult) => {
    const g = p.gatewayProbe;
    return (
      `main-thread event-loop delay p99 ${g.eventLoopDelayUs.p99} µs, max ${g.eventLoopDelayUs.max} µs (worst slice); GC ${g.gc.count} pauses, ${g.gc.totalMs} ms in all, longest ${g.gc.maxMs} ms; ` +
      `${g.wakeups} main-thread wake-ups (${(p.sent / Math.max(1, g.wakeups)).toFixed(2)} trades each); ` +
      `load core: client threads ${p.subscriberCpuPct.join('/')}% CPU, the load process ${p.loadCpuPct}%`
    );
  };
  const stages = tw.rated.gatewayStages as Record<string, Record<string, { p50: number; p99: number; p999: number }>> | undefined;
  const stage = (name: string) => {
    const s = stages?.[name];
    const v = s === undefined ? undefined : Object.values(s)[0];
    return v === undefined ? `${name} n/a` : `${name} p50 ${v.p50} / p99 ${v.p99} / p99.9 ${v.p999} µs`;
  };
  return {
    tickwire: `${probe(tw.rated)}; tickwire's /v1/latency since start: ${stage('ring_wait')}, ${stage('receive_to_publish')}, ${stage('event_loop_delay')}`,
    floor: probe(floor.rated),
  };
}

/**
 * tickwire against the floor relay (issue 12, item 3): the tail latency
 * within 1.5× (p99) and 2× (p99.9) of the floor's, gateway CPU per delivered
 * message at most 1.5 µs, at least 16k trades/s held. A ratio is "times
 * better" as everywhere: 1 / 1.5 ≈ 0.67 means 1.5× the floor's latency. The
 * tail ratios compare the distributions pooled over alternating slices.
 */
function floorFigures(
  tw: GatewayResult,
  floor: GatewayResult,
  alt: Alternating,
  at: string,
  K: number,
  ceiling: (r: GatewayResult) => string,
): Figure[] {
  const name = FLOOR_NAME;
  const peer = (value: number) => ({ name, value });
  const slices = alt.tickwireSlices.length;
  const tail = (id: 'p99' | 'p999', label: string, times: number, ratios: number[]) =>
    figure({
      id: `fanout.floor.${id}`,
      group: 'fanout',
      name: `latency ${label} ${at}, against the floor (${slices} alternating slices each, pooled)`,
      value: tw.rated.latencyUs[id],
      unit: 'µs',
      better: 'lower',
      peer: peer(floor.rated.latencyUs[id]),
      goals: [{ text: `${label} ≤ ${times}× the floor’s`, on: 'ratio', op: '>=', threshold: 1 / times }],
      note: `ratio per pair of slices: median ${spread(ratios)}`,
    });
  // The floor's CPU per message by rate, from its own steps: what a wake-up costs against what a message costs.
  const floorByRate = [floor.rated, ...floor.steps.filter((p) => p.held)].map((p) => `${cpuPerMessage(p).toFixed(2)} µs at ${p.rate}/s (${(p.sent / Math.max(1, p.gatewayProbe.wakeups)).toFixed(1)} trades per wake-up)`);
  const rate = tw.rated.rate;
  const fitText = (who: string, fit: WakeCostFit | undefined) => {
    if (fit === undefined) return `${who}: this run's phases do not split into a per-message and a positive per-wake-up part (too few, too alike or too noisy)`;
    const need = fit.tradesPerWakeFor(1.5);
    return (
      `${who}: ${fit.perMessageUs.toFixed(2)} µs per message + ${fit.perWakeUs.toFixed(0)} µs per wake-up (least squares over ${fit.points} phases of this run), ` +
      (Number.isFinite(need) ? `so 1.5 µs needs ≥ ${need.toFixed(1)} trades per wake-up, one wake-up per ≥ ${((need / rate) * 1000).toFixed(1)} ms at ${rate}/s` : 'so 1.5 µs is out of reach at any batching')
    );
  };
  const phasesOf = (g: GatewayResult) => [...(g.ratedSlices ?? [g.rated]), ...g.steps];
  // The lowest rate not held (the rated load itself when the search went down).
  const firstNotHeld = (g: GatewayResult) => [g.rated, ...g.steps].filter((p) => !p.held).sort((a, b) => a.rate - b.rate)[0];
  const top = (g: GatewayResult) => [g.rated, ...g.steps].reduce((a, p) => (p.rate > a.rate ? p : a));
  const twTop = top(tw);
  const floorTop = top(floor);
  const twFailed = firstNotHeld(tw);
  const floorFailed = firstNotHeld(floor);
  return [
    tail('p99', 'p99', 1.5, alt.p99Ratios),
    tail('p999', 'p99.9', 2, alt.p999Ratios),
    figure({
      id: 'fanout.floor.cpu_per_message',
      group: 'fanout',
      name: `gateway CPU time per delivered message ${at}, against the floor`,
      value: cpuPerMessage(tw.rated),
      unit: 'µs',
      better: 'lower',
      peer: peer(cpuPerMessage(floor.rated)),
      goals: [{ text: 'gateway CPU ≤ 1.5 µs per delivered message', on: 'value', op: '<=', threshold: 1.5 }],
      floor: {
        name,
        value: cpuPerMessage(floor.rated),
        why:
          `the relay's CPU per delivered message falls with the trades each wake-up of its main thread carries (one send per subscriber per wake-up): ${floorByRate.join(', ')}; ` +
          fitText('the relay', fitWakeCost(phasesOf(floor))),
      },
      note:
        `gateway CPU: tickwire ${tw.rated.gatewayCpuPct.toFixed(0)}%, floor ${floor.rated.gatewayCpuPct.toFixed(0)}% of a core; trades per main-thread wake-up: tickwire ${(tw.rated.sent / Math.max(1, tw.rated.gatewayProbe.wakeups)).toFixed(2)}, ` +
        `floor ${(floor.rated.sent / Math.max(1, floor.rated.gatewayProbe.wakeups)).toFixed(2)}; ${fitText('tickwire', fitWakeCost(phasesOf(tw)))}`,
    }),
    figure({
      id: 'fanout.floor.max_rate',
      group: 'fanout',
      name: `highest rate held to ${K} subscribers, against the floor`,
      value: tw.maxHeldRate,
      unit: 'trades/s',
      better: 'higher',
      peer: peer(floor.maxHeldRate),
      goals: [{ text: '≥ 16k trades/s held to 100 subscribers', on: 'value', op: '>=', threshold: 16_000 }],
      floor: { name, value: floor.maxHeldRate, why: `${firstOut('floor', floorFailed)}${ceiling(floor)}` },
      note: `${firstOut('tickwire', twFailed)}${ceiling(tw)}`,
    }),
    figure({
      id: 'fanout.load_cpu_per_message',
      group: 'fanout',
      name: `load core CPU time (subscriber threads, load generator) per delivered message at the highest rate tried`,
      value: loadCpuPerMessage(twTop),
      unit: 'µs',
      better: 'lower',
      peer: { name: `${name}: its clients`, value: loadCpuPerMessage(floorTop) },
      note:
        `the gateway's own on its core in the same phases: tickwire ${cpuPerMessage(twTop).toFixed(2)} µs at ${twTop.rate}/s, the floor ${cpuPerMessage(floorTop).toFixed(2)} µs at ${floorTop.rate}/s; ` +
        'each side has one core, so the side with the larger figure fills its core first as the rate rises, and a highest rate held set by the clients measures them, not the gateway',
    }),
  ];
}
