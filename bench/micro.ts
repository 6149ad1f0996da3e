/**
 * The micro-benchmarks (tinybench, one thread): each suite's cases, then one
 * figure per case in ns per unit. A case that names a `peer` case is
 * tickwire's side of a comparison and its figure carries the peer's time and
 * the ratio (peer time / tickwire time: times faster).
 */
import { aggregatorBench } from './aggregator.bench.ts';
import { analyticsBench } from './analytics.bench.ts';
import { barStoreBench } from './bar-store.bench.ts';
import { encodeBench } from './encode.bench.ts';
import { setTimePerCase, timePerCase, type Row } from './harness.ts';
import { parseBench } from './parse.bench.ts';
import type { Profile } from './profile.ts';
import { figure, type Figure } from './report.ts';
import { tickRingBench } from './tick-ring.bench.ts';

/** Suites by name (the names `npm run bench -- <filter>` matches). */
export const MICRO_SUITES: Readonly<Record<string, (profile: Profile) => Row[]>> = {
  parse: (p) => parseBench(p.microVenues),
  aggregator: () => aggregatorBench(),
  'tick-ring': () => tickRingBench(),
  'bar-store': () => barStoreBench(),
  encode: () => encodeBench(),
  analytics: () => analyticsBench(),
};

/**
 * Turn rows into figures: peers paired by id. A row that only serves as a
 * peer is not repeated as a figure of its own; one that is compared with a
 * peer itself (JSON text, the peer of FlatBuffers) stays.
 */
export function microFigures(rows: readonly Row[]): Figure[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const peers = new Set(rows.flatMap((r) => (r.peer !== undefined && byId.has(r.peer) ? [r.peer] : [])));
  return rows
    .filter((r) => !peers.has(r.id) || r.peer !== undefined)
    .map((r) => {
      const peer = r.peer === undefined ? undefined : byId.get(r.peer);
      return figure({
        id: `micro.${r.id}`,
        group: 'micro',
        name: r.name,
        value: r.meanNs,
        unit: `ns/${r.unit}`,
        better: 'lower',
        peer: peer === undefined ? null : { name: peer.name, value: peer.meanNs },
        note: `±${r.rmePct.toFixed(1)}%, ${r.samples} samples of ${r.batch}`,
      });
    });
}

/** Run the selected suites; `log` gets one line per suite. */
export function microBench(profile: Profile, suites: readonly string[], log: (line: string) => void): { figures: Figure[]; details: unknown } {
  setTimePerCase(profile.microTimeMs);
  const rows: Row[] = [];
  for (const name of suites) {
    const t0 = performance.now();
    rows.push(...MICRO_SUITES[name]!(profile));
    log(`micro ${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return { figures: microFigures(rows), details: { timePerCaseMs: timePerCase(), rows } };
}
