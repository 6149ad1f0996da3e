/**
 * The one clock every thread of a load run stamps with: `process.hrtime`,
 * monotonic and the same in every thread of the process (unlike
 * `performance.timeOrigin + now()`, which differs by milliseconds between
 * threads, measured in the soak). Send times (send-times.ts), receive times
 * (ws-client.ts and the subscriber threads) and the fake exchange's pacing
 * (rate-clock.ts) all read it, so a latency is one subtraction.
 */

/** Nanoseconds, as a double: exact to the ns for 104 days of uptime, to a few ns after. */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/** Microseconds on the same clock. */
export function nowUs(): number {
  return Number(process.hrtime.bigint()) / 1_000;
}
