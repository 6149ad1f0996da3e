/**
 * The fan-out benchmark's phases as figures: what one measured phase holds,
 * slices of one rate pooled into one (bench/fanout.ts runs tickwire and the
 * floor in alternating slices), CPU per delivered message, the spread of
 * per-pair ratios, and which side ran out first at a rate not held. Pure:
 * no sockets, no processes.
 */
import type * as hdr from 'hdr-histogram-js';
import type { GatewayProbe } from './load/gateway-probe.ts';
import { merge, summarize, type LatencySummary } from './load/latency.ts';
import type { QueueStat, TcpQueues } from './load/tcp-queues.ts';

/** The gateway under test. */
export type GatewayKind = 'tickwire' | 'baseline' | 'floor';

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
  /** Gateway CPU time over the phase, s (every thread; /proc, 10 ms ticks). */
  gatewayCpuS: number;
  /** Wall-clock length of the phase, s (play to the last subscriber complete, or its wait's end). */
  wallS: number;
  /**
   * The gateway's CPU by thread over the phase, % of one core (schedstat, ns): its main thread, its
   * busiest other thread (tickwire's feed worker: Node 20 names no thread, so it is told by its CPU;
   * for the floor a GC helper) and every other thread together.
   */
  gatewayThreadsCpuPct: { main: number; busiestOther: number; rest: number };
  /** The gateway's main thread over the phase: event-loop delay, GC pauses, wake-ups (load/gateway-probe.ts). */
  gatewayProbe: GatewayProbe;
  loadgenElu: number;
  /** The load generator thread's CPU while it played, % of one core. */
  loadgenCpuPct: number;
  subscriberElu: number[];
  /** CPU use of each subscriber thread over the phase, % of one core. */
  subscriberCpuPct: number[];
  /** CPU use of this whole process (load generator, subscriber threads: all pinned to one core with --pin), % of one core. */
  loadCpuPct: number;
  /** CPU use of this process's main thread (the orchestrator: phase control, socket-queue sampling), % of one core. */
  loadMainCpuPct: number;
  /** WebSocket bytes (frames and headers) the subscribers received over the phase, and the exchange sent to the gateway. */
  bytes: { delivered: number; upstream: number };
  /** The rig's loopback socket queues over the phase: clients' unread, gateway's unsent, gateway's unread from the exchange (load/tcp-queues.ts). */
  queues: TcpQueues;
  /**
   * tickwire's own stage latencies (`/v1/latency`, µs, since the gateway started: warm-up included),
   * read after the rated phase: where inside the gateway the time goes.
   */
  gatewayStages?: unknown;
}

/** Gateway CPU time (every thread) per message delivered over the phase, µs. */
export function cpuPerMessage(p: PhaseResult): number {
  return p.received > 0 ? (p.gatewayCpuS / p.received) * 1e6 : NaN;
}

/**
 * CPU time of the load's core (this process: subscriber threads, load
 * generator, orchestrator; pinned together) per message delivered, µs:
 * beside `cpuPerMessage`, which side's core a rate fills first.
 */
export function loadCpuPerMessage(p: PhaseResult): number {
  return p.received > 0 ? (((p.loadCpuPct / 100) * p.wallS) / p.received) * 1e6 : NaN;
}

/** A phase and its merged latency histogram. */
export interface Measured {
  result: PhaseResult;
  histogram: hdr.Histogram;
}

/**
 * Several phases at one rate as one: counts and CPU times summed, latency
 * from the merged histograms, held only if every one was. The main-thread
 * probe sums GC pauses and wake-ups; its event-loop delay percentiles are
 * the worst slice's (the probe sends percentiles, which do not merge).
 */
