/**
 * Runs the micro-benchmarks and reports per-operation figures.
 *
 *   npm run bench                  every suite
 *   npm run bench -- aggregator    only suites whose name contains an argument
 *   BENCH_TIME_MS=3000 npm run bench   longer runs (default 1000 ms per case)
 *
 * Prints a Markdown table to stdout and writes bench/results/<date>.json and
 * .md (gitignored). Measurements only: nothing asserts a time.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { aggregatorBench } from './aggregator.bench.ts';
import { barStoreBench } from './bar-store.bench.ts';
import { TIME_MS, type Row } from './harness.ts';
import { tickRingBench } from './tick-ring.bench.ts';
import { parseBench } from './parse.bench.ts';

const SUITES: Readonly<Record<string, () => Row[]>> = {
  aggregator: aggregatorBench,
  'tick-ring': tickRingBench,
  'bar-store': barStoreBench,
  parse: parseBench,
};

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');

const filters = process.argv.slice(2);
const selected = Object.keys(SUITES).filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)));
if (selected.length === 0) {
  console.error(`no bench suite matches ${filters.join(', ')}; suites: ${Object.keys(SUITES).join(', ')}`);
  process.exit(2);
}

const env = {
  date: new Date().toISOString(),
  node: process.version,
  v8: process.versions.v8,
  cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
  cores: os.cpus().length,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  /** 1-minute load average at start: other work on the machine skews the figures. */
  loadAverage: Number(os.loadavg()[0]!.toFixed(2)),
  tinybench: version('tinybench'),
  commit: git(['rev-parse', '--short', 'HEAD']) + (git(['status', '--porcelain']) === '' ? '' : ' (dirty)'),
  timeMsPerCase: TIME_MS,
  suites: selected,
};

const rows: Row[] = [];
for (const name of selected) {
  console.error(`running ${name} ...`);
  rows.push(...SUITES[name]!());
}

const md = markdown(rows);
console.log(md);
const dir = path.join(HERE, 'results');
mkdirSync(dir, { recursive: true });
const base = path.join(dir, env.date.replace(/[:.]/g, '-'));
writeFileSync(`${base}.json`, JSON.stringify({ ...env, rows }, null, 2) + '\n');
writeFileSync(`${base}.md`, md);
console.error(`wrote ${path.relative(ROOT, base)}.json and .md`);

/** The report: environment, one line per operation, and how to read it. */
function markdown(rows: readonly Row[]): string {
  const lines = [
    `# tickwire micro-benchmarks, ${env.date}`,
    '',
    `Node ${env.node} (V8 ${env.v8}), ${env.cpu} × ${env.cores}, ${env.platform}; tinybench ${env.tinybench}, ${env.timeMsPerCase} ms per case; load average ${env.loadAverage} at start; commit ${env.commit}.`,
    '',
    '| operation | mean | p50 | p99 | throughput | batch | samples | ±rme |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const cells = [
      r.name,
      `${ns(r.meanNs)} ns/${r.unit}`,
      ns(r.p50Ns),
      ns(r.p99Ns),
      `${rate(r.opsPerSec)} ${r.unit}s/s`,
      String(r.batch),
      String(r.samples),
      `${r.rmePct.toFixed(2)}%`,
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push(
    '',
    'Each timed call does `batch` operations; figures are per operation. p50/p99 are over calls',
    '(batch means), so p99 shows slow batches (GC, bar closes), not the tail of single operations.',
    '',
  );
  return lines.join('\n');
}

function ns(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function rate(v: number): string {
  return v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} k` : v.toFixed(0);
}

function version(pkg: string): string {
  try {
    return JSON.parse(readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}
