import { describe, expect, it } from 'vitest';
import { cpuPerMessage, firstOut, fitWakeCost, loadCpuPerMessage, pool, queueWaitMs, spread, type Measured, type PhaseResult } from '../../bench/fanout-phases.ts';
import { latencyHistogram, summarize } from '../../bench/load/latency.ts';

/** A phase at 2,000 trades/s whose latencies (µs) are `latencies`, with `over` to change any field. */
function phase(latencies: number[], over: Partial<PhaseResult> = {}): Measured {
  const histogram = latencyHistogram();
  for (const v of latencies) histogram.recordValue(v);
  const result: PhaseResult = {
    rate: 2_000,
    seconds: 1.5,
    subscribers: 100,
    sent: 3_000,
    sentRate: 2_000,
    expected: 300_000,
    received: 300_000,
    lost: 0,
    duplicates: 0,
    gaps: 0,
    errors: 0,
    closedConnections: 0,
    ringOverflow: 0,
    catchUpMs: 2,
    deliveredPerSecond: 200_000,
    held: true,
    latencyUs: summarize(histogram),
    gatewayCpuPct: 50,
    gatewayCpuS: 0.75,
    wallS: 1.5,
    gatewayThreadsCpuPct: { main: 40, busiestOther: 8, rest: 2 },
    gatewayProbe: { type: 'probe', n: 1, eventLoopDelayUs: { p50: 100, p99: 900, p999: 1_500, max: 2_000 }, gc: { count: 1, totalMs: 2, maxMs: 2 }, wakeups: 1_000, elu: 0.5 },
    loadgenElu: 0.1,
    loadgenCpuPct: 5,
    subscriberElu: [0.4, 0.5],
    subscriberCpuPct: [30, 35],
    loadCpuPct: 70,
    loadMainCpuPct: 3,
    // 240 bytes per message, 300 per frame from the exchange.
    bytes: { delivered: 72_000_000, upstream: 900_000 },
    queues: { clientsUnread: { mean: 0, max: 0 }, gatewayUnsent: { mean: 0, max: 0 }, upstreamUnread: { mean: 0, max: 0 }, samples: 15 },
    ...over,
  };
  return { result, histogram };
}

describe('fan-out phases pooled', () => {
  it('sums counts and CPU, takes latency from the merged histograms, and holds only if every slice held', () => {
    const fast = phase(Array.from({ length: 990 }, () => 500));
    const slow = phase(Array.from({ length: 10 }, () => 20_000), {
      received: 100_000,
      held: false,
      catchUpMs: 700,
      gatewayCpuS: 0.45,
      wallS: 1.5,
      gatewayProbe: { type: 'probe', n: 2, eventLoopDelayUs: { p50: 50, p99: 4_000, p999: 5_000, max: 9_000 }, gc: { count: 3, totalMs: 9, maxMs: 6 }, wakeups: 500, elu: 0.7 },
      subscriberCpuPct: [90, 20],
      gatewayThreadsCpuPct: { main: 20, busiestOther: 6, rest: 4 },
      queues: { clientsUnread: { mean: 3_000, max: 50_000 }, gatewayUnsent: { mean: 0, max: 0 }, upstreamUnread: { mean: 100, max: 900 }, samples: 5 },
    });
    const { result, histogram } = pool([fast, slow]);
    // CPU shares weighted by each slice's length; queues by each slice's samples, the largest kept.
    expect(result.gatewayThreadsCpuPct).toEqual({ main: 30, busiestOther: 7, rest: 3 });
    expect(result.queues.samples).toBe(20);
    expect(result.queues.clientsUnread).toEqual({ mean: 750, max: 50_000 });
    expect(result.queues.upstreamUnread).toEqual({ mean: 25, max: 900 });
    expect(result.bytes).toEqual({ delivered: 144_000_000, upstream: 1_800_000 });
    expect(result.gatewayProbe.elu).toBeCloseTo(0.6, 12); // the phases' mean
    expect(histogram.totalCount).toBe(1_000);
    // 1% of the pooled samples are 20 ms: the pooled p99.9 sees them although the fast slice alone would not.
    expect(result.latencyUs.p50).toBeCloseTo(500, -1);
    expect(result.latencyUs.p999).toBeGreaterThan(19_000);
    expect(result.received).toBe(400_000);
    expect(result.expected).toBe(600_000);
    expect(result.held).toBe(false);
    expect(result.catchUpMs).toBe(700);
    expect(result.gatewayCpuS).toBeCloseTo(1.2, 9);
    expect(result.gatewayCpuPct).toBeCloseTo(40, 9);
    expect(cpuPerMessage(result)).toBeCloseTo(3, 9); // 1.2 s over 400,000 messages
    expect(result.gatewayProbe.gc).toEqual({ count: 4, totalMs: 11, maxMs: 6 });
    expect(result.gatewayProbe.wakeups).toBe(1_500);
    expect(result.gatewayProbe.eventLoopDelayUs).toEqual({ p50: 100, p99: 4_000, p999: 5_000, max: 9_000 });
    expect(result.subscriberCpuPct).toEqual([90, 35]);
  });

  it('has no ring overflow figure when a slice had none (a peer gateway), and the sum otherwise', () => {
    expect(pool([phase([1]), phase([1], { ringOverflow: null })]).result.ringOverflow).toBeNull();
    expect(pool([phase([1], { ringOverflow: 2 }), phase([1], { ringOverflow: 3 })]).result.ringOverflow).toBe(5);
  });
});

