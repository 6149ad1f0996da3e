/**
 * Ingest: real-shaped Binance @trade frames per second through one exchange
 * worker's whole per-frame path (parse, aggregate every timeframe, ring
 * write; see ingest-tickwire-worker.ts), against tardis-dev's Binance
 * normalizer plus its trade-bar computation on the same frames
 * (ingest-tardis-worker.ts). Frames come from memory, never a socket.
 *
 * Placement: each pipeline in a worker thread of its own; for tickwire the
 * main thread drains the rings as the pump would (so both cores are in use:
 * producer and consumer). The figure is the median of the timed rounds.
 */
import { Doorbell } from '../src/buffers/doorbell.ts';
import { ingestParts, type IngestPart } from './ingest-parts.ts';
import { INGEST_SEED, INGEST_SYMBOLS, INGEST_TIMEFRAMES, ingestRings } from './ingest-setup.ts';
import { nextMessage, ofType, startWorker } from './load/peers.ts';
import type { Profile } from './profile.ts';
import { figure, type Figure } from './report.ts';

export { INGEST_SYMBOLS, INGEST_TIMEFRAMES };

/** What an ingest worker is started with. */
export interface IngestWorkerData {
  frames: number;
  symbols: string[];
  timeframes: string[];
  seed: number;
  rounds: number;
  warmupRounds: number;
  /** Closed bars per series (tickwire). */
  history: number;
}

/** One timed pass over all frames. */
export interface IngestRound {
  ms: number;
  /** CPU time the worker thread used during the round, ms (bench/threads.ts threadCpuMs: 4 ms steps here; NaN off Linux). */
  cpuMs: number;
  frames: number;
  trades: number;
  /** Frames not taken as data (should be 0). */
  malformed: number;
  /** Records dropped by a full ring during the round (tickwire; must be 0). */
  overflow: number;
  /** Bars the peer produced (tardis). */
  bars?: number;
  /** Garbage collections during the round (PerformanceObserver gc entries; bench/gc-count.ts) and their total pause, ms. */
  gcs: number;
  gcMs: number;
  /** Parse time per frame, µs (tickwire's own histogram, as /v1/latency reports it). */
  parseP50Us?: number;
  parseP99Us?: number;
}


type RoundMsg = { type: 'round'; round: IngestRound };
type DoneMsg = { type: 'done' };

/** Run one worker to completion, collecting its rounds (each logged as it comes). */
async function rounds(worker: ReturnType<typeof startWorker>, expect: number, what: string, timeoutMs: number, log: (line: string) => void): Promise<IngestRound[]> {
  const got: IngestRound[] = [];
  worker.on('message', (m: unknown) => {
    if (!ofType<RoundMsg>('round')(m)) return;
    got.push(m.round);
    log(`  ${what}: round ${got.length}/${expect}, ${Math.round(perSecond(m.round)).toLocaleString('en')} trades/s`);
  });
  try {
    await nextMessage(worker, ofType<DoneMsg>('done'), timeoutMs, what);
  } finally {
    await worker.terminate();
  }
  if (got.length !== expect) throw new Error(`${what}: ${got.length} rounds, expected ${expect}`);
  return got;
}

