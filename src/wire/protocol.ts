/**
 * Limits and names of the protocol that the server enforces and the client
 * respects, written once for both (docs/protocol.md;
 * the OpenAPI document). Changing one changes the contract on both sides.
 */

/** Channels (names or wildcards) one subscribe or unsubscribe message may list. */
export const MAX_CHANNELS_PER_MESSAGE = 500;
/** Wildcards (names with a `*` segment) one subscribe or unsubscribe message may list: each is matched against every channel. */
export const MAX_WILDCARDS_PER_MESSAGE = 50;
/** Largest bars `snapshot` a subscribe may ask for. */
export const MAX_SNAPSHOT = 1000;

/** WebSocket subprotocol that asks for FlatBuffers binary messages (as `?format=fbs` does). */
export const FBS_SUBPROTOCOL = 'tickwire.fbs';
/** WebSocket subprotocol that asks for JSON text messages (the default). */
export const JSON_SUBPROTOCOL = 'tickwire.json';

/** Largest `limit` of a candles read (`GET /v1/candles`, the client's `candles()`). */
export const MAX_CANDLE_LIMIT = 5000;
/** `limit` of a candles read that names none. */
export const DEFAULT_CANDLE_LIMIT = 500;

/**
 * `items` cut into runs a subscribe or unsubscribe message may carry: at most
 * MAX_CHANNELS_PER_MESSAGE names, of which MAX_WILDCARDS_PER_MESSAGE
 * wildcards (a name with a `*`, counted as the server counts them), in order.
 */
export function messageChunks<T>(items: readonly T[], name: (item: T) => string): T[][] {
  const out: T[][] = [];
  let run: T[] = [];
  let wildcards = 0;
  for (const item of items) {
    const wild = name(item).includes('*');
    if (run.length === MAX_CHANNELS_PER_MESSAGE || (wild && wildcards === MAX_WILDCARDS_PER_MESSAGE)) {
      out.push(run);
      run = [];
      wildcards = 0;
    }
    run.push(item);
    if (wild) wildcards++;
  }
  if (run.length > 0) out.push(run);
  return out;
}
