/**
 * The FlatBuffers binary wire format (issue 5): what a client gets from
 * `/v1/stream?format=fbs` (or the `tickwire.fbs` subprotocol) and from
 * `GET /v1/candles/...?format=fbs`.
 *
 * Contract
 *  - schema/*.fbs is the single source of the format; the generated
 *    TypeScript (schema/generated/, `npm run schema`) is committed.
 *  - One WebSocket binary frame is one `Message` (file identifier "TWS1")
 *    whose `body` union holds one stream message; a candles answer is one
 *    `Candles` table ("TWC1"). Client→server ops stay JSON text.
 *  - The values are the JSON protocol's: `decodeMessage(bytes)` equals
 *    `JSON.parse(text)` for the same message sent as JSON, field for field
 *    (src/wire/messages.ts has the shapes). Numbers are doubles (times,
 *    seqs and trade ids exact to 2^53 - 1); what JSON writes as null (an
 *    absent trade id, NaN vwap or spread, any non-finite number) decodes to
 *    null.
 *  - `FbsEncoder` (server side) returns views valid until its next call.
 *  - Strings are UTF-8: a lone UTF-16 surrogate, which JSON text can escape,
 *    arrives as U+FFFD.
 */
export { FbsEncoder } from './encoder.ts';
export { decodeCandles, decodeMessage } from './decoder.ts';
export type { Id } from './messages.ts';

/** File identifiers (schema `file_identifier`): stream messages and candle responses. */
export const STREAM_FILE_ID = 'TWS1';
export const CANDLES_FILE_ID = 'TWC1';
/** HTTP content type of `format=fbs` answers. */
export const FLATBUFFERS_TYPE = 'application/x-flatbuffers';
