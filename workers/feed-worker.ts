/**
 * The exchange feed worker: one per configured exchange. It owns the
 * WebSocket connection, the adapter, one BarAggregator per symbol and the
 * writing side of the exchange's shared buffers (see src/feed/protocol.ts).
 *
 * Per frame: parse → for each trade, aggregate (duplicates stop here) and
 * write a tick record; for each quote, feed the spread and write a tick
 * record; then publish both rings and ring the doorbell once. A timer closes
 * bars on the clock and reports status to the main thread.
 *
 * On start it resumes every aggregator from the bars already in shared
 * memory, so a restarted worker continues the same bars.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import { BarAggregator } from '../src/bars/aggregator.ts';
import { BarSeries } from '../src/buffers/bar-store.ts';
import { Doorbell } from '../src/buffers/doorbell.ts';
import { TickRing } from '../src/buffers/tick-ring.ts';
import { FrameKind, type ExchangeAdapter, type FeedHandler } from '../src/exchanges/adapter.ts';
import { GapRecovery } from '../src/feed/gap-recovery.ts';
import { adapterFor, capabilitiesOf, restUrlOf } from '../src/exchanges/registry.ts';
import { ClockOffset } from '../src/feed/clock-offset.ts';
import { FeedConnection } from '../src/feed/connection.ts';
import { nowMs } from '../src/model/clock.ts';
import { BufferWriter } from '../src/feed/buffer-writer.ts';
import { openBarEventRing, seriesIndex, type FeedWorkerData, type WorkerCommand, type WorkerStatus } from '../src/feed/protocol.ts';
import { type Bar } from '../src/model/records.ts';
import { bucketStart, parseTimeframe, type TimeframeName } from '../src/model/timeframes.ts';

const data = workerData as FeedWorkerData;
/** The venue's registry entry (the config was validated against it in the main thread). */
const entry = adapterFor(data.exchange)!;
const capabilities = capabilitiesOf(entry, data.settings);
const port = parentPort!;
const nTf = data.timeframes.length;

const ticks = new TickRing(data.buffers.ticks);
const barEvents = openBarEventRing(data.buffers.barEvents);
const dirty = new Int32Array(data.buffers.dirty);
const series = data.buffers.series.map((sab) => new BarSeries(sab));
const doorbell = new Doorbell(data.buffers.doorbell);
const clock = new ClockOffset();
const parseHistogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

let trades = 0;
let quotes = 0;
let lastError: string | null = null;
let state: WorkerStatus['state'] = 'connecting';

/** Ticks and bars to shared memory (see buffer-writer.ts). */
const writer = new BufferWriter(data.settings.symbols.length, ticks, series, dirty, barEvents, doorbell);

/**
 * A cold start over restored bars (a new process, not a supervisor restart:
 * no forming bar anywhere yet). The previous process's last bars may end long
 * ago: resuming from them would fill the downtime with flat bars that claim
 * nothing traded. So a timeframe resumes only when its newest stored bar is
 * the bucket just before the current one; otherwise it starts afresh and the
 * downtime stays without bars (unless backfill fetched them). Either way the
 * bar containing the start instant misses the trades before it: gapped.
 */
const coldStartAt = data.restored && series.every((s) => s.formingBar() === undefined) ? nowMs() : NaN;

function resumable(s: BarSeries, tf: TimeframeName): Bar[] {
  const bars = s.bars({ limit: 64 });
  if (coldStartAt !== coldStartAt) return bars;
  const { ms, origin } = parseTimeframe(tf);
  const newest = bars.at(-1);
  return newest !== undefined && newest.openTime + ms >= bucketStart(coldStartAt, ms, origin) ? bars : [];
}

const aggregators = data.settings.symbols.map((_, i) => {
  const agg = new BarAggregator(data.timeframes, writer.sinkFor(i, nTf), {
    graceMs: data.bars.graceMs,
    fillEmpty: data.bars.fillEmpty,
    lateToleranceMs: data.bars.lateToleranceMs,
    tradeIdOrder: capabilities.tradeIdOrder,
    session: entry.session?.(data.settings),
    blindUntil: coldStartAt,
  });
  for (let tf = 0; tf < nTf; tf++) agg.resume(tf, resumable(series[seriesIndex(i, tf, nTf)]!, data.timeframes[tf]!));
  return agg;
});

/** Local receive time of the frame being parsed, ms. */
let recvTs = 0;
let parseStart = 0;

