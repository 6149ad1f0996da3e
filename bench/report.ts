/**
 * The benchmark report: every figure with its unit, its peer's figure, the
 * ratio and the goal it is held to; written as JSON (for tools and for
 * comparing runs), a Markdown summary (for people) and the latency plot.
 *
 * Ratio convention: how many times better tickwire is than the peer, so
 * above 1 is better whatever the unit: value / peer for rates, peer / value
 * for times and latencies. A goal is a threshold on the value or on that
 * ratio; `met` is null for a figure without goals.
 *
 * A figure may carry a floor: the thinnest possible implementation of the
 * same work (no parsing, no workers, nothing kept) measured under the same
 * load in the same run. A goal the floor misses too is beyond this machine,
 * and the report says so beside the floor's figure instead of a bare "no".
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { profileMarkdown, type ThreadProfile } from './cpu-profile.ts';
import type { ProfileName } from './profile.ts';
import { percentileSvg, type PlotSeries } from './svg.ts';

/** A threshold a figure is held to. */
export interface Goal {
  /** As the issue states it, e.g. "≥ 1.5 M trades/s per worker". */
  readonly text: string;
  readonly on: 'value' | 'ratio';
  readonly op: '>=' | '<' | '<=' | '==';
  readonly threshold: number;
}

/** A goal and whether this run met it. */
export interface GoalResult extends Goal {
  readonly met: boolean;
  /** Whether the floor meets this goal; null without a floor. A missed goal the floor misses too is beyond this machine. */
  readonly floorMet: boolean | null;
}

/** The thinnest implementation of the same work, measured in the same run under the same load. */
export interface Floor {
  readonly name: string;
  readonly value: number;
  /** What was measured that makes this the limit, e.g. "one send syscall per subscriber per message". */
  readonly why: string;
}

/** One measured figure. */
export interface Figure {
  /** Stable key, e.g. `fanout.rated.p99`. */
  readonly id: string;
  readonly group: 'micro' | 'ingest' | 'fanout' | 'http' | 'strategies' | 'cluster';
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  readonly peer: { readonly name: string; readonly value: number } | null;
  /** Times better than the peer (> 1: tickwire is better); null without a peer. */
  readonly ratio: number | null;
  /** The goals' texts joined, null without goals. */
  readonly goal: string | null;
  readonly goals: readonly GoalResult[];
  /** Every goal met; null without goals. */
  readonly met: boolean | null;
  readonly floor?: Floor;
  readonly note?: string;
}

/** What `figure` needs; ratio, goal texts and `met` are derived. */
export interface FigureInput {
  id: string;
  group: Figure['group'];
  name: string;
  value: number;
  unit: string;
  better: Figure['better'];
  peer?: { name: string; value: number } | null;
  goals?: readonly Goal[];
  floor?: Floor;
  note?: string;
}

/** Build a figure: the ratio from value and peer, each goal evaluated. */
export function figure(f: FigureInput): Figure {
  const peer = f.peer ?? null;
  const ratio = peer === null ? null : ratioOf(f.value, peer.value, f.better);
  const floor = f.floor;
  const floorRatio = floor === undefined || peer === null ? null : ratioOf(floor.value, peer.value, f.better);
  const goals = (f.goals ?? []).map((g) => ({
    ...g,
    met: check(g, g.on === 'value' ? f.value : ratio),
    floorMet: floor === undefined ? null : check(g, g.on === 'value' ? floor.value : floorRatio),
  }));
  return {
    id: f.id,
    group: f.group,
    name: f.name,
    value: f.value,
    unit: f.unit,
    better: f.better,
    peer,
    ratio,
    goal: goals.length === 0 ? null : goals.map((g) => g.text).join('; '),
    goals,
    met: goals.length === 0 ? null : goals.every((g) => g.met),
    ...(floor === undefined ? {} : { floor }),
    ...(f.note === undefined ? {} : { note: f.note }),
  };
}

/** Times better than the peer; NaN when it cannot be told (a zero or missing figure). */
export function ratioOf(value: number, peer: number, better: Figure['better']): number {
  const r = better === 'higher' ? value / peer : peer / value;
  return Number.isFinite(r) ? r : NaN;
}

function check(g: Goal, x: number | null): boolean {
  if (x === null || !Number.isFinite(x)) return false;
  switch (g.op) {
    case '>=':
      return x >= g.threshold;
    case '<':
      return x < g.threshold;
    case '<=':
      return x <= g.threshold;
    case '==':
      return x === g.threshold;
  }
}

