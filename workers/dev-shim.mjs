// Entry for TypeScript code in development and tests, in a worker thread or a child process:
// Node 20 cannot start a Worker on a .ts file, so this registers tsx and then imports the module
// named in workerData.entry (a worker) or in the first argument (a child process; its own
// arguments follow). Compiled builds start the emitted .js directly.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData?.entry ?? process.argv[2]);
