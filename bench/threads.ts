/**
 * CPU placement and CPU time for the benchmarks: pinning this process and
 * its threads with `taskset`, and reading the CPU time a process, the
 * calling thread or the main thread alone has used from /proc. (Starting
 * workers and child processes is load/peers.ts.)
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** True when `taskset` can pin processes here (Linux with util-linux) and there are at least 2 CPUs. */
export function canPin(): boolean {
  if (os.platform() !== 'linux' || os.cpus().length < 2) return false;
  return spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }).status === 0;
}

/** Pin every thread of this process to `cpus` (new threads inherit it); returns false when it could not. */
export function pinSelf(cpus: string): boolean {
  return spawnSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' }).status === 0;
}

/**
 * CPU time (user + system) a process (or, with `tid`, one of its threads) has
 * used, seconds; NaN where /proc is not there. A thread's comes from its
 * schedstat where the kernel keeps it (ns), so a thread's share of a 2 s
 * phase is not rounded to 10 ms ticks; a process's is stat's ticks (schedstat
 * has no total over every thread).
 */
export function cpuSeconds(pid: number, tid?: number): number {
  if (tid !== undefined) {
    try {
      return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
    } catch {
      // no schedstat (CONFIG_SCHED_INFO off, or the thread ended): stat's ticks below
    }
  }
  try {
    const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the command), in clock ticks.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** CPU time (user + system) each thread of a process has used, seconds, by thread id (the main thread's is the pid); empty where /proc is not there. */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const seconds = cpuSeconds(pid, Number(tid));
    if (!Number.isNaN(seconds)) out.set(Number(tid), seconds); // (a thread that ended meanwhile is left out)
  }
  return out;
}

/**
 * CPU time the calling thread has used, ms (Linux `/proc/thread-self`); NaN
 * elsewhere. From the scheduler's schedstat where the kernel keeps it (ns,
 * brought up to date at every scheduler tick: 4 ms steps measured here),
 * else stat's user + system ticks (10 ms steps: ±8% on a 130 ms round of
 * the quick ingest profile, too coarse for an A/B).
 */
export function threadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    // no schedstat (CONFIG_SCHED_INFO off): the tick counts below
  }
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** CPU time of the process's main thread alone (not its workers'), ms, from the kernel's schedstat (ns resolution); null where the kernel does not say (not Linux). */
export function mainThreadCpuMs(): number | null {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return null;
  }
}

/** USER_HZ: 100 on every Linux configuration Node runs on. */
const CLOCK_TICKS = 100;