export function pool(phases: readonly Measured[]): Measured {
  const rs = phases.map((m) => m.result);
  const sum = (pick: (p: PhaseResult) => number) => rs.reduce((a, p) => a + pick(p), 0);
  const max = (pick: (p: PhaseResult) => number) => Math.max(...rs.map(pick));
  const histogram = merge([]);
  for (const m of phases) histogram.add(m.histogram);
  const overflow = rs.some((p) => p.ringOverflow === null) ? null : sum((p) => p.ringOverflow!);
  const wallS = sum((p) => p.wallS);
  const gatewayCpuS = sum((p) => p.gatewayCpuS);
  const cpuShare = (pick: (p: PhaseResult) => number) => sum((p) => pick(p) * p.wallS) / wallS;
  const queue = (k: 'clientsUnread' | 'gatewayUnsent' | 'upstreamUnread'): QueueStat => {
    const samples = sum((p) => p.queues.samples);
    return { mean: sum((p) => p.queues[k].mean * p.queues.samples) / samples, max: max((p) => p.queues[k].max) };
  };
  const worstLoop = (k: keyof GatewayProbe['eventLoopDelayUs']) => max((p) => p.gatewayProbe.eventLoopDelayUs[k]);
  const first = rs[0]!;
  const stages = rs.findLast((p) => p.gatewayStages !== undefined)?.gatewayStages;
  return {
    histogram,
    result: {
      rate: first.rate,
      seconds: sum((p) => p.seconds),
      subscribers: first.subscribers,
      sent: sum((p) => p.sent),
      sentRate: sum((p) => p.sent) / sum((p) => p.sent / p.sentRate),
      expected: sum((p) => p.expected),
      received: sum((p) => p.received),
      lost: sum((p) => p.lost),
      duplicates: sum((p) => p.duplicates),
      gaps: sum((p) => p.gaps),
      errors: sum((p) => p.errors),
      closedConnections: sum((p) => p.closedConnections),
      ringOverflow: overflow,
      catchUpMs: max((p) => p.catchUpMs),
      deliveredPerSecond: sum((p) => p.received) / sum((p) => (p.deliveredPerSecond > 0 ? p.received / p.deliveredPerSecond : 0)),
      held: rs.every((p) => p.held),
      latencyUs: summarize(histogram),
      gatewayCpuPct: (gatewayCpuS / wallS) * 100,
      gatewayCpuS,
      wallS,
      gatewayThreadsCpuPct: { main: cpuShare((p) => p.gatewayThreadsCpuPct.main), busiestOther: cpuShare((p) => p.gatewayThreadsCpuPct.busiestOther), rest: cpuShare((p) => p.gatewayThreadsCpuPct.rest) },
      gatewayProbe: {
        type: 'probe',
        n: NaN,
        eventLoopDelayUs: { p50: worstLoop('p50'), p99: worstLoop('p99'), p999: worstLoop('p999'), max: worstLoop('max') },
        gc: { count: sum((p) => p.gatewayProbe.gc.count), totalMs: Number(sum((p) => p.gatewayProbe.gc.totalMs).toFixed(2)), maxMs: max((p) => p.gatewayProbe.gc.maxMs) },
        wakeups: sum((p) => p.gatewayProbe.wakeups),
        elu: sum((p) => p.gatewayProbe.elu) / rs.length,
      },
      loadgenElu: max((p) => p.loadgenElu),
      loadgenCpuPct: max((p) => p.loadgenCpuPct),
      subscriberElu: first.subscriberElu.map((_, i) => max((p) => p.subscriberElu[i]!)),
      subscriberCpuPct: first.subscriberCpuPct.map((_, i) => max((p) => p.subscriberCpuPct[i]!)),
      loadCpuPct: max((p) => p.loadCpuPct),
      loadMainCpuPct: max((p) => p.loadMainCpuPct),
      bytes: { delivered: sum((p) => p.bytes.delivered), upstream: sum((p) => p.bytes.upstream) },
      queues: { clientsUnread: queue('clientsUnread'), gatewayUnsent: queue('gatewayUnsent'), upstreamUnread: queue('upstreamUnread'), samples: sum((p) => p.queues.samples) },
      ...(stages === undefined ? {} : { gatewayStages: stages }),
    },
  };
}

/** Median, lowest and highest of `xs` as "m× (lo–hi×)". */
export function spread(xs: readonly number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return `${mid.toFixed(2)}× (${s[0]!.toFixed(2)}–${s[s.length - 1]!.toFixed(2)}×)`;
}

/**
 * Where a phase's messages waited in the kernel, ms per message on average
 * (Little's law: mean bytes queued ÷ bytes per second through the queue):
 * `clients`, unread in the subscribers' sockets or unsent in the gateway's
 * because a client's window was full (the clients were behind);
 * `upstream`, unread by the gateway in its socket from the exchange (its
 * receiving thread was behind). What is left of the mean latency waited
 * inside the gateway (rings, main thread, uWS buffers) or on the wire.
 */
export function queueWaitMs(p: PhaseResult): { clients: number; upstream: number } {
  const q = p.queues;
  return {
    clients: ((q.clientsUnread.mean + q.gatewayUnsent.mean) / (p.bytes.delivered / p.wallS)) * 1000,
    upstream: (q.upstreamUnread.mean / (p.bytes.upstream / p.wallS)) * 1000,
  };
}

