/**
 * The part of autocannon's programmatic API the benchmark uses (the package
 * ships no type declarations). See node_modules/autocannon/README.md.
 */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface Options {
    url: string;
    connections?: number;
    /** Seconds. */
    duration?: number;
    pipelining?: number;
  }

  /** The fields common to the aggregated result and the raw one a worker thread gets. */
  interface Result {
    /** Seconds the run took. */
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
  }

  /**
   * A running benchmark: an EventEmitter that is also a promise of the result.
   * `response` is emitted per answer with (client, statusCode, bytes, responseTime in ms).
   */
  type Instance = EventEmitter & PromiseLike<Result>;

  function autocannon(options: Options): Instance;
  export default autocannon;
}
