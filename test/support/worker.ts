/** Start a TypeScript module as a real worker thread (through workers/dev-shim.mjs). */
import { Worker } from 'node:worker_threads';

const SHIM = new URL('../../workers/dev-shim.mjs', import.meta.url);

/** Start `entry` (a URL of a .ts module) in a worker with `data` as workerData (plus `entry`). */
export function startWorker(entry: URL, data: Record<string, unknown>): Worker {
  return new Worker(SHIM, { workerData: { ...data, entry: entry.href } });
}

/** Resolves with the worker's first message; rejects on error or an exit before it. */
export function firstMessage<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} before answering`)));
  });
}