/** A phase's CPU by side: the gateway's threads, the clients' threads and the load process, as % of a core and as the trades/s one core would hold at this CPU per trade. */
export function cpuSides(p: PhaseResult): string {
  const t = p.gatewayThreadsCpuPct;
  const holds = (pct: number) => `${fmtK(p.sent / ((pct / 100) * p.wallS))} trades/s`; // trades per CPU-second
  return (
    `gateway ${p.gatewayCpuPct.toFixed(0)}% of its core (main thread ${t.main.toFixed(0)}%, busiest other thread ${t.busiestOther.toFixed(0)}%, the rest ${t.rest.toFixed(0)}%; a core holds ≈ ${holds(p.gatewayCpuPct)} at this CPU per trade), ` +
    `load process ${p.loadCpuPct}% of its core (client threads ${p.subscriberCpuPct.join('/')}%, load generator ${p.loadgenCpuPct.toFixed(0)}%, orchestrator ${p.loadMainCpuPct.toFixed(0)}%; ≈ ${holds(p.loadCpuPct)})`
  );
}

/**
 * The side that ran out first at `p`, a rate not held, from where its
 * messages waited (`queueWaitMs` against the mean latency): in the clients'
 * sockets for at least half of it, the clients; in the gateway's socket from
 * the exchange, the gateway's receiving thread; else inside the gateway. The
 * CPU each side used and could hold (`cpuSides`) is given beside it.
 */
export function firstOut(kind: GatewayKind, p: PhaseResult | undefined): string {
  if (p === undefined) return `${kind}: every rate tried was held`;
  const wait = queueWaitMs(p);
  const meanMs = p.latencyUs.mean / 1000;
  const share = (ms: number) => (ms / meanMs) * 100;
  const who = !(p.queues.samples > 0)
    ? 'no socket queues were sampled (not Linux): undecided'
    : share(wait.clients) >= 50
      ? 'the clients ran out first (most of the delay was spent unread in their sockets)'
      : share(wait.upstream) >= 50
        ? 'the gateway ran out first, on its receiving side (most of the delay was spent unread in its socket from the exchange)'
        : 'the gateway ran out first (most of the delay was spent inside it, not in the clients’ sockets)';
  const idle = p.gatewayCpuPct < 90 && p.loadCpuPct < 90 ? '; neither side used its whole core: other work on the machine took the CPU the late side needed' : '';
  return (
    `${kind} at ${p.rate} trades/s (not held: lost ${p.lost}, gaps ${p.gaps}, catch-up ${p.catchUpMs.toFixed(0)} ms, mean latency ${meanMs.toFixed(1)} ms): ` +
    `waited ${wait.clients.toFixed(1)} ms (${share(wait.clients).toFixed(0)}%) in the clients’ sockets, ${wait.upstream.toFixed(1)} ms (${share(wait.upstream).toFixed(0)}%) in the gateway’s from the exchange; ` +
    `${cpuSides(p)}: ${who}${idle}`
  );
}

function fmtK(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0);
}

/** CPU per delivered message as a per-message part plus a per-wake-up part shared by the messages of one wake-up. */
export interface WakeCostFit {
  /** µs per delivered message whatever the batching. */
  perMessageUs: number;
  /** µs per main-thread wake-up, over all subscribers (one send each). */
  perWakeUs: number;
  /** Trades per wake-up needed for `targetUs` per delivered message (Infinity when the per-message part alone exceeds it). */
  tradesPerWakeFor: (targetUs: number) => number;
  /** Phases fitted. */
  points: number;
}

/**
 * Least squares of CPU per delivered message against 1 / (trades per
 * wake-up) over `phases` (with at least 3 that woke and delivered): the
 * intercept is what each message costs, the slope ÷ subscribers what each
 * wake-up costs. Undefined with fewer points, no spread in batching, or no
 * positive per-wake-up part (noise swamped it: seen at load average 12).
 */
export function fitWakeCost(phases: readonly PhaseResult[]): WakeCostFit | undefined {
  const pts = phases
    .filter((p) => p.gatewayProbe.wakeups > 0 && p.received > 0 && p.sent > 0)
    .map((p) => ({ x: p.gatewayProbe.wakeups / p.sent, y: cpuPerMessage(p), k: p.subscribers }));
  if (pts.length < 3) return undefined;
  const mx = pts.reduce((a, p) => a + p.x, 0) / pts.length;
  const my = pts.reduce((a, p) => a + p.y, 0) / pts.length;
  const sxx = pts.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  if (!(sxx > 0)) return undefined;
  const slope = pts.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0) / sxx;
  if (!(slope > 0)) return undefined;
  const perMessageUs = my - slope * mx;
  return {
    perMessageUs,
    perWakeUs: slope * pts[0]!.k,
    tradesPerWakeFor: (targetUs) => (targetUs > perMessageUs ? slope / (targetUs - perMessageUs) : Infinity),
    points: pts.length,
  };
}
