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
  /** The gateway's main thread over the phase: event-loop delay, GC pauses, wake-ups (load/gateway-probe.ts). */
  gatewayProbe: GatewayProbe;
  loadgenElu: number;
  subscriberElu: number[];
  /** CPU use of each subscriber thread over the phase, % of one core. */
  subscriberCpuPct: number[];
  /** CPU use of this whole process (load generator, subscriber threads: all pinned to one core with --pin), % of one core. */
  loadCpuPct: number;
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
      gatewayProbe: {
        type: 'probe',
        n: NaN,
        eventLoopDelayUs: { p50: worstLoop('p50'), p99: worstLoop('p99'), p999: worstLoop('p999'), max: worstLoop('max') },
        gc: { count: sum((p) => p.gatewayProbe.gc.count), totalMs: Number(sum((p) => p.gatewayProbe.gc.totalMs).toFixed(2)), maxMs: max((p) => p.gatewayProbe.gc.maxMs) },
        wakeups: sum((p) => p.gatewayProbe.wakeups),
        elu: sum((p) => p.gatewayProbe.elu) / rs.length,
      },
      loadgenElu: max((p) => p.loadgenElu),
      subscriberElu: first.subscriberElu.map((_, i) => max((p) => p.subscriberElu[i]!)),
      subscriberCpuPct: first.subscriberCpuPct.map((_, i) => max((p) => p.subscriberCpuPct[i]!)),
      loadCpuPct: max((p) => p.loadCpuPct),
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
 * The side that ran out first at `p`, a rate not held: the gateway (its
 * core near full) or the load (the client threads' and load process's core
 * near full), from the CPU each used over the step.
 */
export function firstOut(kind: GatewayKind, p: PhaseResult | undefined): string {
  if (p === undefined) return `${kind}: every rate tried was held`;
  const gateway = p.gatewayCpuPct;
  const load = p.loadCpuPct;
  const who = load >= 90 && gateway < 90 ? 'the load (clients) ran out first' : gateway >= 90 && load < 90 ? 'the gateway ran out first' : gateway >= 90 ? 'both cores were full' : 'neither core was full (other work on the machine took the CPU)';
  return `${kind} at ${p.rate} trades/s (not held: lost ${p.lost}, gaps ${p.gaps}, catch-up ${p.catchUpMs.toFixed(0)} ms): gateway ${gateway.toFixed(0)}% of its core, load process ${load}% of its core (client threads ${p.subscriberCpuPct.join('/')}%): ${who}`;
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
