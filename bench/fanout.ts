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
 *  3. the rate search: from the rated load upwards when it was held (stop at
 *     the first rate not held), downwards when it was not (stop at the first
 *     rate held), then optional bisection between the two. A rate is held when nothing was lost, no gap,
 *     no ring overflow, and the last message arrived within `catchUpMs` of
 *     the last frame sent (the gateway kept up instead of queueing).
 */
import type { ChildProcess } from 'node:child_process';
import type { Worker } from 'node:worker_threads';
import type { ExchangeCommand, ExchangeReply, ExchangeWorkerData } from './exchange-worker.ts';
import { distribution, merge, summarize, type LatencySummary } from './load/latency.ts';
import { nextMessage, ofType, startChild, startWorker, stopChild } from './load/peers.ts';
import { SendTimes } from './load/send-times.ts';
import type { Profile } from './profile.ts';
import { figure, type Figure } from './report.ts';
import type { SubscriberReport } from './subscriber-worker.ts';
import { cpuSeconds } from './threads.ts';

/** The gateway under test. */
export type GatewayKind = 'tickwire' | 'baseline' | 'floor';

const GATEWAY_ENTRY: Record<GatewayKind, string> = {
  tickwire: './gateway-tickwire.ts',
  baseline: './gateway-baseline.ts',
  floor: './gateway-floor.ts',
};

/** One measured phase at one rate. */
export interface PhaseResult {
  rate: number;
  seconds: number;
  subscribers: number;
  sent: number;
  /** Rate the load generator actually achieved, frames/s. */
  sentRate: number;
  expected: number;
  received: number;
  lost: number;
  duplicates: number;
  gaps: number;
  errors: number;
  closedConnections: number;
  ringOverflow: number | null;
  /** Last message received minus last frame sent, ms (NaN when nothing arrived). */
  catchUpMs: number;
  /** Messages delivered per second over the phase (received / (last received − first sent)). */
  deliveredPerSecond: number;
  held: boolean;
  latencyUs: LatencySummary;
  /** Gateway CPU use over the phase, % of one core (from /proc). */
  gatewayCpuPct: number;
  loadgenElu: number;
  subscriberElu: number[];
  /** The latency percentile curve ([percentile, µs]), kept for the rated phase's plot. */
  distribution?: [number, number][];
  /**
   * tickwire's own stage latencies (`/v1/latency`, µs, since the gateway started: warm-up included),
   * read after the rated phase: where inside the gateway the time goes.
   */
  gatewayStages?: unknown;
}

/** One gateway's fan-out results: the rated phase, the rate search, the highest rate held. */
export interface GatewayResult {
  kind: GatewayKind;
  rated: PhaseResult;
  steps: PhaseResult[];
  /** Highest rate held (trades/s); 0 when none was. */
  maxHeldRate: number;
  /** True when the highest step tried was held (the true limit is higher). */
  ceilingReached: boolean;
}

const CHANNEL = 'trades:binance:BTCUSDT';

type Listening = Extract<ExchangeReply, { type: 'listening' }>;
type Played = Extract<ExchangeReply, { type: 'played' }>;

/** The rig for one gateway: load generator, gateway process, subscriber threads. */
class Rig {
  private exchange!: Worker;
  private gateway!: ChildProcess;
  private subs: Worker[] = [];
  private port = 0;
  private nextId = 1_000_000;
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

  /** One phase: `rate` trades/s for `seconds`, every subscriber checked. */
  async phase(rate: number, seconds: number, keepHistogram = false): Promise<PhaseResult> {
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
    const cpu0 = cpuSeconds(this.gateway.pid!);
    const t0 = performance.now();
    const complete = this.allComplete();
    const played: Played = await this.command({ type: 'play', firstId, count, rate }, 'played');
    // Everything should be in within catchUpMs; give stragglers up to 2 s more so the loss figure is exact.
    await complete.within(this.profile.fanout.catchUpMs + 2_000);
    const cpu1 = cpuSeconds(this.gateway.pid!);
    const wallS = (performance.now() - t0) / 1000;
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
      loadgenElu: played.elu,
      subscriberElu: reports.map((r) => Number(r.elu.toFixed(3))),
    };
    if (keepHistogram) {
      result.distribution = distribution(h);
      if (this.kind === 'tickwire') result.gatewayStages = await (await fetch(`http://127.0.0.1:${this.port}/v1/latency`)).json();
    }
    if (!result.held) await this.settle(500, 15_000);
    return result;
  }
}

