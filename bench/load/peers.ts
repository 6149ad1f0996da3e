/**
 * Starting a load run's helpers and hearing from them: TypeScript worker
 * threads (through the tsx shim, as Node 20 cannot start a .ts worker) and
 * child processes (node with tsx registered, optionally pinned to CPUs with
 * `taskset`), and waiting for their messages with a deadline so a stuck
 * helper fails the run instead of hanging it. The bench and the soak start
 * every exchange, subscriber and gateway through here.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { cpuProfileArgs, nameThread } from './profiling.ts';

const SHIM = new URL('../../workers/dev-shim.mjs', import.meta.url);

/** Start `entry` (a .ts module URL) in a worker thread with `data` as workerData. */
export function startWorker(entry: URL, data: object): Worker {
  const worker = new Worker(SHIM, { workerData: { ...data, entry: entry.href } });
  nameThread(process.pid, worker.threadId, entry);
  return worker;
}

/** A message-driven peer: a worker thread or a forked child process. */
export type Peer = Worker | ChildProcess;

/**
 * Resolve with the first message `accept` takes (others are ignored); reject
 * on an error, an exit before it, or after `timeoutMs`.
 */
export function nextMessage<T>(peer: Peer, accept: (m: unknown) => m is T, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (m: unknown) => {
      if (!accept(m)) return;
      done();
      resolve(m);
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`${what}: exited (code ${code}) before answering`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      peer.off('message', onMessage);
      peer.off('error', onError);
      peer.off('exit', onExit);
    };
    peer.on('message', onMessage);
    peer.on('error', onError);
    peer.on('exit', onExit);
  });
}

/** A type guard for messages `{ type }`. */
export function ofType<T extends { type: string }>(type: T['type']): (m: unknown) => m is T {
  return (m: unknown): m is T => typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;
}

/**
 * Fork `entry` (a .ts file URL) as a node child process with tsx registered
 * and an IPC channel (stdout and stderr inherited); pinned to `cpus` (e.g.
 * "1") when given; `nodeArgs` go to node before tsx (the soak's gateway
 * needs `--expose-gc`).
 */
export function startChild(entry: URL, args: readonly string[], cpus?: string, nodeArgs: readonly string[] = []): ChildProcess {
  // A profiled bench run (bench/load/profiling.ts) profiles every child and its threads.
  const options = { execArgv: [...cpuProfileArgs(), ...nodeArgs, '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] as const };
  const child =
    cpus === undefined
      ? fork(new URL(entry), [...args], { ...options, stdio: [...options.stdio] })
      : // taskset execs node; fork's IPC channel (fd 3 via NODE_CHANNEL_FD) passes through the exec.
        fork(new URL(entry), [...args], { ...options, stdio: [...options.stdio], execPath: 'taskset', execArgv: ['-c', cpus, process.execPath, ...options.execArgv] });
  nameThread(child.pid, 0, entry);
  return child;
}

/** Stop a child process: ask over IPC, then SIGKILL if it is still there after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.send({ type: 'stop' });
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
