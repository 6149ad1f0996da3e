/**
 * Where a thread's code is: the `workers/` entries run as they are in a
 * compiled build, and through a tsx shim in a TypeScript checkout (Node 20
 * cannot start a Worker on a .ts file); the shim imports `workerData.entry`.
 * One place for the feed worker, the lease thread and the strategy pool.
 */

/** The script to start and the workerData keys it needs besides the caller's own. */
export interface WorkerScript {
  url: URL;
  data: { entry?: string };
}

const RUNNING_FROM_SOURCE = import.meta.url.endsWith('.ts');

/** `workers/<name>` as a Worker (or piscina) script; `shim`: the workers/ shim a checkout runs it through. */
export function workerScript(name: string, shim = 'dev-shim.mjs'): WorkerScript {
  return RUNNING_FROM_SOURCE
    ? { url: new URL(`../../workers/${shim}`, import.meta.url), data: { entry: new URL(`../../workers/${name}.ts`, import.meta.url).href } }
    : { url: new URL(`../../workers/${name}.js`, import.meta.url), data: {} };
}