/** Gateway CPU time per message delivered over the phase, µs. */
function cpuPerMessage(p: PhaseResult): number {
  return p.deliveredPerSecond > 0 ? (p.gatewayCpuPct / 100 / p.deliveredPerSecond) * 1e6 : NaN;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(p: PhaseResult): string {
  const l = p.latencyUs;
  return (
    `${p.rate} trades/s × ${p.subscribers}: ${p.held ? 'held' : 'NOT held'}; p50 ${l.p50} µs, p99 ${l.p99} µs, p99.9 ${l.p999} µs, max ${l.max} µs; ` +
    `lost ${p.lost}, gaps ${p.gaps}, overflow ${p.ringOverflow ?? 'n/a'}, catch-up ${p.catchUpMs.toFixed(1)} ms; gateway CPU ${p.gatewayCpuPct.toFixed(0)}%, ` +
    `clients ELU ${p.subscriberElu.join('/')}, loadgen ELU ${p.loadgenElu.toFixed(2)}`
  );
}

/** Run the whole fan-out benchmark for one gateway. */
async function runGateway(kind: GatewayKind, profile: Profile, gatewayCpus: string | undefined, log: (line: string) => void): Promise<GatewayResult> {
  const f = profile.fanout;
  const rig = new Rig(kind, profile, gatewayCpus);
  try {
    await rig.start();
    await rig.phase(f.ratedRate, 1); // warm-up
    const rated = await rig.phase(f.ratedRate, f.ratedSeconds, true);
    log(`fan-out ${kind} rated: ${describe(rated)}`);
    // The rate search starts from the rated load: upwards when it was held, downwards when not.
    const steps: PhaseResult[] = [];
    let held = rated.held ? f.ratedRate : 0;
    let failed = rated.held ? Infinity : f.ratedRate;
    for (const rate of rated.held ? f.stepsUp : f.stepsDown) {
      const p = await rig.phase(rate, f.stepSeconds);
      steps.push(p);
      log(`fan-out ${kind} step: ${describe(p)}`);
      if (p.held) held = Math.max(held, rate);
      else failed = Math.min(failed, rate);
      if (rated.held !== p.held) break;
    }
    for (let i = 0; i < f.refine && held > 0 && Number.isFinite(failed); i++) {
      const rate = Math.round((held + failed) / 2 / 100) * 100;
      if (rate <= held || rate >= failed) break;
      const p = await rig.phase(rate, f.stepSeconds);
      steps.push(p);
      log(`fan-out ${kind} refine: ${describe(p)}`);
      if (p.held) held = rate;
      else failed = rate;
    }
    return { kind, rated, steps, maxHeldRate: held, ceilingReached: !Number.isFinite(failed) };
  } finally {
    await rig.stop();
  }
}

/** The three gateways, then the figures comparing them. */
export async function fanoutBench(
  profile: Profile,
  gatewayCpus: string | undefined,
  log: (line: string) => void,
): Promise<{ figures: Figure[]; details: unknown; distributions: Record<string, [number, number][]> }> {
  const tw = await runGateway('tickwire', profile, gatewayCpus, log);
  const base = await runGateway('baseline', profile, gatewayCpus, log);
  const floor = await runGateway('floor', profile, gatewayCpus, log);
  const f = profile.fanout;
  const K = f.subscribers;
  const at = `at ${f.ratedRate} trades/s to ${K} subscribers`;
  const peerName = 'hand-written ws gateway';
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
      peer: { name: peerName, value: base.maxHeldRate * K },
      goals: [{ text: '≥ 3× the baseline’s delivered messages per second', on: 'ratio', op: '>=', threshold: 3 }],
      note: `tickwire${ceiling(tw)}; baseline${ceiling(base)}`,
    }),
    // Against the floor: how far from the least this stack can do, same load, same clients.
    ...floorFigures(tw, floor, at, K, ceiling),
  ];
  const distributions: Record<string, [number, number][]> = {
    tickwire: tw.rated.distribution ?? [],
    baseline: base.rated.distribution ?? [],
    floor: floor.rated.distribution ?? [],
  };
  delete tw.rated.distribution;
  delete base.rated.distribution;
  delete floor.rated.distribution;
  return { figures, details: { subscribers: K, subscriberThreads: f.subscriberThreads, channel: CHANNEL, tickwire: tw, baseline: base, floor }, distributions };
}

/**
 * tickwire against the floor relay (issue 12, item 3): the tail latency
 * within 1.5× (p99) and 2× (p99.9) of the floor's, gateway CPU per delivered
 * message at most 1.5 µs, at least 16k trades/s held. A ratio is "times
 * better" as everywhere: 1 / 1.5 ≈ 0.67 means 1.5× the floor's latency.
 */
function floorFigures(
  tw: GatewayResult,
  floor: GatewayResult,
  at: string,
  K: number,
  ceiling: (r: GatewayResult) => string,
): Figure[] {
  const peer = (value: number) => ({ name: 'floor (uWS relay of the exchange frames)', value });
  const tail = (id: 'p99' | 'p999', label: string, times: number) =>
    figure({
      id: `fanout.floor.${id}`,
      group: 'fanout',
      name: `latency ${label} ${at}, against the floor`,
      value: tw.rated.latencyUs[id],
      unit: 'µs',
      better: 'lower',
      peer: peer(floor.rated.latencyUs[id]),
      goals: [{ text: `${label} ≤ ${times}× the floor’s`, on: 'ratio', op: '>=', threshold: 1 / times }],
    });
  return [
    tail('p99', 'p99', 1.5),
    tail('p999', 'p99.9', 2),
    figure({
      id: 'fanout.floor.cpu_per_message',
      group: 'fanout',
      name: `gateway CPU time per delivered message ${at}, against the floor`,
      value: cpuPerMessage(tw.rated),
      unit: 'µs',
      better: 'lower',
      peer: peer(cpuPerMessage(floor.rated)),
      goals: [{ text: 'gateway CPU ≤ 1.5 µs per delivered message', on: 'value', op: '<=', threshold: 1.5 }],
      note: `gateway CPU: tickwire ${tw.rated.gatewayCpuPct.toFixed(0)}%, floor ${floor.rated.gatewayCpuPct.toFixed(0)}% of a core`,
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
      note: `tickwire${ceiling(tw)}; floor${ceiling(floor)}`,
    }),
  ];
}