/**
 * A trade stamped this far ahead of its receipt is refused and counted as a
 * parse error: no venue's clock is that far off, and accepting it would make
 * every later trade of the symbol "late" and dropped.
 */
const FUTURE_LIMIT_MS = 10 * 60_000;
let futureTrades = 0;

/** Gap recovery after reconnects, where the venue serves trades by id over REST (assigned below). */
let recovery: GapRecovery | undefined;

const handler: FeedHandler = {
  trade(symbol, ts, price, size, side, tradeId) {
    if (recovery !== undefined && recovery.holding[symbol] === 1) {
      recovery.hold(symbol, ts, price, size, side, tradeId); // delivered after the gap is filled
      return;
    }
    if (ts - recvTs > FUTURE_LIMIT_MS) {
      futureTrades++; // a bad timestamp: it would make every later trade of the symbol look late
      return;
    }
    clock.sample(ts, recvTs);
    if (!aggregators[symbol]!.addTrade(ts, price, size, side, tradeId)) return; // a duplicate
    if (recovery !== undefined && !(ts < recovery.lastTs[symbol]!)) {
      recovery.lastTs[symbol] = ts;
      recovery.lastId[symbol] = tradeId;
    }
    trades++;
    writer.trade(symbol, ts, recvTs, price, size, side, tradeId);
  },
  quote(symbol, ts, bidPrice, bidSize, askPrice, askSize) {
    const exchangeTs = ts === ts ? ts : recvTs + clock.offsetMs;
    aggregators[symbol]!.addQuote(exchangeTs, bidPrice, askPrice);
    quotes++;
    writer.quote(symbol, exchangeTs, recvTs, bidPrice, bidSize, askPrice, askSize);
  },
};

/**
 * One connection per group of symbols that fits the venue's streams-per-
 * connection limit. Each group's adapter numbers its symbols from 0, so its
 * handler shifts them to this worker's symbol indices.
 */
const symbolsPerConnection = Math.max(1, Math.floor(capabilities.maxStreamsPerConnection / data.settings.channels.length));
const connectionStates: WorkerStatus['state'][] = [];
const connections: FeedConnection[] = [];
/** Per connection: its adapter and whether it has been connected before (so 'connected' means a reconnect). */
const groupAdapters: ExchangeAdapter[] = [];
const everConnected: boolean[] = [];
/** Per connection: exchange-time bounds of its last outage. */
const outageStart: number[] = [];
const outageEnd: number[] = [];
/** Outages whose trades could not be fetched (bars marked gapped), besides failed recoveries. */
let gapsUnfilled = 0;
for (let first = 0; first < data.settings.symbols.length; first += symbolsPerConnection) {
  const group = data.settings.symbols.slice(first, first + symbolsPerConnection);
  const slot = connections.length;
  const adapter = entry.create(group, data.settings.channels, data.settings);
  groupAdapters.push(adapter);
  everConnected.push(false);
  const groupHandler: FeedHandler =
    first === 0
      ? handler
      : {
          trade: (s, ts, price, size, side, id) => handler.trade(s + first, ts, price, size, side, id),
          quote: (s, ts, bid, bidSize, ask, askSize) => handler.quote(s + first, ts, bid, bidSize, ask, askSize),
        };
  connectionStates.push('connecting');
  connections.push(
    new FeedConnection(
      adapter,
      data.url,
      groupHandler,
      {
        onState(s) {
          const was = connectionStates[slot];
          if (was === 'connected' && s !== 'connected') {
            outageStart[slot] = exchangeNow();
            recovery?.disconnected(first, group.length);
          }
          if (s === 'connected' && was !== 'connected' && everConnected[slot]) {
            outageEnd[slot] = exchangeNow();
            if (recovery !== undefined) recovery.reconnected(first, group.length);
            else markGapped(first, group.length, slot, `${data.exchange} serves no trade history: bars over the outage are marked gapped`);
          }
          if (s === 'connected') everConnected[slot] = true;
          connectionStates[slot] = s;
          state = overallState();
          report();
        },
        onFrame(kind) {
          if (kind === FrameKind.DATA) parseHistogram.recordValue(Math.max(1, Math.round((performance.now() - parseStart) * 1000)));
          writer.flush();
        },
        onError(message) {
          lastError = message;
        },
        onReceive(ts) {
          // Stamped before parse, so the handler's records carry it.
          recvTs = ts;
          parseStart = performance.now();
        },
      },
      data.connection,
    ),
  );
}

