/**
 * What a gateway child process (tickwire, the floor, the baseline) says
 * about its own main thread over a measured phase, so the fan-out report
 * can tell where a latency tail comes from with the same figures for every
 * gateway: the event-loop delay (`monitorEventLoopDelay`, 10 ms resolution
 * as tickwire's own `event_loop_delay` stage, the resolution taken off),
 * the garbage-collection pauses (`PerformanceObserver` gc entries: the main
 * thread's isolate only, not a worker's), and the main thread's wake-ups
 * (voluntary context switches: each is one sleep in epoll or a futex and
 * one wake, `/proc/thread-self/status`, Linux), and its event-loop
 * utilization. The fan-out and HTTP benchmarks read the same probe.
 *
 * Protocol over the child's IPC channel: `{type:'probe-reset', n}` starts a
 * phase (answered `{type:'probe-reset', n}`), `{type:'probe', n}` answers a
 * `GatewayProbe` for the time since, with the same `n`: an answer that comes
 * after its request was given up is told apart from the next one's.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { nextMessage } from './peers.ts';

/** One phase of a gateway's main thread: event-loop delay (µs), GC pauses (ms), wake-ups. */
export interface GatewayProbe {
  type: 'probe';
  /** The request's `n`, echoed: an answer that came too late for its request is told apart. */
  n: number;
  eventLoopDelayUs: { p50: number; p99: number; p999: number; max: number };
  gc: { count: number; totalMs: number; maxMs: number };
  /** Voluntary context switches of the main thread (its wake-ups from a sleep); NaN where /proc does not say. */
  wakeups: number;
  /** Event-loop utilization of the main thread over the phase (0–1). */
  elu: number;
}

const RESOLUTION_MS = 10;

/** Answer the parent's probe requests from now on (call once, in the child, after `process.send` exists). */
export function answerProbes(): void {
  const eld = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  eld.enable();
  let count = 0;
  let totalMs = 0;
  let maxMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      count++;
      totalMs += e.duration;
      if (e.duration > maxMs) maxMs = e.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  let wakeups0 = voluntarySwitches();
  let elu0 = performance.eventLoopUtilization();
  process.on('message', (m: { type?: string; n?: number }) => {
    if (m.type === 'probe-reset') {
      eld.reset();
      count = 0;
      totalMs = 0;
      maxMs = 0;
      wakeups0 = voluntarySwitches();
      elu0 = performance.eventLoopUtilization();
      process.send!({ type: 'probe-reset', n: m.n ?? 0 });
    } else if (m.type === 'probe') {
      // The histogram holds the whole interval between samples (ns): the resolution is not delay.
      const us = (ns: number) => (eld.count === 0 ? NaN : Math.max(0, Math.round(ns / 1000 - RESOLUTION_MS * 1000)));
      const probe: GatewayProbe = {
        type: 'probe',
        n: m.n ?? 0,
        eventLoopDelayUs: { p50: us(eld.percentile(50)), p99: us(eld.percentile(99)), p999: us(eld.percentile(99.9)), max: us(eld.max) },
        gc: { count, totalMs: Number(totalMs.toFixed(2)), maxMs: Number(maxMs.toFixed(2)) },
        wakeups: voluntarySwitches() - wakeups0,
        elu: performance.eventLoopUtilization(elu0).utilization,
      };
      process.send!(probe);
    }
  });
}

/** The calling thread's voluntary context switches so far; NaN off Linux. */
function voluntarySwitches(): number {
  try {
    const m = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync('/proc/thread-self/status', 'utf8'));
    return m === null ? NaN : Number(m[1]);
  } catch {
    return NaN;
  }
}

let probes = 0;

/** In the orchestrator: run `work` as one probed phase of `child` (a process calling `answerProbes`); its result and the probe. */
export async function probed<T>(child: ChildProcess, work: () => Promise<T>): Promise<{ result: T; probe: GatewayProbe }> {
  const n = ++probes;
  const reset = nextMessage(child, numbered('probe-reset', n), 10_000, 'probe reset');
  child.send({ type: 'probe-reset', n });
  await reset;
  const result = await work();
  // gc entries reach the observer a turn after the pause: ask once the work's last turn is over.
  await new Promise((r) => setTimeout(r, 20));
  const answer = nextMessage(child, numbered<GatewayProbe>('probe', n), 10_000, 'probe');
  child.send({ type: 'probe', n });
  return { result, probe: await answer };
}

/** A matcher for the child's answer `type` to request `n` (nextMessage). */
export function numbered<T extends { type: string; n: number } = { type: string; n: number }>(type: string, n: number): (m: unknown) => m is T {
  return (m: unknown): m is T => typeof m === 'object' && m !== null && (m as T).type === type && (m as T).n === n;
}
