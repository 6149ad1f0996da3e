/**
 * Soak subscribers: one worker thread holding several `/v1/stream`
 * connections (the `ws` client, as a user's Node client would), each
 * subscribed to one symbol's trades and 1m bars with a bars snapshot.
 * Started through workers/dev-shim.mjs.
 *
 * Per message it reads only type, `seq` and `tradeId` from the bytes
 * (bench/load/frame-scan.ts) and checks that each channel's seq is contiguous (the
 * snapshot's seq is the bars channel's start); a trade's latency is its
 * receipt time minus its send time from the shared SendTimes table, recorded
 * in an HDR histogram per window (µs). On `window` it reports and resets the
 * window's figures; the loss counters are cumulative.
 */
import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { nowUs } from '../../bench/load/clock.ts';
import { MessageType, messageType, readSeq, readTradeId } from '../../bench/load/frame-scan.ts';
import { latencyHistogram } from '../../bench/load/latency.ts';
import { SendTimes } from '../../bench/load/send-times.ts';
import type { SubscriberCommand, SubscriberEvent, SubscriberWindow, SubscriberWorkerData } from './protocol.ts';

/** How long a normal close may take before the sockets are cut, ms. */
const CLOSE_WAIT_MS = 2_000;
/** Latencies above this are recorded at this value, µs. */
const HIGHEST_US = 60_000_000;

const data = workerData as SubscriberWorkerData;
const port = parentPort!;
const sendTimes = new SendTimes(data.sendTimes);
const histogram = latencyHistogram();

const tradesPerSymbol: Record<string, number> = {};
for (const s of data.symbols) tradesPerSymbol[s] = 0;
let messages = 0;
let trades = 0;
let bars = 0;
let missed = 0;
let duplicates = 0;
let gapNotices = 0;
let errors = 0;
let disconnects = 0;
let unmatched = 0;
let ready = 0;
let closing = false;

/** One connection: its symbol, channels and the last seq seen on each. */
interface Subscriber {
  readonly symbol: string;
  readonly tradesChannel: string;
  readonly barsChannel: string;
  readonly ws: WebSocket;
  tradeSeq: number;
  barSeq: number;
  subscribed: boolean;
}

function post(event: SubscriberEvent): void {
  port.postMessage(event);
}

/** Fold `seq` into a channel whose last seq is `last` (0: none yet); returns the new last. */
function advance(last: number, seq: number): number {
  if (seq !== seq) {
    errors++;
    return last;
  }
  if (last !== 0) {
    if (seq > last + 1) missed += seq - last - 1;
    else if (seq <= last) duplicates++;
  }
  return seq > last ? seq : last;
}

function onMessage(sub: Subscriber, buf: Buffer): void {
  messages++;
  switch (messageType(buf)) {
    case MessageType.TRADE: {
      const received = nowUs();
      trades++;
      tradesPerSymbol[sub.symbol]!++;
      sub.tradeSeq = advance(sub.tradeSeq, readSeq(buf));
      const sent = sendTimes.sentAt(readTradeId(buf));
      if (sent === sent) histogram.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(received - sent))));
      else unmatched++;
      return;
    }
    case MessageType.BAR:
      bars++;
      sub.barSeq = advance(sub.barSeq, readSeq(buf));
      return;
    case MessageType.SNAPSHOT:
      sub.barSeq = readSeq(buf);
      return;
    case MessageType.SUBSCRIBED:
      if (!sub.subscribed) {
        sub.subscribed = true;
        if (++ready === data.symbols.length) post({ type: 'ready', connections: ready });
      }
      return;
    case MessageType.GAP: {
      const gap = JSON.parse(buf.toString()) as { channel: string; fromSeq: number; toSeq: number };
      gapNotices++;
      missed += gap.toSeq - gap.fromSeq + 1;
      if (gap.channel === sub.tradesChannel) sub.tradeSeq = Math.max(sub.tradeSeq, gap.toSeq);
      else if (gap.channel === sub.barsChannel) sub.barSeq = Math.max(sub.barSeq, gap.toSeq);
      return;
    }
    case MessageType.ERROR:
      errors++;
      return;
    default:
      return; // pong and the like: nothing asked for them
  }
}

function connect(symbol: string, localAddress: string | undefined): Subscriber {
  const ws = new WebSocket(data.url, { perMessageDeflate: false, localAddress });
  const sub: Subscriber = {
    symbol,
    tradesChannel: `trades:${data.exchange}:${symbol}`,
    barsChannel: `bars:${data.exchange}:${symbol}:1m`,
    ws,
    tradeSeq: 0,
    barSeq: 0,
    subscribed: false,
  };
  ws.on('open', () => {
    ws.send(JSON.stringify({ op: 'subscribe', id: 1, channels: [sub.tradesChannel, sub.barsChannel], snapshot: data.snapshot }));
  });
  ws.on('message', (buf) => onMessage(sub, buf as Buffer)); // binaryType 'nodebuffer': always one Buffer
  ws.on('error', (err) => {
    if (!sub.subscribed) post({ type: 'failed', message: `subscriber for ${symbol} could not connect: ${err.message}` });
  });
  ws.on('close', () => {
    if (!closing) disconnects++;
  });
  return sub;
}

function window(): SubscriberWindow {
  const w: SubscriberWindow = {
    type: 'window',
    latency: encodeIntoCompressedBase64(histogram),
    messages,
    trades,
    bars,
    tradesPerSymbol: { ...tradesPerSymbol },
    missed,
    duplicates,
    gapNotices,
    errors,
    disconnects,
    unmatched,
  };
  histogram.reset();
  messages = 0;
  trades = 0;
  bars = 0;
  return w;
}

const subscribers = data.symbols.map((symbol, i) => connect(symbol, data.localAddresses?.[i]));

port.on('message', (cmd: SubscriberCommand) => {
  if (cmd.type === 'window') {
    post(window());
    return;
  }
  closing = true;
  let open = 0;
  for (const sub of subscribers) {
    if (sub.ws.readyState === WebSocket.CLOSED) continue;
    open++;
    sub.ws.once('close', () => {
      if (--open === 0) port.close();
    });
    sub.ws.close(1000);
  }
  if (open === 0) port.close();
  // A gateway that no longer answers the closing handshake: cut the sockets.
  setTimeout(() => {
    for (const sub of subscribers) sub.ws.terminate();
  }, CLOSE_WAIT_MS).unref();
});
