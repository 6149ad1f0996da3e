/** Piscina task entry of the strategy pool: lowers this thread's priority once (thread-priority.ts), then runs user calls (src/strategies/task.ts). */
import { workerData } from 'node:worker_threads';
import { runTask } from '../src/strategies/task.ts';
import { applyPriority, type PriorityRequest } from '../src/strategies/thread-priority.ts';

applyPriority((workerData as { priority?: PriorityRequest } | undefined)?.priority);

export default runTask;
