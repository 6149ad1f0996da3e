/**
 * What the runtime tracks of one exchange's feed beside the supervisor's
 * totals: the connection state and since when, the message rate between two
 * status reports and the parse latency merged from them; and the
 * `ExchangeStatus` and health verdict assembled from all of it.
 */
import type * as hdr from 'hdr-histogram-js';
import type { WorkerStatus } from '../feed/protocol.ts';
import type { FeedSupervisor } from '../feed/supervisor.ts';
import { nowMs } from '../model/clock.ts';
import { newLatencyHistogram } from '../reader/pump.ts';
import { mergeReported } from './latency.ts';
import type { ExchangeState, ExchangeStatus } from '../model/status.ts';

export class FeedStatus {
  readonly name: string;
  /** Exchange-native symbols, in configuration order. */
  readonly native: readonly string[];
  /** Parse time per frame, µs, merged from the worker's reports. */
  readonly parse: hdr.Histogram = newLatencyHistogram();
  state: ExchangeState = 'stopped';
  private stateSince = performance.now();
  /** Frames per second between the last two status reports. */
  private rate = 0;
  private rateAt = performance.now();
  private rateFrames = 0;

  constructor(name: string, native: readonly string[]) {
    this.name = name;
    this.native = native;
  }

  /** Record a state change (same state: keeps the time it was entered). */
  setState(state: ExchangeState): void {
    if (this.state === state) return;
    this.state = state;
    this.stateSince = performance.now();
  }

  /** Take a worker's status report: its parse histogram, the rate since the last report (from the supervisor's frame total), its state. */
  report(status: WorkerStatus, frames: number): void {
    mergeReported(this.parse, status.parseHistogram);
    const now = performance.now();
    if (now > this.rateAt) this.rate = Math.round(((frames - this.rateFrames) * 10_000) / (now - this.rateAt)) / 10;
    this.rateAt = now;
    this.rateFrames = frames;
    this.setState(status.state);
  }

  /** Why this exchange makes health 'unavailable' at `now` (not connected for longer than `graceMs`), or undefined. */
  unhealthy(now: number, graceMs: number): string | undefined {
    if (this.state === 'connected' || !(now - this.stateSince > graceMs)) return undefined;
    return `${this.name}: ${this.state} for ${Math.round((now - this.stateSince) / 1000)} s`;
  }

  /** The exchange's status: this tracking, the supervisor's totals and last report, and the rings' overflow. */
  status(sup: FeedSupervisor | undefined, ringOverflow: number): ExchangeStatus {
    const last = sup?.last;
    const totals = sup?.totals;
    const lastFrameAt = last?.lastFrameAt ?? NaN;
    return {
      exchange: this.name,
      state: sup?.restarting === true ? 'restarting' : this.state,
      symbols: [...this.native],
      reconnects: totals?.reconnects ?? 0,
      restarts: sup?.restarts ?? 0,
      lastMessageAgeMs: lastFrameAt === lastFrameAt ? Math.max(0, Math.round(nowMs() - lastFrameAt)) : null,
      messageRate: this.rate,
      clockOffsetMs: last?.clockOffsetMs ?? 0,
      messages: totals?.frames ?? 0,
      trades: totals?.trades ?? 0,
      quotes: totals?.quotes ?? 0,
      parseErrors: totals?.parseErrors ?? 0,
      lateTradesDropped: totals?.lateTradesDropped ?? 0,
      duplicateTradesDropped: totals?.duplicateTradesDropped ?? 0,
      recoveredTrades: totals?.recoveredTrades ?? 0,
      unrecoveredGaps: totals?.unrecoveredGaps ?? 0,
      ringOverflow,
      lastError: last?.lastError ?? null,
      lastCrash: sup?.lastCrash ?? null,
    };
  }
}
