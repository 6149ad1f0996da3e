/**
 * A feed's leadership announcement as an edge reads it (docs/scale-out.md,
 * "Operations"): a feed that takes or loses an exchange's lease publishes a
 * `LeadershipEvent` in JSON on the exchange's leadership subject
 * (subjects.ts); edges check it here and relay it to their `system` room.
 * Anything from the wire is checked field by field and its texts bounded,
 * so a stray or hostile publisher cannot put more than a short message into
 * subscribers' streams. Pure: no I/O.
 */
import type { LeadershipEvent } from '../model/events.ts';

/** Longest node name and reason relayed, characters (longer ones are cut). */
export const MAX_NODE = 200;
export const MAX_REASON = 300;

/** The announcement in `data`, or undefined when it is not one for an exchange in `exchanges`. */
export function readLeadership(data: Uint8Array, exchanges: { has(exchange: string): boolean }): LeadershipEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString());
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { exchange, state, node, term, reason, ts } = v as Record<string, unknown>;
  if (typeof exchange !== 'string' || !exchanges.has(exchange)) return undefined;
  if (state !== 'leader' && state !== 'standby') return undefined;
  if (typeof node !== 'string' || typeof reason !== 'string') return undefined;
  if (!Number.isSafeInteger(term) || (term as number) < 0 || typeof ts !== 'number' || !Number.isFinite(ts)) return undefined;
  return { exchange, state, node: cut(node, MAX_NODE), term: term as number, reason: cut(reason, MAX_REASON), ts };
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
