/** CPU time of the main thread alone (not its workers'): Linux only, from the kernel's schedstat. */
import { readFileSync } from 'node:fs';

/** The main thread's CPU time so far, ms; null where the kernel does not say (not Linux). */
export function mainThreadCpuMs(): number | null {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return null;
  }
}
