/**
 * What a server under test did with its main thread during one measured
 * run, told over IPC so a tail latency can be put down to its cause:
 * garbage-collection pauses (count, total, longest) and event-loop
 * utilization. Cheap enough to leave on: a `PerformanceObserver` on gc
 * entries (no timer, nothing per request).
 *
 * The orchestrator sends `{type:'probe-start'}` before a run and
 * `{type:'probe-stop'}` after it; the server answers the second with
 * `{type:'probe', ...ServerProbe}`.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import type { ChildProcess } from 'node:child_process';
import { nextMessage, ofType } from './peers.ts';

/** The server's main thread over one run. */
export interface ServerProbe {
  gcCount: number;
  /** Sum of the pauses, ms. */
  gcMs: number;
  /** The longest pause, ms. */
  gcMaxMs: number;
  /** Event-loop utilization of the main thread over the run (0–1). */
  elu: number;
}

/** In the server: answer `probe-start` / `probe-stop` with what its main thread did in between. */
export function answerProbes(): void {
  let from = -1;
  let gc = { gcCount: 0, gcMs: 0, gcMaxMs: 0 };
  let elu0 = performance.eventLoopUtilization();
  const observer = new PerformanceObserver((list) => {
    if (from < 0) return;
    for (const e of list.getEntries()) {
      if (e.startTime < from) continue;
      gc.gcCount++;
      gc.gcMs += e.duration;
      gc.gcMaxMs = Math.max(gc.gcMaxMs, e.duration);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  process.on('message', (m: { type?: string }) => {
    if (m.type === 'probe-start') {
      from = performance.now();
      gc = { gcCount: 0, gcMs: 0, gcMaxMs: 0 };
      elu0 = performance.eventLoopUtilization();
    } else if (m.type === 'probe-stop') {
      const elu = performance.eventLoopUtilization(elu0).utilization;
      // gc entries reach the observer a turn later: answer after one.
      setTimeout(() => {
        from = -1;
        process.send?.({ type: 'probe', ...gc, elu } satisfies ServerProbe & { type: 'probe' });
      }, 20);
    }
  });
}

/** In the orchestrator: run `work` between a probe's start and stop on `server`; its result and the probe. */
export async function probed<T>(server: ChildProcess, work: () => Promise<T>): Promise<{ result: T; probe: ServerProbe }> {
  server.send({ type: 'probe-start' });
  const result = await work();
  const answer = nextMessage(server, ofType<ServerProbe & { type: 'probe' }>('probe'), 10_000, 'server probe');
  server.send({ type: 'probe-stop' });
  const { type: _, ...probe } = await answer;
  return { result, probe };
}