/** The tickwire pipeline, with the main thread draining its rings. */
async function tickwireRounds(
  data: IngestWorkerData,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<{ rounds: IngestRound[]; drained: { ticks: number; barEvents: number }; overflow: number }> {
  const rings = ingestRings(data.symbols.length * data.timeframes.length);
  const { drained, drain } = rings;
  const listener = new Doorbell(rings.shared.doorbell).listen(drain);
  const worker = startWorker(new URL('./ingest-tickwire-worker.ts', import.meta.url), { ...data, ...rings.shared });
  let got: IngestRound[];
  try {
    got = await rounds(worker, data.rounds, 'tickwire', timeoutMs, log);
  } finally {
    await listener.stop();
    drain();
  }
  return { rounds: got, drained, overflow: rings.ticks.overflow() };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const perSecond = (r: IngestRound) => (r.trades * 1000) / r.ms;
const sum = (rounds: readonly IngestRound[], key: 'gcs' | 'gcMs' | 'trades') => rounds.reduce((a, r) => a + r[key], 0);
/** GCs per million trades over all timed rounds. */
const gcPerMillion = (rounds: readonly IngestRound[]) => (sum(rounds, 'gcs') * 1e6) / sum(rounds, 'trades');
/** The worker thread's CPU time per trade, ns. */
const cpuPerTrade = (r: IngestRound) => (r.cpuMs * 1e6) / r.trades;

/** Run the ingest comparison; `log` gets one line per finished pipeline. */
export async function ingestBench(profile: Profile, log: (line: string) => void): Promise<{ figures: Figure[]; details: unknown }> {
  const base: IngestWorkerData = {
    frames: profile.ingest.frames,
    symbols: INGEST_SYMBOLS,
    timeframes: INGEST_TIMEFRAMES,
    seed: INGEST_SEED,
    rounds: profile.ingest.rounds,
    warmupRounds: profile.ingest.warmupRounds,
    history: 1000,
  };
  const timeoutMs = 600_000;

  const tw = await tickwireRounds(base, timeoutMs, log);
  const totalTrades = tw.rounds.reduce((a, r) => a + r.trades, 0);
  const problems = tw.rounds.filter((r) => r.malformed > 0 || r.trades !== r.frames);
  if (problems.length > 0) throw new Error(`tickwire ingest: frames not all taken as trades: ${JSON.stringify(problems)}`);
  const written = totalTrades + base.frames * base.warmupRounds - tw.overflow;
  if (tw.drained.ticks !== written) throw new Error(`tickwire ingest: the main thread drained ${tw.drained.ticks} tick records, the worker wrote ${written}`);
  const twRate = median(tw.rounds.map(perSecond));
  log(`ingest tickwire: ${(twRate / 1e6).toFixed(2)} M trades/s (median of ${tw.rounds.length})`);

  const direct = await rounds(
    startWorker(new URL('./ingest-tardis-worker.ts', import.meta.url), { ...base, mode: 'direct' }),
    base.rounds,
    'tardis-dev direct',
    timeoutMs,
    log,
  );
  const directRate = median(direct.map(perSecond));
  log(`ingest tardis-dev direct: ${(directRate / 1e6).toFixed(3)} M trades/s`);
  const viaCompute = await rounds(
    startWorker(new URL('./ingest-tardis-worker.ts', import.meta.url), { ...base, mode: 'compute' }),
    base.rounds,
    'tardis-dev compute()',
    timeoutMs,
    log,
  );
  const computeRate = median(viaCompute.map(perSecond));
  log(`ingest tardis-dev compute(): ${(computeRate / 1e6).toFixed(3)} M trades/s`);
  for (const r of [...direct, ...viaCompute]) {
    if (r.trades !== r.frames) throw new Error(`tardis-dev ingest: ${r.trades} trades from ${r.frames} frames`);
  }

  const parts = await ingestParts(REPORTED_PARTS, { symbols: INGEST_SYMBOLS, timeframes: INGEST_TIMEFRAMES, seed: INGEST_SEED, frames: Math.min(base.frames, 200_000), rounds: 3, passes: 2 });
  // The lowest round per part: another thread's work only ever adds to a thread's CPU time (a busy spell of the
  // machine took one pass of some parts from ~360 to ~715 ns, parse alone, in a quick run), and each part has as many rounds.
  const partsNs = new Map([...parts].map(([part, ns]) => [part, Math.min(...ns)]));
  log(`ingest parts (worker CPU per frame, ns, lowest round): ${[...partsNs].map(([part, ns]) => `${part} ${ns.toFixed(0)}`).join(', ')}`);

  const overflow = tw.rounds.reduce((a, r) => a + r.overflow, 0);
  const what = `${INGEST_SYMBOLS.length} symbols, ${INGEST_TIMEFRAMES.length} timeframes (${INGEST_TIMEFRAMES.join(' ')})`;
  const figures = [
    figure({
      id: 'ingest.trades_per_s',
      group: 'ingest',
      name: `ingest, one worker: parse + ${INGEST_TIMEFRAMES.length} timeframes + ring write`,
      value: twRate,
      unit: 'trades/s',
      better: 'higher',
      peer: { name: 'tardis-dev normalizeTrades + computeTradeBars (direct, sync)', value: directRate },
      goals: [{ text: '≥ 1.5 M trades/s per worker (where the machine is quiet)', on: 'value', op: '>=', threshold: 1.5e6 }],
      note: `${what}; median of ${tw.rounds.length} rounds of ${base.frames} frames; ring overflow ${overflow}`,
    }),
    figure({
      id: 'ingest.trades_per_s_vs_compute',
      group: 'ingest',
      name: 'ingest, one worker, vs tardis-dev as its users write it',
      value: twRate,
      unit: 'trades/s',
      better: 'higher',
      peer: { name: 'tardis-dev compute(normalized stream, computeTradeBars…)', value: computeRate },
    }),
    figure({
      id: 'ingest.cpu_per_trade',
      group: 'ingest',
      name: `ingest, worker thread CPU time per trade (parse + ${INGEST_TIMEFRAMES.length} timeframes + ring write)`,
      value: median(tw.rounds.map(cpuPerTrade)),
      unit: 'ns',
      better: 'lower',
      peer: { name: 'tardis-dev normalizeTrades + computeTradeBars (direct, sync)', value: median(direct.map(cpuPerTrade)) },
      // Issue 12, goal 1, as it states them: the headline is CPU per trade, the ratio is on that same figure.
      goals: [
        { text: 'worker CPU per trade ≤ 0.7 µs with 6 timeframes', on: 'value', op: '<=', threshold: 700 },
        { text: '≥ 3× better than tardis-dev’s CPU per trade in the same run', on: 'ratio', op: '>=', threshold: 3 },
      ],
      note: `${what}; the pipeline thread only (not tickwire’s ring consumer); median of ${tw.rounds.length} rounds; CPU time is the figure least disturbed by other work on the machine`,
    }),
    figure({
      id: 'ingest.gc_per_million_trades',
      group: 'ingest',
      name: 'ingest, garbage collections in the worker per million trades (steady state)',
      value: gcPerMillion(tw.rounds),
      unit: 'GCs',
      better: 'lower',
      peer: { name: 'tardis-dev normalizeTrades + computeTradeBars (direct, sync)', value: gcPerMillion(direct) },
      goals: [{ text: 'zero GC in the worker’s steady state', on: 'value', op: '==', threshold: 0 }],
      note: `PerformanceObserver gc entries during the timed rounds: ${sum(tw.rounds, 'gcs')} GCs (${sum(tw.rounds, 'gcMs').toFixed(1)} ms of pauses) over ${totalTrades.toLocaleString('en')} trades; tardis-dev ${sum(direct, 'gcs')} over ${sum(direct, 'trades').toLocaleString('en')}`,
    }),
    figure({
      id: 'ingest.ring_overflow',
      group: 'ingest',
      name: 'ingest, tick/bar-event ring overflow',
      value: overflow,
      unit: 'records',
      better: 'lower',
      goals: [{ text: 'zero ring overflow', on: 'value', op: '==', threshold: 0 }],
    }),
    ...partFigures(partsNs),
  ];
  return {
    figures,
    details: {
      parts: Object.fromEntries(parts),
      symbols: INGEST_SYMBOLS,
      timeframes: INGEST_TIMEFRAMES,
      frames: base.frames,
      tickwire: tw.rounds,
      drained: tw.drained,
      tardisDirect: direct,
      tardisCompute: viaCompute,
    },
  };
}

/** The parts of the worker's path the report shows (bench/ingest-parts.ts), and what each figure is. */
const REPORTED_PARTS: readonly IngestPart[] = ['whole', 'no-wakeup', 'no-bar-writes', 'no-bars', 'parse-only', 'read-only'];
const PART_NAMES: Record<string, string> = {
  whole: 'the whole path (a second measure of the figure above, beside its parts)',
  'no-wakeup': 'without waking the main thread (it polls every 1 ms instead of parking)',
  'no-bar-writes': 'without the aggregation’s writes to shared memory',
  'no-bars': 'without the aggregation (no bar touched or written)',
  'parse-only': '`BinanceAdapter.parse` alone, into a handler keeping nothing',
  'read-only': 'a loop only reading every character of the frames',
};

/** One figure per part: the worker CPU per frame with that part taken out, and the part's share (the whole's figure minus it). */
function partFigures(ns: ReadonlyMap<IngestPart, number>): Figure[] {
  const whole = ns.get('whole')!;
  return [...ns].map(([part, value]) =>
    figure({
      id: `ingest.parts.${part}`,
      group: 'ingest',
      name: `ingest, where the worker’s time goes: ${PART_NAMES[part]}`,
      value,
      unit: 'ns',
      better: 'lower',
      note: partNote(part, value, whole, ns.get('read-only')),
    }),
  );
}

/** What a part's figure says about the whole (same run, lowest rounds). */
function partNote(part: IngestPart, value: number, whole: number, readOnly: number | undefined): string {
  if (part === 'whole') return 'worker CPU per frame (one trade each), the lowest of 6 rounds (other work only ever adds to it); every part in a worker of its own, the parts taking turns over 2 passes (bench/ingest-parts.ts)';
  if (part === 'read-only') return 'what any parser of these frames pays at least: each character read once, nothing decided';
  if (part === 'parse-only') return `${(value / whole * 100).toFixed(0)}% of the whole’s ${whole.toFixed(0)} ns${readOnly === undefined ? '' : `; ${(value / readOnly).toFixed(2)}× reading every character`}`;
  return `the part taken out costs ${(whole - value).toFixed(0)} ns of the whole’s ${whole.toFixed(0)}`;
}