/** The floor's figure for one goal (its value, or its ratio against the same peer), whether it meets it, and why it is the limit. */
function floorCell(f: Figure, g: GoalResult): string {
  if (f.floor === undefined) return '—';
  const fl = f.floor;
  const shown = g.on === 'value' || f.peer === null ? fmtUnit(fl.value, f.unit) : `${fmtUnit(fl.value, f.unit)} = ${fmtRatio(ratioOf(fl.value, f.peer.value, f.better))}`;
  return `${fl.name}: ${shown}, ${g.floorMet ? 'meets it' : 'misses it'}; ${fl.why}`;
}

/** The machine and build a run happened on. */
export interface Environment {
  node: string;
  v8: string;
  cpu: string;
  cores: number;
  platform: string;
  memoryGiB: number;
  /** 1-minute load average at the start and at the end: other work skews the figures. */
  loadAverageStart: number;
  loadAverageEnd: number;
  commit: string;
  dirty: boolean;
  versions: Record<string, string>;
}

/** A whole run: what the JSON file holds. */
export interface Report {
  schema: 'tickwire-bench/1';
  profile: ProfileName;
  /** The benchmark filters of a partial run (empty: everything ran). */
  only: string[];
  startedAt: string;
  durationS: number;
  environment: Environment;
  /** Where each benchmark's threads ran (CPU pinning) and why. */
  placement: Record<string, string>;
  /** Where the frames came from: the recorded tape or its synthetic stand-in. */
  frames: 'recorded' | 'synthetic';
  figures: Figure[];
  /** Percentile → latency (µs) of the fan-out at the rated load, per gateway. */
  distributions: Record<string, [percentile: number, micros: number][]>;
  /** Per-benchmark raw results (rounds, steps, runs). */
  details: Record<string, unknown>;
  /** Things the reader must know to judge the figures (noise, limits hit). */
  notes: string[];
  /** Per thread, where its CPU time went (`--profile NAME` runs only; bench/cpu-profile.ts). */
  cpuProfiles?: ThreadProfile[];
}

/**
 * Where a report goes: `bench/results/<YYYY-MM-DD>-<profile>.{json,md}` and
 * `-latency.svg`; a run of only some benchmarks (`only`, e.g. ["http"]) adds
 * their names, so it never replaces a whole run's report.
 */
export function reportPaths(dir: string, startedAt: string, profile: ProfileName, only: readonly string[] = []): { json: string; md: string; svg: string } {
  const suffix = only.map((o) => '-' + o.replace(/[^A-Za-z0-9_-]/g, '_')).join('');
  const base = path.join(dir, `${startedAt.slice(0, 10)}-${profile}${suffix}`);
  return { json: `${base}.json`, md: `${base}.md`, svg: `${base}-latency.svg` };
}

