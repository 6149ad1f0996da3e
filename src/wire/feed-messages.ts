/**
 * JSON of the stream's feed and portfolio messages (JSON only: these have no
 * FlatBuffers form; a binary subscriber of `system` is told of a `source`
 * message by a `gap` with reason `json_only`).
 *
 *  - `prices:<feed>`: `{"type":"price","channel","seq","feed","price","bid","ask","source","ts","sourceTs"}`
 *  - `prices:<feed>` and `system`: `{"type":"source","channel","seq","feed","from","to","reason","ts"}`
 *  - `portfolio:<id>`: `{"type":"portfolio","channel","seq","id","quote","value","change":{"abs","pct","since"},"holdings":[...],"stale":[...],"ts"}`
 */
import type { PortfolioEvent, PriceEvent, SourceEvent } from '../model/events.ts';

/** Gap reason for a message that exists only in JSON. */
export const JSON_ONLY = 'json_only';

export function priceMessage(channel: string, seq: number, e: PriceEvent): string {
  return JSON.stringify({ type: 'price', channel, seq, feed: e.feed, price: e.price, bid: e.bid, ask: e.ask, source: e.source, ts: e.ts, sourceTs: e.sourceTs });
}

export function sourceMessage(channel: string, seq: number, e: SourceEvent): string {
  return JSON.stringify({ type: 'source', channel, seq, feed: e.feed, from: e.from, to: e.to, reason: e.reason, ts: e.ts });
}

export function portfolioMessage(channel: string, seq: number, e: PortfolioEvent): string {
  return JSON.stringify({ type: 'portfolio', channel, seq, id: e.id, quote: e.quote, value: e.value, change: e.change, holdings: e.holdings, stale: e.stale, ts: e.ts });
}
