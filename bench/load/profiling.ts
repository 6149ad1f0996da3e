/**
 * CPU profiling of a benchmark's threads (`npm run bench -- --profile NAME`,
 * bench/cpu-profile.ts): while the run is profiled, every child process is
 * started with V8's `--cpu-prof` into the same folder (worker threads inherit
 * it from their process), and each thread the run starts is named here, so
 * the report can say which profile is whose.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** Set (to the folder the profiles go to) in a profiled run and in every process it starts. */
export const CPU_PROFILE_DIR_ENV = 'TICKWIRE_BENCH_CPU_PROFILE_DIR';

/** One thread the run started: its process, its thread id (0: the main thread), what it does. */
export interface ThreadRole {
  pid: number;
  threadId: number;
  role: string;
}

const roles: ThreadRole[] = [];

/** The profile folder of a profiled run, else undefined. */
export function cpuProfileDir(): string | undefined {
  const dir = process.env[CPU_PROFILE_DIR_ENV];
  return dir === undefined || dir === '' ? undefined : dir;
}

/** Node flags a child process needs to be profiled with its threads ([] when not profiling). */
export function cpuProfileArgs(): string[] {
  const dir = cpuProfileDir();
  return dir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', dir];
}

/** Name a thread this run started (no-op when not profiling). `entry` names it by its file. */
export function nameThread(pid: number | undefined, threadId: number, entry: URL | string): void {
  if (cpuProfileDir() === undefined || pid === undefined) return;
  roles.push({ pid, threadId, role: path.basename(String(entry)).replace(/\.[cm]?[jt]s$/, '') });
}

/** Write what the outer run needs to read the profiles: the report's path and the named threads. */
export function writeProfiledRun(reportJson: string): void {
  const dir = cpuProfileDir();
  if (dir === undefined) return;
  const run = { reportJson, roles: [{ pid: process.pid, threadId: 0, role: 'bench' }, ...roles] };
  writeFileSync(path.join(dir, 'run.json'), JSON.stringify(run, null, 2) + '\n');
}