/** Write the JSON, the Markdown summary and the latency plot; returns their paths. */
export function writeReport(dir: string, report: Report): { json: string; md: string; svg: string } {
  mkdirSync(dir, { recursive: true });
  const paths = reportPaths(dir, report.startedAt, report.profile, report.only);
  writeFileSync(paths.json, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(paths.svg, latencySvg(report));
  writeFileSync(paths.md, markdown(report, path.basename(paths.svg)));
  return paths;
}

const COLORS: Record<string, string> = { tickwire: '#1f6feb', baseline: '#d1242f' };

/** The fan-out latency distributions plotted together. */
export function latencySvg(report: Report): string {
  const series: PlotSeries[] = Object.entries(report.distributions).map(([name, points], i) => ({
    name,
    color: COLORS[name] ?? ['#2da44e', '#8250df', '#bf8700'][i % 3]!,
    points: points.map(([p, us]) => [p, us / 1000]),
  }));
  return percentileSvg(series, {
    title: `Fan-out latency, exchange frame sent → subscriber received (${report.profile} profile, ${report.startedAt.slice(0, 10)})`,
    yLabel: 'latency (ms)',
    unit: 'ms',
  });
}

/** The Markdown summary: the table, the goals met or missed in plain words, the notes. */
export function markdown(report: Report, svgName: string): string {
  const e = report.environment;
  const lines: string[] = [
    `# tickwire benchmarks: ${report.profile} profile, ${report.startedAt}`,
    '',
    `Node ${e.node} (V8 ${e.v8}) on ${e.cpu} × ${e.cores} cores, ${e.memoryGiB} GiB, ${e.platform}; commit ${e.commit}${e.dirty ? ' (uncommitted changes)' : ''}; ` +
      `load average ${e.loadAverageStart} at start, ${e.loadAverageEnd} at end; ${report.durationS.toFixed(0)} s in all; frames: ${report.frames}.`,
    '',
    '## Goals',
    '',
  ];
  const goals = report.figures.flatMap((f) => f.goals.map((g) => ({ f, g })));
  const missed = goals.filter((x) => !x.g.met);
  const beyond = missed.filter((x) => x.g.floorMet === false);
  lines.push(
    missed.length === 0
      ? `All ${goals.length} goals met.`
      : `${goals.length - missed.length} of ${goals.length} goals met; **missed: ${missed.map((x) => x.g.text).join('; ')}**.` +
          (beyond.length === 0
            ? ''
            : ` Of those, ${beyond.length} ${beyond.length === 1 ? 'is' : 'are'} beyond this machine: the floor peer, the thinnest implementation of the same work measured in the same run, misses ${beyond.length === 1 ? 'it' : 'them'} too (${beyond.map((x) => x.g.text).join('; ')}).`),
    '',
    '| goal | figure | measured | met | floor (same run) |',
    '| --- | --- | ---: | :---: | --- |',
  );
  for (const { f, g } of goals) {
    const measured = g.on === 'value' ? fmtUnit(f.value, f.unit) : f.ratio === null || Number.isNaN(f.ratio) ? 'n/a' : `${fmtRatio(f.ratio)} (vs ${f.peer!.name})`;
    const met = g.met ? 'yes' : g.floorMet === false ? '**no**: beyond this machine' : '**no**';
    lines.push(`| ${g.text} | ${f.name} | ${measured} | ${met} | ${floorCell(f, g)} |`);
  }
  lines.push('', '## Figures', '', 'Ratio: times better than the peer (above 1 means tickwire is better), whatever the unit.', '');
  for (const group of ['ingest', 'fanout', 'http', 'strategies', 'cluster', 'micro'] as const) {
    const figs = report.figures.filter((f) => f.group === group);
    if (figs.length === 0) continue;
    lines.push(`### ${GROUP_TITLES[group]}`, '', '| figure | tickwire | peer | peer figure | ratio | goal | met |', '| --- | ---: | --- | ---: | ---: | --- | :---: |');
    for (const f of figs) {
      lines.push(
        `| ${f.name} | ${fmtUnit(f.value, f.unit)} | ${f.peer?.name ?? '—'} | ${f.peer === null ? '—' : fmtUnit(f.peer.value, f.unit)} | ` +
          `${f.ratio === null ? '—' : Number.isNaN(f.ratio) ? 'n/a' : fmtRatio(f.ratio)} | ${f.goal ?? '—'} | ${f.met === null ? '—' : f.met ? 'yes' : '**no**'} |`,
      );
    }
    // A figure's note (how it was measured, its spread) under the table, so the Markdown says what the JSON says.
    const noted = figs.filter((f) => f.note !== undefined);
    if (noted.length > 0) lines.push('', ...noted.map((f) => `- ${f.name}: ${f.note}`));
    lines.push('');
  }
  lines.push(`![latency percentiles](${svgName})`, '', '## Placement', '');
  for (const [k, v] of Object.entries(report.placement)) lines.push(`- **${k}**: ${v}`);
  const figureNotes = report.figures.filter((f) => f.note !== undefined);
  if (report.notes.length + figureNotes.length > 0) {
    lines.push('', '## Notes', '');
    for (const n of report.notes) lines.push(`- ${n}`);
    for (const f of figureNotes) lines.push(`- ${f.name}: ${f.note}`);
  }
  lines.push('');
  if (report.cpuProfiles !== undefined) lines.push(...profileMarkdown(report.cpuProfiles));
  return lines.join('\n');
}

const GROUP_TITLES = { ingest: 'Ingest', fanout: 'Fan-out end to end', http: 'HTTP candles', strategies: 'Strategies', cluster: 'Scale-out (NATS)', micro: 'Micro-benchmarks' } as const;

/** A number for people: 3 significant digits, k / M for large ones. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)} M`;
  if (a >= 1e4) return `${(v / 1e3).toPrecision(3)} k`;
  if (a >= 100 || Number.isInteger(v)) return v.toFixed(0);
  return v.toPrecision(3);
}

/** A value with its unit, times in the unit that reads best (1500 µs → 1.50 ms, 25000 ns → 25.0 µs). */
export function fmtUnit(v: number, unit: string): string {
  if (Number.isFinite(v)) {
    if (unit === 'µs' && Math.abs(v) >= 1000) return `${fmt(v / 1000)} ms`;
    const per = /^ns(\/.*)?$/.exec(unit);
    if (per !== null && Math.abs(v) >= 10_000) return `${fmt(v / 1000)} µs${per[1] ?? ''}`;
  }
  return `${fmt(v)} ${unit}`;
}

/** A ratio for people: 2 decimals below 10, whole above ("2.05×", "468×"). */
export function fmtRatio(r: number): string {
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
}
