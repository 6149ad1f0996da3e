// Piscina entry for TypeScript tasks in development and tests: Node 20 cannot start a worker on a
// .ts file, so this registers tsx, imports the task module named in workerData.entry and hands
// piscina its default export. Compiled builds point piscina at the emitted .js directly.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const task = await import(workerData.entry);
export default task.default;