describe('fan-out figures', () => {
  it('gives the median and the range of per-pair ratios', () => {
    expect(spread([1.2, 0.5, 0.9])).toBe('0.90× (0.50–1.20×)');
    expect(spread([1, 2, 3, 0.5])).toBe('1.50× (0.50–3.00×)');
  });

  it('gives the load core’s CPU per delivered message beside the gateway’s', () => {
    const p = phase([1]).result; // 70% of a core for 1.5 s over 300,000 messages; the gateway 0.75 s
    expect(loadCpuPerMessage(p)).toBeCloseTo(3.5, 9);
    expect(cpuPerMessage(p)).toBeCloseTo(2.5, 9);
    expect(loadCpuPerMessage(phase([1], { received: 0 }).result)).toBeNaN();
  });

  it('says how long messages waited in the clients’ sockets and in the gateway’s from the exchange (Little’s law)', () => {
    // 48 MB/s delivered with 480 KB queued on the clients' side on average: 10 ms; 600 KB/s upstream with 3 KB unread: 5 ms.
    const p = phase([1], { queues: { clientsUnread: { mean: 400_000, max: 1e6 }, gatewayUnsent: { mean: 80_000, max: 1e5 }, upstreamUnread: { mean: 3_000, max: 4_000 }, samples: 15 } }).result;
    const wait = queueWaitMs(p);
    expect(wait.clients).toBeCloseTo(10, 9);
    expect(wait.upstream).toBeCloseTo(5, 9);
  });

  it('says which side ran out first at a rate not held, from where its messages waited, with the CPU of each side', () => {
    // Mean latency 20 ms (every sample); 48 MB/s through the clients' sockets, 600 KB/s from the exchange.
    const at = (clientsQueued: number, upstreamQueued: number, over: Partial<PhaseResult> = {}) =>
      phase([20_000], {
        rate: 16_000,
        held: false,
        lost: 5,
        queues: { clientsUnread: { mean: clientsQueued, max: clientsQueued }, gatewayUnsent: { mean: 0, max: 0 }, upstreamUnread: { mean: upstreamQueued, max: upstreamQueued }, samples: 15 },
        ...over,
      }).result;
    expect(firstOut('tickwire', at(720_000, 0))).toMatch(/waited 15\.0 ms \(75%\) in the clients’ sockets.*the clients ran out first/);
    expect(firstOut('tickwire', at(0, 9_000))).toMatch(/15\.0 ms \(75%\) in the gateway’s from the exchange.*the gateway ran out first, on its receiving side/);
    expect(firstOut('tickwire', at(96_000, 600, { gatewayCpuPct: 97 }))).toMatch(/the gateway ran out first \(most of the delay was spent inside it/);
    expect(firstOut('tickwire', at(96_000, 600, { gatewayCpuPct: 97 }))).not.toMatch(/neither side/);
    // 3,000 trades over 1.5 s at 50% of a core: a core holds 4.0k trades/s at that CPU per trade.
    expect(firstOut('floor', at(0, 0, { gatewayCpuPct: 50, loadCpuPct: 30 }))).toMatch(/^floor at 16000 trades\/s .*gateway 50% of its core \(main thread 40%.*a core holds ≈ 4\.0k trades\/s.*neither side used its whole core/);
    expect(firstOut('floor', at(0, 0, { queues: { clientsUnread: { mean: NaN, max: NaN }, gatewayUnsent: { mean: NaN, max: NaN }, upstreamUnread: { mean: NaN, max: NaN }, samples: 0 } }))).toMatch(/undecided/);
    expect(firstOut('floor', undefined)).toBe('floor: every rate tried was held');
  });
});

describe('fan-out wake-up cost', () => {
  it('splits CPU per message into a per-message and a per-wake-up part, and says the batching a target needs', () => {
    // 0.5 µs per message plus 400 µs per wake-up over 100 subscribers (4 µs per message at one trade per wake-up).
    const at = (tradesPerWake: number) =>
      phase([1], {
        sent: 6_000,
        received: 600_000,
        gatewayCpuS: (600_000 * (0.5 + 4 / tradesPerWake)) / 1e6,
        gatewayProbe: { type: 'probe', n: 1, eventLoopDelayUs: { p50: 0, p99: 0, p999: 0, max: 0 }, gc: { count: 0, totalMs: 0, maxMs: 0 }, wakeups: 6_000 / tradesPerWake, elu: 0.3 },
      }).result;
    const fit = fitWakeCost([at(2), at(4), at(8), at(16)])!;
    expect(fit.points).toBe(4);
    expect(fit.perMessageUs).toBeCloseTo(0.5, 6);
    expect(fit.perWakeUs).toBeCloseTo(400, 4);
    expect(fit.tradesPerWakeFor(1.5)).toBeCloseTo(4, 6);
    expect(fit.tradesPerWakeFor(0.4)).toBe(Infinity);
    expect(fitWakeCost([at(2), at(4)])).toBeUndefined();
    expect(fitWakeCost([at(4), at(4), at(4)])).toBeUndefined();
    // Noise that makes more batching look dearer gives no split rather than a negative wake-up.
    const noisy = (tradesPerWake: number, cpuUs: number) => ({ ...at(tradesPerWake), gatewayCpuS: (600_000 * cpuUs) / 1e6 });
    expect(fitWakeCost([noisy(2, 1), noisy(8, 1.5), noisy(16, 2)])).toBeUndefined();
  });
});
