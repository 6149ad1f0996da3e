/**
 * The HTTP load client: one autocannon run in a worker thread, closed loop
 * (`connections` connections, each sending its next request when the last
 * answer came), for `seconds`.
 *
 * autocannon's own latency histogram has 1 ms resolution, too coarse for a
 * sub-millisecond goal, so every response time it reports (`response`
 * event, a float in ms) also goes into an HDR histogram in µs here.
 * Requests, statuses and bytes are counted here too: in a worker thread
 * autocannon hands back its raw, unaggregated result.
 * Posts `{type:'result', ...}` and exits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';
import * as hdr from 'hdr-histogram-js';
import { latencyHistogram } from './load/latency.ts';

/** What one run is: the URL, the connections in flight, the duration. */
export interface AutocannonJob {
  url: string;
  connections: number;
  seconds: number;
}

/** What a run measured, sent back to the orchestrator. */
export interface AutocannonResult {
  type: 'result';
  requests: number;
  /** Requests per second over the run. */
  rps: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  bytes: number;
  /** Response times, µs (compressed HDR histogram). */
  histogram: string;
  /** Event-loop utilization of the client thread: near 1 means the client itself was the limit. */
  elu: number;
}

const job = workerData as AutocannonJob;
const histogram = latencyHistogram();
const elu0 = performance.eventLoopUtilization();
const instance = autocannon({ url: job.url, connections: job.connections, duration: job.seconds, pipelining: 1 });
let requests = 0;
let non2xx = 0;
let bytes = 0;
instance.on('response', (_client: unknown, status: number, resBytes: number, responseTime: number) => {
  requests++;
  if (status < 200 || status > 299) non2xx++;
  bytes += resBytes;
  histogram.recordValue(Math.max(1, Math.round(responseTime * 1000)));
});
const result = await instance;
const elu = performance.eventLoopUtilization(elu0).utilization;
parentPort!.postMessage({
  type: 'result',
  requests,
  rps: requests / result.duration,
  non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  bytes,
  histogram: hdr.encodeIntoCompressedBase64(histogram),
  elu,
} satisfies AutocannonResult);
