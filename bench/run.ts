/**
 * The benchmark suite: every headline figure measured side by side with a
 * peer, in one run (bench/README.md explains each benchmark and how to read
 * the results).
 *
 *   npm run bench                    the full profile
 *   npm run bench -- --quick         the representative subset (< 3 min on 2 cores)
 *   npm run bench -- --quick ingest  only benchmarks or micro suites whose name contains an argument
 *   npm run bench -- --no-pin        do not pin the load and the gateway to separate CPUs
 *   npm run bench -- --profile NAME  run only NAME with every thread CPU-profiled: the profiles go
 *                                    next to the report, the top 10 self-time functions per thread into it
 *   BENCH_TIME_MS=3000 npm run bench -- micro   longer micro cases
 *
 * Order: micro (tinybench, this thread), ingest (worker threads), ingest-wire
 * (tickwire and a tardis-dev process fed over loopback WebSockets), then the
 * two load benchmarks with this process pinned to CPU 0 and the server under
 * test to CPU 1. Progress goes to stderr; the Markdown summary to stdout;
 * bench/results/<date>-<profile>.{json,md} and -latency.svg are written
 * (gitignored; a later run of the same profile on the same day replaces
 * them; a run of only some benchmarks adds their names to the file name). Measurements only: nothing here asserts a figure, a goal missed is
 * reported, not an error. The exit code is 1 when a benchmark failed to run.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterBench } from './cluster.ts';
import { natsHopBench } from './nats-hop.ts';
import { fanoutBench, lowestTried, type GatewayResult } from './fanout.ts';
import { tape } from './frames.ts';
import { httpBench, type HttpRun } from './http.ts';
import { ingestBench } from './ingest.ts';
import { ingestWireBench } from './ingest-wire.ts';
import { MICRO_SUITES, microBench } from './micro.ts';
import { PROFILES, type Profile } from './profile.ts';
import { fmt, fmtRatio, fmtUnit, writeReport, type Environment, type Figure, type Report } from './report.ts';
import { strategiesBench } from './strategies.ts';
import { canPin, pinSelf } from './threads.ts';
import { profileMarkdown, runProfiled } from './cpu-profile.ts';
import { cpuProfileDir, writeProfiledRun } from './load/profiling.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const BENCHMARKS = ['micro', 'ingest', 'ingest-wire', 'fanout', 'http', 'strategies', 'cluster', 'nats-hop'] as const;

const args = process.argv.slice(2);
const profile: Profile = PROFILES[args.includes('--quick') ? 'quick' : 'full'];
const pinWanted = !args.includes('--no-pin');
// `--profile NAME`: NAME is also a filter, so only the profiled benchmark runs.
const profiled = args.includes('--profile');
const filters = args.filter((a) => !a.startsWith('--'));
const unknownFlags = args.filter((a) => a.startsWith('--') && !['--quick', '--full', '--no-pin', '--profile'].includes(a));
if (unknownFlags.length > 0) {
  console.error(`unknown option ${unknownFlags.join(' ')}: expected --quick, --full, --no-pin, --profile NAME and benchmark names (${BENCHMARKS.join(', ')}, ${Object.keys(MICRO_SUITES).join(', ')})`);
  process.exit(2);
}
const profileName = profiled ? args[args.indexOf('--profile') + 1] : undefined;
if (profiled && (profileName === undefined || profileName.startsWith('--'))) {
  console.error(`--profile needs a benchmark name: one of ${BENCHMARKS.join(', ')}, ${Object.keys(MICRO_SUITES).join(', ')}`);
  process.exit(2);
}
const microSuites = Object.keys(MICRO_SUITES).filter((s) => filters.length === 0 || filters.some((f) => f === 'micro' || s.includes(f)));
const selected = BENCHMARKS.filter((b) => (b === 'micro' ? microSuites.length > 0 : filters.length === 0 || filters.some((f) => b.includes(f))));
if (selected.length === 0) {
  console.error(`no benchmark matches ${filters.join(', ')}: benchmarks are ${BENCHMARKS.join(', ')}; micro suites ${Object.keys(MICRO_SUITES).join(', ')}`);
  process.exit(2);
}

const t0 = performance.now();
const startedAt = new Date().toISOString();
function log(line: string): void {
  process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
}

if (profiled && cpuProfileDir() === undefined) {
  // This process only starts the profiled run (bench/cpu-profile.ts) and adds the profiles to its report.
  log(`profiling ${profileName}: every thread under --cpu-prof`);
  const r = runProfiled(fileURLToPath(import.meta.url), args.filter((a) => a !== '--profile'), path.join(HERE, 'results'), ROOT);
  if (r.report === undefined) {
    log('profiling: the run wrote no report, so no profile summary');
  } else {
    const report = JSON.parse(readFileSync(r.report, 'utf8')) as Report;
    report.cpuProfiles = r.threads;
    const paths = writeReport(path.join(HERE, 'results'), report);
    console.log(profileMarkdown(r.threads).join('\n'));
    log(`profiling: ${r.threads.length} thread profiles next to ${path.relative(ROOT, paths.md)}, their top functions in it`);
  }
  process.exit(r.status);
}

const environment: Environment = {
  node: process.version,
  v8: process.versions.v8,
  cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
  cores: os.cpus().length,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  loadAverageStart: Number(os.loadavg()[0]!.toFixed(2)),
  loadAverageEnd: NaN,
  commit: git(['rev-parse', '--short', 'HEAD']),
  dirty: git(['status', '--porcelain']) !== '',
  versions: Object.fromEntries(['tinybench', 'tardis-dev', 'fastify', 'autocannon', 'ws', 'uWebSockets.js', 'hdr-histogram-js'].map((p) => [p, version(p)])),
};

log(`${profile.name} profile: ${selected.join(', ')}; ${environment.cores} × ${environment.cpu}, Node ${environment.node}, load average ${environment.loadAverageStart}`);

const figures: Figure[] = [];
const details: Record<string, unknown> = {};
const notes: string[] = [];
let distributions: Report['distributions'] = {};
let failed = false;

/** Run one benchmark; a failure is logged and noted, and the others still run. */
async function step(name: string, run: () => Promise<{ figures: Figure[]; details: unknown }>): Promise<void> {
  const start = performance.now();
  log(`${name} ...`);
  try {
    const r = await run();
    figures.push(...r.figures);
    details[name] = r.details;
    log(`${name} done in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  } catch (err) {
    failed = true;
    const message = err instanceof Error ? err.message : String(err);
    notes.push(`**${name} failed**: ${message}`);
    log(`${name} FAILED: ${err instanceof Error ? (err.stack ?? message) : message}`);
  }
}

if (selected.includes('micro')) await step('micro', async () => microBench(profile, microSuites, log));
if (selected.includes('ingest')) await step('ingest', () => ingestBench(profile, log));
if (selected.includes('ingest-wire')) await step('ingest-wire', () => ingestWireBench(profile, log));

const needsPin = selected.includes('fanout') || selected.includes('http');
const pinned = needsPin && pinWanted && canPin() && pinSelf('0');
const serverCpus = pinned ? '1' : undefined;
const placement: Record<string, string> = {
  micro: 'one thread (this process), unpinned',
  ingest: 'each pipeline in a worker thread; for tickwire the main thread drains the rings as the pump does; unpinned (both cores)',
  'ingest-wire': 'tickwire and the tardis-dev pipeline each in a child process, fed the same frames at once by the fake exchange in a worker thread of the orchestrator; unpinned',
  fanout: pinned
    ? 'gateway under test in a child process pinned to CPU 1 (tickwire: its main thread and feed worker share it); load generator and subscriber threads in the orchestrator, pinned to CPU 0'
    : 'not pinned (no taskset, fewer than 2 CPUs, or --no-pin): gateway, load generator and subscribers share every core',
  http: pinned
    ? 'server under test in a child process pinned to CPU 1; autocannon in a worker thread of the orchestrator, pinned to CPU 0'
    : 'not pinned: server and autocannon share every core',
  cluster: 'single process, then nats-server + feed + edge, each a child process, unpinned; one subscriber in the orchestrator',
  'nats-hop': 'nats-server and a publisher, each a child process, unpinned; the receiver in the orchestrator',
};

if (selected.includes('fanout')) {
  await step('fanout', async () => {
    const r = await fanoutBench(profile, serverCpus, log);
    distributions = r.distributions;
    return r;
  });
}
if (selected.includes('http')) await step('http', () => httpBench(profile, serverCpus, log));
if (selected.includes('strategies')) await step('strategies', () => strategiesBench(profile, log));
if (selected.includes('cluster')) await step('cluster', () => clusterBench({ ...profile.cluster, inlineExchange: process.env['BENCH_CLUSTER_EXCHANGE'] === 'inline' }, log));
// What NATS alone costs at the cluster bench's rate (bench/nats-hop.ts), each receiver for the cluster bench's seconds.
if (selected.includes('nats-hop')) await step('nats-hop', () => natsHopBench(profile.cluster, log));

environment.loadAverageEnd = Number(os.loadavg()[0]!.toFixed(2));
notes.push(...observations());

const report: Report = {
  schema: 'tickwire-bench/1',
  profile: profile.name,
  only: filters,
  startedAt,
  durationS: (performance.now() - t0) / 1000,
  environment,
  placement: Object.fromEntries(Object.entries(placement).filter(([k]) => selected.includes(k as (typeof BENCHMARKS)[number]))),
  frames: tape().source,
  figures,
  distributions,
  details: { ...details, profile, selected },
  notes,
};
const paths = writeReport(path.join(HERE, 'results'), report);
writeProfiledRun(paths.json);
console.log(summaryTable(figures));
log(`wrote ${path.relative(ROOT, paths.json)}, ${path.basename(paths.md)} and ${path.basename(paths.svg)} in ${report.durationS.toFixed(0)} s`);
process.exitCode = failed ? 1 : 0;

/** Things a reader must know to judge the figures, found in the results. */
function observations(): string[] {
  const out: string[] = [];
  const busy = Math.max(environment.loadAverageStart, environment.loadAverageEnd);
  if (busy > environment.cores / 2) {
    out.push(`The machine was busy (1-minute load average ${environment.loadAverageStart} at start, ${environment.loadAverageEnd} at end, on ${environment.cores} cores): other work competed for the CPUs, so the figures are lower and noisier than on an idle machine.`);
  }
  if (tape().source === 'synthetic') out.push('The fixture corpus (../shared/fixtures or TICKWIRE_FIXTURES) was not found: frames were made from a seeded synthetic tape of the same shape.');
  if (needsPin && !pinned) out.push('Load and server were not pinned to separate CPUs: the load clients competed with the server under test.');
  const fan = details['fanout'] as { tickwire: GatewayResult; baseline: GatewayResult; floor: GatewayResult; tails: { tickwire: string; floor: string } } | undefined;
  if (fan !== undefined) {
    out.push(`Fan-out tail at the rated load, tickwire: ${fan.tails.tickwire}.`, `Fan-out tail at the rated load, floor: ${fan.tails.floor}.`);
    for (const g of [fan.tickwire, fan.baseline, fan.floor]) {
      for (const p of [g.rated, ...g.steps]) {
        const elu = Math.max(...p.subscriberElu, p.loadgenElu);
        if (elu > 0.9) {
          // A busy event loop is not a full core: a thread that waits for a CPU other work holds is "busy" too. Its own CPU time tells.
          const cpu = Math.max(...p.subscriberCpuPct, p.loadgenCpuPct);
          out.push(
            cpu >= 90 || p.loadCpuPct >= 90
              ? `Fan-out ${g.kind} at ${p.rate} trades/s: the load's core was full (load process ${p.loadCpuPct}% of it, busiest load thread ${cpu.toFixed(0)}%, event-loop utilization ${elu.toFixed(2)}); that step measures the clients as much as the gateway.`
              : `Fan-out ${g.kind} at ${p.rate} trades/s: a load thread's event loop was busy (utilization ${elu.toFixed(2)}) but used ${cpu.toFixed(0)}% of a core (load process ${p.loadCpuPct}%): it waited for CPU that other work held, not on its own work.`,
          );
          break;
        }
      }
      if (g.ceilingReached) out.push(`Fan-out ${g.kind} held the highest step tried (${g.maxHeldRate} trades/s): its limit is higher than measured.`);
      if (g.maxHeldRate === 0) {
        const lowest = lowestTried(g);
        out.push(`Fan-out ${g.kind} held no rate tried, down to ${lowest} trades/s: its highest rate held is below that (counted as 0).`);
      }
    }
  }
  const http = details['http'] as { runs: HttpRun[] } | undefined;
  for (const r of http?.runs ?? []) {
    if (r.clientElu > 0.9) {
      out.push(`HTTP ${r.server} limit=${r.limit}: autocannon was saturated (event-loop utilization ${r.clientElu}, server CPU ${r.serverCpuPct.toFixed(0)}%): ${fmt(r.rps)} req/s is the client's limit as much as the server's.`);
    }
  }
  return out;
}

/** The headline table printed at the end (the .md file has everything). */
function summaryTable(figs: readonly Figure[]): string {
  const lines = [`# tickwire benchmarks (${profile.name})`, '', '| figure | tickwire | peer | ratio | goal | met |', '| --- | ---: | ---: | ---: | --- | :---: |'];
  for (const f of figs) {
    if (f.group === 'micro' && f.peer === null) continue;
    const ratio = f.ratio === null ? '—' : Number.isNaN(f.ratio) ? 'n/a' : fmtRatio(f.ratio);
    lines.push(`| ${f.name} | ${fmtUnit(f.value, f.unit)} | ${f.peer === null ? '—' : `${fmtUnit(f.peer.value, f.unit)} (${f.peer.name})`} | ${ratio} | ${f.goal ?? '—'} | ${f.met === null ? '—' : f.met ? 'yes' : '**no**'} |`);
  }
  for (const n of notes) lines.push('', `- ${n}`);
  return lines.join('\n') + '\n';
}

function version(pkg: string): string {
  try {
    return JSON.parse(readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

function git(gitArgs: string[]): string {
  try {
    return execFileSync('git', gitArgs, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}
