/**
 * Where an edge's live messages spend their time (`/v1/latency` on an edge,
 * µs, per exchange; docs/scale-out.md "Benchmarks"):
 *
 * | stage | from → to |
 * | --- | --- |
 * | `feed_to_store` | the feed's worker received the exchange frame (`recvTs`) → JetStream stored the message (trades and quotes) |
 * | `store_to_edge` | JetStream stored it → this edge's consumer received it |
 * | `edge_publish` | received → handed to the subscribers' sockets (decode, fencing, the stream's publish) |
 *
 * The first two compare clocks of different processes (and machines, in a
 * real cluster): read them for where time goes, not as exact figures. One
 * HDR histogram per stage and exchange, made at start: recording allocates
 * nothing.
 */
import * as hdr from 'hdr-histogram-js';
import { summarize } from '../api/latency.ts';
import type { LatencyReport } from '../model/status.ts';

const STAGES = ['feed_to_store', 'store_to_edge', 'edge_publish'] as const;
type Stage = (typeof STAGES)[number];

function histogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
}

/** The three stages' histograms of every exchange; see the module comment. */
export class EdgeLatency {
  readonly #stages = new Map<Stage, Map<string, hdr.Histogram>>();

  constructor(exchanges: readonly string[]) {
    for (const stage of STAGES) this.#stages.set(stage, new Map(exchanges.map((e) => [e, histogram()])));
  }

  /**
   * One live message of `exchange`: its frame's receive time at the feed (ms
   * since the epoch; NaN for bars), when JetStream stored it (ns since the
   * epoch), when this edge received it and when it was published (ms since
   * the epoch, sub-millisecond).
   */
  record(exchange: string, recvTs: number, storedNanos: number, receivedMs: number, publishedMs: number): void {
    const storedMs = storedNanos / 1e6;
    if (recvTs > 0) this.#add('feed_to_store', exchange, storedMs - recvTs);
    this.#add('store_to_edge', exchange, receivedMs - storedMs);
    this.#add('edge_publish', exchange, publishedMs - receivedMs);
  }

  /** Each stage's percentiles per exchange, µs (stages with no message yet are left out); with `histograms`, each histogram too. */
  report(histograms = false): LatencyReport {
    const out: LatencyReport = {};
    for (const [stage, byExchange] of this.#stages) {
      for (const [exchange, h] of byExchange) {
        if (h.totalCount === 0) continue;
        (out[stage] ??= {})[exchange] = summarize(h, histograms);
      }
    }
    return out;
  }

  #add(stage: Stage, exchange: string, ms: number): void {
    // A clock step between processes can make a stage negative: counted as the smallest value.
    this.#stages.get(stage)!.get(exchange)?.recordValue(Math.min(600_000_000, Math.max(1, Math.round(ms * 1000))));
  }
}
