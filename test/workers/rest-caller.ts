/**
 * The worker side of the shared REST limiter test: as a feed worker does,
 * it makes the limiter over the main thread's memory its thread's own, then
 * GETs `url` once through `restGet` and posts the answer's status.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { restGet } from '../../src/exchanges/rest.ts';
import { RestLimiter, useRestLimiterForThread } from '../../src/exchanges/rest-limiter.ts';

const { venue, buffer, url } = workerData as { venue: string; buffer: SharedArrayBuffer; url: string };
useRestLimiterForThread(new RestLimiter(venue, buffer));
const answer = await restGet(venue, url);
parentPort!.postMessage(answer.status);
