/**
 * Entry point of the exchange feed worker (started by src/feed/supervisor.ts,
 * through dev-shim.mjs when running from TypeScript). The worker itself is
 * src/feed/worker.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FeedWorkerData } from '../src/feed/protocol.ts';
import { runFeedWorker } from '../src/feed/worker.ts';

runFeedWorker(workerData as FeedWorkerData, parentPort!);
