/**
 * Where the ingest worker's time goes: the ingest benchmark's per-frame path
 * (parse, 6 timeframes, ring write, the doorbell) with one part taken out at
 * a time (bench/ingest-parts-worker.ts says what each is), each in a worker
 * of its own (so no part's code makes another's call sites polymorphic), the
 * parts taking turns pass by pass (A B … then … B A) so a busy spell of the
 * machine falls on all of them. The main thread drains the rings as in the
 * ingest benchmark. A part's share is the whole's figure minus the part's,
 * from the same run.
 *
 * The ingest benchmark runs it after its rounds (`ingestParts`) and reports
 * each part's figure; alone, for the next person working on the path:
 *
 *   npx tsx bench/ingest-parts.ts [part,part,…] [--passes N] [--rounds N] [--frames N]
 *
 * prints the worker CPU time per frame of each part, median and lowest.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Doorbell } from '../src/buffers/doorbell.ts';
import type { IngestWorkerData } from './ingest.ts';
import { INGEST_SEED, INGEST_SYMBOLS, INGEST_TIMEFRAMES, ingestRings, type IngestRings } from './ingest-setup.ts';
import { startWorker } from './load/peers.ts';

export const INGEST_PARTS = ['whole', 'no-wakeup', 'no-ticks', 'no-bars', 'no-bar-writes', 'clock-per-frame', 'parse-only', 'read-only'] as const;
export type IngestPart = (typeof INGEST_PARTS)[number];

/** What a parts worker is started with (plus its `part`). */
export interface IngestPartsData extends Omit<IngestWorkerData, 'history'> {
  shared: IngestRings['shared'];
  /** A doorbell no thread listens to (`no-wakeup`). */
  unheard: SharedArrayBuffer;
}

/** How to run the parts: the symbols, timeframes and seed of the frames, frames per round, timed rounds per worker, passes over the parts. */
export interface IngestPartsOptions {
  symbols: string[];
  timeframes: string[];
  seed: number;
  frames: number;
  rounds: number;
  passes: number;
}

/** Worker CPU time per frame of each part, ns, one entry per timed round (every pass's). */
export async function ingestParts(parts: readonly IngestPart[], options: IngestPartsOptions): Promise<Map<IngestPart, number[]>> {
  const rings = ingestRings(options.symbols.length * options.timeframes.length);
  const listener = new Doorbell(rings.shared.doorbell).listen(rings.drain);
  const poll = setInterval(rings.drain, 1); // `no-wakeup`'s consumer: polls, never parks, so its producer never notifies
  const base: IngestPartsData = {
    frames: options.frames,
    symbols: options.symbols,
    timeframes: options.timeframes,
    seed: options.seed,
    rounds: options.rounds,
    warmupRounds: 2,
    shared: rings.shared,
    unheard: Doorbell.allocate(),
  };
  const perFrame = new Map<IngestPart, number[]>(parts.map((p) => [p, []]));
  try {
    for (let pass = 0; pass < options.passes; pass++) {
      for (const part of pass % 2 === 0 ? parts : [...parts].reverse()) {
        const worker = startWorker(new URL('./ingest-parts-worker.ts', import.meta.url), { ...base, part });
        try {
          perFrame.get(part)!.push(
            ...(await new Promise<number[]>((resolve, reject) => {
              worker.once('message', resolve);
              worker.once('error', reject);
            })),
          );
        } finally {
          await worker.terminate();
        }
      }
    }
  } finally {
    clearInterval(poll);
    await listener.stop();
  }
  return perFrame;
}

/** The median of `xs` (the upper one for an even count). */
export const medianOf = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { passes: { type: 'string', default: '2' }, rounds: { type: 'string', default: '4' }, frames: { type: 'string', default: '200000' } },
  });
  const parts = (positionals[0]?.split(',') ?? [...INGEST_PARTS]) as IngestPart[];
  for (const p of parts) if (!INGEST_PARTS.includes(p)) throw new Error(`unknown part ${p}: one of ${INGEST_PARTS.join(', ')}`);
  const frames = Number(values.frames);
  const load0 = os.loadavg()[0]!;
  const perFrame = await ingestParts(parts, { symbols: INGEST_SYMBOLS, timeframes: INGEST_TIMEFRAMES, seed: INGEST_SEED, frames, rounds: Number(values.rounds), passes: Number(values.passes) });
  console.log(`ingest worker CPU per frame (one trade each), ns; load average ${load0.toFixed(2)} -> ${os.loadavg()[0]!.toFixed(2)}; ${frames} frames per round`);
  console.log(`${'part'.padEnd(16)} ${'median'.padStart(7)} ${'lowest'.padStart(7)} rounds`);
  for (const [part, ns] of perFrame) console.log(`${part.padEnd(16)} ${medianOf(ns).toFixed(0).padStart(7)} ${Math.min(...ns).toFixed(0).padStart(7)} ${ns.length}`);
}
