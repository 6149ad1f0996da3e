/** Piscina task entry of the strategy pool: runs one user call (src/strategies/task.ts). */
import { runTask } from '../src/strategies/task.ts';

export default runTask;
