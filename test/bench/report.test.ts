/**
 * The benchmark harness, not performance: figures and goals, the report
 * writer (JSON fields, Markdown, SVG) on synthetic figures, the percentile
 * sampling the plot draws, and the micro figures' peer pairing.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { Row } from '../../bench/harness.ts';
import { distribution, merge, summarize } from '../../bench/load/latency.ts';
import { microFigures } from '../../bench/micro.ts';
import { figure, fmtUnit, markdown, ratioOf, reportPaths, writeReport, type Report } from '../../bench/report.ts';
import { nines, percentileSvg } from '../../bench/svg.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function syntheticReport(): Report {
  return {
    schema: 'tickwire-bench/1',
    profile: 'quick',
    only: [],
    startedAt: '2026-01-02T03:04:05.000Z',
    durationS: 12.5,
    environment: {
      node: 'v20.20.2', v8: '11.3', cpu: 'Test CPU', cores: 2, platform: 'linux', memoryGiB: 8,
      loadAverageStart: 0.1, loadAverageEnd: 0.2, commit: 'abc1234', dirty: false, versions: { ws: '8.0.0' },
    },
    placement: { fanout: 'gateway on CPU 1' },
    frames: 'recorded',
    figures: [
      figure({
        id: 'ingest.trades_per_s', group: 'ingest', name: 'ingest', value: 2e6, unit: 'trades/s', better: 'higher',
        peer: { name: 'tardis-dev', value: 2.5e5 },
        goals: [
          { text: '≥ 1.5 M trades/s per worker', on: 'value', op: '>=', threshold: 1.5e6 },
          { text: '≥ 5× the tardis-dev pipeline', on: 'ratio', op: '>=', threshold: 5 },
        ],
      }),
      figure({
        id: 'fanout.rated.p99', group: 'fanout', name: 'latency p99', value: 1500, unit: 'µs', better: 'lower',
        peer: { name: 'baseline', value: 6000 }, goals: [{ text: 'p99 < 1 ms', on: 'value', op: '<', threshold: 1000 }],
        note: 'ratio per pair of slices: median 1.10× (0.90–1.30×)',
      }),
      figure({ id: 'micro.x', group: 'micro', name: 'x', value: 10, unit: 'ns/op', better: 'lower' }),
    ],
    distributions: {
      tickwire: [[0, 100], [50, 150], [90, 200], [99, 400], [99.9, 900], [100, 1200]],
      baseline: [[0, 3000], [50, 8000], [90, 9000], [99, 11000], [99.9, 12000], [100, 20000]],
    },
    details: {},
    notes: ['a note'],
  };
}

describe('bench report: figures and goals', () => {
  it('derives the ratio as times better than the peer, whatever the unit', () => {
    expect(ratioOf(200, 100, 'higher')).toBe(2);
    expect(ratioOf(100, 200, 'lower')).toBe(2);
    expect(ratioOf(5, 0, 'higher')).toBeNaN();
    const f = figure({ id: 'a', group: 'http', name: 'a', value: 30, unit: 'req/s', better: 'higher', peer: { name: 'p', value: 10 } });
    expect(f.ratio).toBe(3);
    expect(f.met).toBeNull();
    expect(f.goal).toBeNull();
  });

  it('evaluates every goal on the value or on the ratio; met only when all are', () => {
    const [ingest, p99] = syntheticReport().figures;
    expect(ingest!.goals.map((g) => g.met)).toEqual([true, true]);
    expect(ingest!.met).toBe(true);
    expect(ingest!.goal).toBe('≥ 1.5 M trades/s per worker; ≥ 5× the tardis-dev pipeline');
    expect(p99!.met).toBe(false);
    const noPeer = figure({ id: 'b', group: 'fanout', name: 'b', value: 1, unit: 'x', better: 'higher', goals: [{ text: '≥ 3×', on: 'ratio', op: '>=', threshold: 3 }] });
    expect(noPeer.met).toBe(false); // a ratio goal without a peer cannot be met
    const zero = figure({ id: 'c', group: 'fanout', name: 'c', value: 0, unit: 'x', better: 'lower', goals: [{ text: 'zero', on: 'value', op: '==', threshold: 0 }] });
    expect(zero.met).toBe(true);
  });

  it('writes the JSON with every required field, the Markdown summary and the SVG', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tickwire-bench-'));
    dirs.push(dir);
    const paths = writeReport(dir, syntheticReport());
    expect(path.basename(paths.json)).toBe('2026-01-02-quick.json');
    expect(path.basename(paths.md)).toBe('2026-01-02-quick.md');
    expect(path.basename(paths.svg)).toBe('2026-01-02-quick-latency.svg');

    const json = JSON.parse(readFileSync(paths.json, 'utf8'));
    expect(json.schema).toBe('tickwire-bench/1');
    expect(json.environment).toMatchObject({ cores: 2, node: 'v20.20.2', cpu: 'Test CPU', commit: 'abc1234' });
    for (const f of json.figures) {
      for (const key of ['id', 'name', 'value', 'unit', 'peer', 'ratio', 'goal', 'met']) expect(f).toHaveProperty(key);
    }
    expect(json.figures[0].peer).toEqual({ name: 'tardis-dev', value: 250000 });
    expect(json.figures[0].ratio).toBe(8);

    const md = readFileSync(paths.md, 'utf8');
    expect(md).toContain('2 of 3 goals met; **missed: p99 < 1 ms**');
    expect(md).toContain('| p99 < 1 ms | latency p99 | 1.50 ms | **no** | — |');
    expect(md).toContain('| ingest | 2.00 M trades/s | tardis-dev | 250 k trades/s | 8.00× |');
    expect(md).toContain('![latency percentiles](2026-01-02-quick-latency.svg)');
    expect(md).toContain('- a note');
    expect(md).toContain('- latency p99: ratio per pair of slices: median 1.10× (0.90–1.30×)');

    const svg = readFileSync(paths.svg, 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<path d="M/g)).toHaveLength(2);
    for (const label of ['>0%<', '>90%<', '>99%<', '>99.9%<', 'tickwire: p50', 'baseline: p50']) expect(svg).toContain(label);
    expect(svg).not.toContain('>99.99%<'); // the x axis stops at the deepest percentile sampled
    // The two curves differ by more than 30× at the median: the y axis goes logarithmic.
    expect(svg).toContain('latency (ms), log scale');
  });

  it('prints times in the unit that reads best', () => {
    expect(fmtUnit(1500, 'µs')).toBe('1.50 ms');
    expect(fmtUnit(250, 'µs')).toBe('250 µs');
    expect(fmtUnit(25_500, 'ns/frame')).toBe('25.5 µs/frame');
    expect(fmtUnit(741, 'ns/message')).toBe('741 ns/message');
    expect(fmtUnit(2e6, 'trades/s')).toBe('2.00 M trades/s');
    expect(fmtUnit(NaN, 'µs')).toBe('NaN µs');
  });

  it('names a partial run after its benchmarks, so it never replaces a whole run', () => {
    expect(path.basename(reportPaths('/r', '2026-01-02T03:04:05.000Z', 'full', ['http', 'a/b']).json)).toBe('2026-01-02-full-http-a_b.json');
    expect(path.basename(reportPaths('/r', '2026-01-02T03:04:05.000Z', 'full').md)).toBe('2026-01-02-full.md');
  });

  it('calls a missed goal beyond this machine only when its floor, measured in the same run, misses it too', () => {
    const goals = [{ text: '≤ 1.5 µs per message', on: 'value', op: '<=', threshold: 1.5 }] as const;
    const floorMisses = figure({
      id: 'fanout.cpu', group: 'fanout', name: 'CPU per message', value: 3.1, unit: 'µs', better: 'lower', goals,
      floor: { name: 'uWS relay', value: 2.9, why: 'one send per subscriber per message' },
    });
    const floorMeets = figure({
      id: 'http.cpu', group: 'http', name: 'CPU per request', value: 3.1, unit: 'µs', better: 'lower', goals,
      floor: { name: 'bare uWS', value: 1.2, why: 'fixed bytes' },
    });
    expect(floorMisses.goals[0]).toMatchObject({ met: false, floorMet: false });
    expect(floorMeets.goals[0]).toMatchObject({ met: false, floorMet: true });
    // A ratio goal judges the floor against the same peer.
    const ratioGoal = figure({
      id: 'ingest.cpu', group: 'ingest', name: 'CPU per trade', value: 8, unit: 'µs', better: 'lower',
      peer: { name: 'tardis-dev', value: 10 }, goals: [{ text: '≤ ½ of tardis', on: 'ratio', op: '>=', threshold: 2 }],
      floor: { name: 'receive only', value: 7, why: 'the ws receive alone' },
    });
    expect(ratioGoal.goals[0]).toMatchObject({ met: false, floorMet: false });

    const r = syntheticReport();
    r.figures = [floorMisses, floorMeets, ratioGoal];
    const md = markdown(r, 'x.svg');
    expect(md).toContain('Of those, 2 are beyond this machine');
    expect(md).toContain('| ≤ 1.5 µs per message | CPU per message | 3.10 µs | **no**: beyond this machine | uWS relay: 2.90 µs, misses it; one send per subscriber per message |');
    expect(md).toContain('| ≤ 1.5 µs per message | CPU per request | 3.10 µs | **no** | bare uWS: 1.20 µs, meets it; fixed bytes |');
    expect(md).toContain('receive only: 7 µs = 1.43×, misses it; the ws receive alone |');
  });

  it('reports all goals met when they are', () => {
    const r = syntheticReport();
    r.figures = r.figures.filter((f) => f.met !== false);
    expect(markdown(r, 'x.svg')).toContain('All 2 goals met.');
  });
});

describe('bench latency plot', () => {
  it('places percentiles by nines of 1/(1 − p)', () => {
    expect(nines(0)).toBe(0);
    expect(nines(90)).toBeCloseTo(1, 12);
    expect(nines(99.9)).toBeCloseTo(3, 9);
    expect(nines(100)).toBe(6);
  });

  it('says there is no data rather than drawing an empty axis', () => {
    const svg = percentileSvg([{ name: 'a', color: '#000', points: [[50, NaN]] }], { title: 't', yLabel: 'y' });
    expect(svg).toContain('no data');
    expect(svg).not.toContain('<path');
  });

  it('samples a histogram into a rising curve that ends at the maximum', () => {
    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e7, numberOfSignificantValueDigits: 3 });
    for (let v = 1; v <= 10_000; v++) h.recordValue(v);
    const points = distribution(h);
    expect(points[0]).toEqual([0, 1]);
    expect(points.at(-1)).toEqual([100, h.maxValue]);
    for (let i = 1; i < points.length; i++) {
      expect(points[i]![0]).toBeGreaterThan(points[i - 1]![0]);
      expect(points[i]![1]).toBeGreaterThanOrEqual(points[i - 1]![1]);
    }
    // 10,000 samples support 4 nines, not more.
    expect(points.at(-2)![0]).toBeCloseTo(99.99, 6);
    const s = summarize(merge([hdr.encodeIntoCompressedBase64(h), hdr.encodeIntoCompressedBase64(h)]));
    expect(s.count).toBe(20_000);
    expect(s.p50).toBeGreaterThanOrEqual(4_995);
    expect(s.p50).toBeLessThanOrEqual(5_005);
    expect(summarize(merge([])).p99).toBeNaN();
  });
});

describe('bench micro figures', () => {
  const row = (id: string, meanNs: number, peer?: string): Row => ({
    suite: 's', id, name: id, unit: 'op', batch: 1, meanNs, p50Ns: meanNs, p99Ns: meanNs, opsPerSec: 1e9 / meanNs, samples: 10, rmePct: 1, ...(peer ? { peer } : {}),
  });

  it('pairs each case with its peer and keeps pure peers out of the figures', () => {
    const figs = microFigures([row('json', 700, 'stringify'), row('stringify', 7000), row('fbs', 175, 'json'), row('alone', 5)]);
    expect(figs.map((f) => f.id)).toEqual(['micro.json', 'micro.fbs', 'micro.alone']);
    expect(figs[0]!.ratio).toBe(10);
    expect(figs[1]!.peer).toEqual({ name: 'json', value: 700 });
    expect(figs[1]!.ratio).toBe(4);
    expect(figs[2]!.peer).toBeNull();
    expect(figs[2]!.unit).toBe('ns/op');
  });
});

describe('bench report: a figure\'s note', () => {
  it('shows a figure note, where the rule is stated, in the Markdown notes', () => {
    const report = syntheticReport();
    report.figures.push(figure({
      id: 'strategies.fanout.p99_added', group: 'strategies', name: 'p99 added', value: 300, unit: 'µs', better: 'lower',
      goals: [{ text: 'p99 unchanged within noise', on: 'value', op: '<=', threshold: 600 }], note: 'p99 without 2.00 ms, 2.60 ms',
    }));
    const md = markdown(report, 'plot.svg');
    expect(md).toContain('| p99 unchanged within noise | p99 added | 300 µs | yes | — |');
    expect(md).toContain('- p99 added: p99 without 2.00 ms, 2.60 ms');
  });
});
