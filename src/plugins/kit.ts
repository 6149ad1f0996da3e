/**
 * What the host hands a plugin (`context.kit`, docs/plugins.md): the frame
 * kinds `parse` returns, the venue's REST GET through tickwire's shared,
 * adaptive limiter (src/exchanges/rest.ts), and the number checks the
 * built-in adapters use on untrusted frames. Handed over rather than
 * imported, a plugin needs no runtime dependency on tickwire: the contract
 * version alone says what it may rely on.
 */
import type { VenueRestError } from '../errors.ts';
import { FrameKind } from '../exchanges/adapter.ts';
import { decimalWithExponent, isEpochMs, isQuantity, isTradeId, parseRfc3339Ms, venueText } from '../exchanges/decode.ts';
import { answerError, restGet, type RestAnswer, type RestRequest } from '../exchanges/rest.ts';

/** The helpers of `context.kit`. */
export interface PluginKit {
  /** What `parse` returns: DATA, ACK, ERROR, SHUTDOWN, IGNORED, MALFORMED. */
  readonly FrameKind: typeof FrameKind;
  /** GET a URL of the venue's REST API, paced by the venue's shared limiter; throws VenueRestError only when no answer came. */
  restGet(url: string | URL, request?: RestRequest): Promise<RestAnswer>;
  /** The error to throw from `tradesFrom` about an answer the venue got wrong (status, shape). */
  restError(answer: RestAnswer, message: string): VenueRestError;
  /** A price or size as a JSON number: finite, ≥ 0, below 1e39. */
  isQuantity(v: unknown): v is number;
  /** An epoch-ms time as a JSON integer, between 2000 and 2100. */
  isEpochMs(v: unknown): v is number;
  /** A trade id as a JSON number: a non-negative safe integer. */
  isTradeId(v: unknown): v is number;
  /** A decimal string (`"61800.30"`, `"1e-8"`) as a number; NaN for anything else. */
  decimal(v: unknown): number;
  /** An RFC 3339 time (`2024-08-09T00:00:00.123Z`) as epoch ms; NaN when malformed. */
  rfc3339Ms(s: string): number;
  /** Venue text cut to a length fit for an error message (it reaches logs and /v1/status). */
  venueText(s: string): string;
}

/** The kit for the plugin serving exchange `venue` (its REST calls share that venue's limiter). */
export function pluginKit(venue: string): PluginKit {
  return {
    FrameKind,
    restGet: (url, request) => restGet(venue, url, request),
    restError: answerError,
    isQuantity,
    isEpochMs,
    isTradeId,
    decimal: decimalWithExponent,
    rfc3339Ms: (s) => parseRfc3339Ms(s),
    venueText,
  };
}
