/**
 * Entry point of a feed's lease thread (started by src/cluster/lease-thread.ts,
 * through dev-shim.mjs when running from TypeScript). The thread itself is
 * src/cluster/lease-worker.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runLeaseWorker, type LeaseWorkerData } from '../src/cluster/lease-worker.ts';

runLeaseWorker(workerData as LeaseWorkerData, parentPort!);
