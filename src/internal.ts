/**
 * tickwire's internal entry (`tickwire/internal`), for benchmarks, tests and
 * tools that work on the shared memory directly: the rings, the bar store and
 * the doorbell, the tick record layout they carry, and the FlatBuffers
 * encoder. No stability promise: these change with the implementation. What
 * users need is the public entry, `tickwire` (src/index.ts).
 */
export type { RecordVisitor } from './buffers/tick-ring.ts';
export { TickRing } from './buffers/tick-ring.ts';
export type { BarRange } from './buffers/bar-store.ts';
export { BarSeries, BarStore } from './buffers/bar-store.ts';
export type { DoorbellListener } from './buffers/doorbell.ts';
export { Doorbell } from './buffers/doorbell.ts';
export { TickField, TickKind, TICK_FIELDS } from './model/records.ts';
export { FbsEncoder } from './wire/fbs.ts';
