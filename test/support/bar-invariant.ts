/** A bar whose every field derives from (openTime, version), so a torn read is detectable. */
import { BarField as F } from '../../src/model/records.ts';

/** Write the invariant bar for (openTime, version) into `buf` at 0. */
export function writeInvariantBar(buf: Float64Array, openTime: number, version: number, closed: boolean, revision: number): void {
  buf[F.OPEN_TIME] = openTime;
  buf[F.CLOSE_TIME] = openTime + 999;
  buf[F.OPEN] = version;
  buf[F.HIGH] = version + 3;
  buf[F.LOW] = version - 3;
  buf[F.CLOSE] = version + 1;
  buf[F.VOLUME] = version * 2;
  buf[F.QUOTE_VOLUME] = version * 4;
  buf[F.BUY_VOLUME] = version;
  buf[F.SELL_VOLUME] = version;
  buf[F.TRADES] = version % 1_000;
  buf[F.FIRST_TRADE_ID] = openTime * 7 + version;
  buf[F.LAST_TRADE_ID] = openTime * 7 + version + 1;
  buf[F.VWAP] = 2 + openTime;
  buf[F.SPREAD] = version / 2;
  buf[F.CLOSED] = closed ? 1 : 0;
  buf[F.REVISION] = revision;
}

/** True when the bar at `off` is exactly some (openTime, version) bar. */
export function invariantHolds(buf: Float64Array, off: number): boolean {
  const t = buf[off + F.OPEN_TIME]!;
  const v = buf[off + F.OPEN]!;
  return (
    buf[off + F.CLOSE_TIME] === t + 999 &&
    buf[off + F.HIGH] === v + 3 &&
    buf[off + F.LOW] === v - 3 &&
    buf[off + F.CLOSE] === v + 1 &&
    buf[off + F.VOLUME] === v * 2 &&
    buf[off + F.QUOTE_VOLUME] === v * 4 &&
    buf[off + F.BUY_VOLUME] === v &&
    buf[off + F.SELL_VOLUME] === v &&
    buf[off + F.TRADES] === v % 1_000 &&
    buf[off + F.FIRST_TRADE_ID] === t * 7 + v &&
    buf[off + F.LAST_TRADE_ID] === t * 7 + v + 1 &&
    buf[off + F.VWAP] === 2 + t &&
    buf[off + F.SPREAD] === v / 2
  );
}
