/**
 * The round loop both ingest workers share: untimed warm-up rounds, then
 * timed ones, each posted as an `IngestRound` with the garbage collections
 * that started during it (the young generation emptied before it: its own
 * allocations only), then `done`.
 */
import type { MessagePort } from 'node:worker_threads';
import { emptyNursery, GcCounter, settle } from './gc-count.ts';
import type { IngestRound } from './ingest.ts';

/** What one pass reports before its GCs are counted: `t0` is its start (performance.now()). */
export type TimedRound = Omit<IngestRound, 'gcs' | 'gcMs'> & { t0: number };

/** Run `warmup` then `rounds` passes of `run`, posting each timed one to `port`. */
export async function postRounds(port: MessagePort, warmup: number, rounds: number, run: () => TimedRound | Promise<TimedRound>): Promise<void> {
  const gc = new GcCounter();
  for (let r = 0; r < warmup; r++) await run();
  for (let r = 0; r < rounds; r++) {
    emptyNursery(); // the round's GCs are then its own
    const { t0, ...result } = await run();
    await settle();
    const { count, ms } = gc.between(t0, t0 + result.ms);
    port.postMessage({ type: 'round', round: { ...result, gcs: count, gcMs: ms } satisfies IngestRound });
  }
  gc.close();
  port.postMessage({ type: 'done' });
}
