// Worker entry for TypeScript worker code in development and tests: Node 20 cannot start a
// Worker on a .ts file, so this registers tsx and then imports the module named in
// workerData.entry (a file URL). Compiled builds start the emitted .js worker directly.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
