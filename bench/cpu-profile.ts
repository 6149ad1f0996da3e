/**
 * `npm run bench -- --profile NAME`: where a benchmark's time goes, kept
 * with its report (issue 12, item 4).
 *
 * The run starts itself again with V8's `--cpu-prof` on, so every thread of
 * the benchmark writes a CPU profile when it ends: the bench process and its
 * worker threads (load generators, subscribers, the ingest pipelines),
 * every child process (the servers under test, bench/load/peers.ts) and
 * their worker threads (tickwire's feed worker). Then the profiles move next
 * to the report, named by what each thread does, and the report gets, per
 * thread, the 10 functions with the most self time (time in the function
 * itself, not in what it calls). Open a `.cpuprofile` in Chrome DevTools
 * (Performance → load profile) or speedscope to see the whole tree.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, existsSync } from 'node:fs';
import path from 'node:path';
import { CPU_PROFILE_DIR_ENV, type ThreadRole } from './load/profiling.ts';

/** Functions listed per thread. */
const TOP = 10;

/** One function's self time in one thread's profile. */
export interface HotFunction {
  /** Function name (`(anonymous)` when it has none; V8's own: `(garbage collector)`, `(program)`). */
  name: string;
  /** File and line (1-based), or '' for V8's own entries. */
  where: string;
  selfMs: number;
  /** Share of the thread's busy time (sampled time that was not idle). */
  pct: number;
}

/** What one thread spent, from its profile. */
export interface ThreadProfile {
  /** What the thread does: its entry file, `bench` for the bench process, `<process> worker` for a child's workers, `<process> module loader` for Node's loader thread. */
  role: string;
  pid: number;
  threadId: number;
  /** The profile file, next to the report. */
  file: string;
  /** Sampled time, ms: busy (not idle) and idle. */
  busyMs: number;
  idleMs: number;
  top: HotFunction[];
}

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** V8's default profile name: CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile */
const PROFILE_NAME = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\.\d+\.cpuprofile$/;

/** Self time per function of one profile (time deltas summed per sampled node's function). */
export function hotFunctions(profile: CpuProfile, root: string): { busyMs: number; idleMs: number; top: HotFunction[] } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { name: string; where: string; us: number }>();
  let idleUs = 0;
  let busyUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = nodes.get(profile.samples[i]!)?.callFrame;
    // A sample's delta is the time since the previous sample: charge it to this one.
    const us = Math.max(0, profile.timeDeltas[i] ?? 0);
    if (frame === undefined) continue;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    // TypeScript run through tsx is one line per file (whitespace minified; the source map is not in
    // the profile), so there the file is all a position says.
    const file = frame.url === '' ? '' : shortPath(frame.url, root);
    const where = file === '' || frame.lineNumber === 0 ? file : `${file}:${frame.lineNumber + 1}`;
    const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
    const key = name + ' ' + where;
    const entry = self.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    self.set(key, entry);
  }
  const top = [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, TOP)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, pct: busyUs > 0 ? (e.us / busyUs) * 100 : 0 }));
  return { busyMs: busyUs / 1000, idleMs: idleUs / 1000, top };
}

/** A file URL as a path from the repository root; a library's from `node_modules/` (wherever that resolves). */
function shortPath(url: string, root: string): string {
  const p = url.startsWith('file://') ? new URL(url).pathname : url;
  const lib = p.lastIndexOf('/node_modules/');
  if (lib >= 0) return p.slice(lib + 1);
  return p.startsWith(root + '/') ? p.slice(root.length + 1) : p;
}

/**
 * Read every profile in `dir`, name it by its thread's role (`roles`, else
 * `<process role> worker`), move it to `dest` as `<role>.<pid>.<thread>.cpuprofile`,
 * and summarize it. Busiest threads first.
 */
export function collectProfiles(dir: string, dest: string, roles: readonly ThreadRole[], root: string): ThreadProfile[] {
  mkdirSync(dest, { recursive: true });
  const out: ThreadProfile[] = [];
  for (const name of readdirSync(dir)) {
    const m = PROFILE_NAME.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    const threadId = Number(m[2]);
    const profile = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as CpuProfile;
    const owner = roles.find((r) => r.pid === pid && r.threadId === 0)?.role ?? 'process';
    // A thread nobody started by name: Node's module-loader thread (tsx's hooks run off-thread), or a worker of a child (tickwire's feed worker).
    const loader = profile.nodes.some((n) => n.callFrame.url === 'node:internal/modules/esm/worker');
    const role = roles.find((r) => r.pid === pid && r.threadId === threadId)?.role ?? `${owner} ${loader ? 'module loader' : 'worker'}`;
    const file = path.join(dest, `${role.replace(/[^A-Za-z0-9_-]/g, '_')}.${pid}.${threadId}.cpuprofile`);
    renameSync(path.join(dir, name), file);
    out.push({ role, pid, threadId, file: path.relative(root, file), ...hotFunctions(profile, root) });
  }
  return out.sort((a, b) => b.busyMs - a.busyMs);
}

/** The report section: per thread, its busy time and its top functions by self time. */
export function profileMarkdown(threads: readonly ThreadProfile[]): string[] {
  const lines = ['## Where the time goes (CPU profiles)', ''];
  if (threads.length === 0) return [...lines, 'No profile was written (a thread killed before it ended writes none).', ''];
  lines.push('Per thread, the functions with the most self time (time in the function itself), as a share of the thread’s busy (not idle) sampled time. The `.cpuprofile` files open in Chrome DevTools or speedscope.', '');
  for (const t of threads) {
    lines.push(`### ${t.role} (pid ${t.pid}, thread ${t.threadId}): ${t.busyMs.toFixed(0)} ms busy, ${t.idleMs.toFixed(0)} ms idle`, '', `\`${t.file}\``, '');
    lines.push('| function | where | self ms | share |', '| --- | --- | ---: | ---: |');
    for (const f of t.top) lines.push(`| \`${f.name}\` | ${f.where === '' ? '—' : `\`${f.where}\``} | ${f.selfMs.toFixed(1)} | ${f.pct.toFixed(1)}% |`);
    lines.push('');
  }
  return lines;
}

/**
 * Run `bench/run.ts` again with `args` under `--cpu-prof`, then move the
 * profiles next to its report (`<report>-cpuprofiles/`) and summarize them.
 * `report` is undefined when the run wrote none.
 */
export function runProfiled(runFile: string, args: readonly string[], resultsDir: string, root: string): { status: number; report?: string; threads: ThreadProfile[] } {
  const work = path.join(resultsDir, `.cpuprofiles-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', work, '--import', 'tsx', runFile, ...args], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, [CPU_PROFILE_DIR_ENV]: work },
    });
    const status = r.status ?? 1;
    const runInfo = path.join(work, 'run.json');
    if (!existsSync(runInfo)) return { status, threads: [] };
    const { reportJson, roles } = JSON.parse(readFileSync(runInfo, 'utf8')) as { reportJson: string; roles: ThreadRole[] };
    const dest = reportJson.replace(/\.json$/, '-cpuprofiles');
    rmSync(dest, { recursive: true, force: true });
    return { status, report: reportJson, threads: collectProfiles(work, dest, roles, root) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