const restUrl = restUrlOf(entry, data.settings);
const pageFetcher = groupAdapters[0]?.tradesFrom;
if (restUrl !== undefined && pageFetcher !== undefined) {
  recovery = new GapRecovery(
    data.settings.symbols.length,
    {
      fetchPage: (symbol, fromId, fromTs) => {
        const adapter = groupAdapters[Math.floor(symbol / symbolsPerConnection)]!;
        return adapter.tradesFrom!(restUrl, data.settings.symbols[symbol]!, fromId, fromTs);
      },
      deliver(symbol, t) {
        recvTs = nowMs();
        handler.trade(symbol, t.ts, t.price, t.size, t.side, t.id);
      },
      done(symbol, recovered, error) {
        writer.flush();
        if (error === undefined) {
          if (recovered > 0) lastError = null;
          return;
        }
        lastError = `${data.settings.symbols[symbol]}: ${error}`;
        const slot = Math.floor(symbol / symbolsPerConnection);
        aggregators[symbol]!.markGap(outageStart[slot]!, outageEnd[slot]!);
        writer.flush();
        report();
      },
    },
    { pageSize: groupAdapters[0]!.restPageSize ?? 1000 },
  );
}

/** Exchange time now, as estimated from the local clock and the measured offset. */
function exchangeNow(): number {
  return nowMs() + clock.offsetMs;
}

/** Bars of symbols [first, first + count) over connection `slot`'s last outage may miss trades: mark them. */
function markGapped(first: number, count: number, slot: number, why: string): void {
  for (let i = first; i < first + count; i++) aggregators[i]!.markGap(outageStart[slot]!, outageEnd[slot]!);
  gapsUnfilled++;
  lastError = why;
  writer.flush();
  report(); // a status event right away
}

/** Connected only when every connection is; otherwise the least healthy state. */
function overallState(): WorkerStatus['state'] {
  for (const s of ['stopped', 'circuit_open', 'reconnecting', 'connecting'] as const) if (connectionStates.includes(s)) return s;
  return 'connected';
}

/** Local time of the newest frame on any connection, NaN before the first. */
function lastFrameAt(): number {
  let last = NaN;
  for (const c of connections) if (!(c.lastFrameAt <= last)) last = c.lastFrameAt;
  return last;
}

function sum(f: (c: FeedConnection) => number): number {
  let total = 0;
  for (const c of connections) total += f(c);
  return total;
}

function report(): void {
  let late = 0;
  let dupes = 0;
  for (const agg of aggregators) {
    late += agg.lateDropped;
    dupes += agg.duplicatesDropped;
  }
  const status: WorkerStatus = {
    type: 'status',
    state,
    reconnects: sum((c) => c.reconnects),
    frames: sum((c) => c.frames),
    trades,
    quotes,
    parseErrors: sum((c) => c.parseErrors) + futureTrades,
    lateTradesDropped: late,
    duplicateTradesDropped: dupes,
    recoveredTrades: recovery?.recovered ?? 0,
    unrecoveredGaps: (recovery?.failures ?? 0) + gapsUnfilled,
    clockOffsetMs: clock.offsetMs,
    lastFrameAt: lastFrameAt(),
    lastError,
    parseHistogram: hdr.encodeIntoCompressedBase64(parseHistogram),
  };
  parseHistogram.reset();
  port.postMessage(status);
}

const tick = setInterval(() => {
  const now = nowMs();
  for (let i = 0; i < aggregators.length; i++) {
    if (recovery !== undefined && recovery.paused[i] === 1) continue; // disconnected: it may be trading unseen
    const agg = aggregators[i]!;
    agg.clockOffsetMs = clock.offsetMs;
    agg.advance(now);
  }
  writer.flush();
}, data.tickMs);
const statusTimer = setInterval(report, data.statusMs);

port.on('message', (cmd: WorkerCommand) => {
  if (cmd.type === 'stop') {
    clearInterval(tick);
    clearInterval(statusTimer);
    for (const c of connections) c.stop();
    recovery?.stop();
    writer.flush();
    port.postMessage({ type: 'stopped' });
    port.close();
  } else if (cmd.type === 'crash') {
    setImmediate(() => {
      throw new Error('crash requested (fault injection)');
    });
  } else if (cmd.type === 'hang') {
    const until = Date.now() + 3_600_000;
    while (Date.now() < until); // stops answering, as a stuck parser would
  }
});

for (const c of connections) c.start();
report();
