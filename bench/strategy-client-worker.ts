/**
 * The strategies bench's subscriber, in a worker thread of its own: one
 * WebSocket client taking the trades and every strategy's signals. In the
 * gateway's main thread it would charge the gateway for parsing what it
 * receives (a hundred signal messages at each close) and delay the very trades
 * it measures; a real subscriber is elsewhere.
 *
 * `measure` starts recording a slice (from empty histograms) and ends it
 * once it has lasted `minMs` and holds `minTrades` trades, or at `maxMs`
 * (the simulated market has quiet spells of seconds without a trade: a
 * slice of a fixed time could hold none); it then answers with the trade latency (the message's `recvTs`, the
 * feed worker's receipt of the frame, → its arrival here) and the closed
 * bar → signal latency (the bar's end, its open time + 1 s on this
 * machine's clock which the simulated exchange stamps trades with → the
 * signal's arrival), both HDR histograms in µs, and this thread's CPU time
 * over the slice and its length; the connection stays for the next slice
 * until `close`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import WebSocket from 'ws';
import { latencyHistogram } from './load/latency.ts';
import { threadCpuMs } from './threads.ts';

/** What the orchestrator asks of the client. */
export type ClientCommand = { type: 'measure'; minMs: number; minTrades: number; maxMs: number } | { type: 'close' };

/** The client's results for one measured slice. */
export interface ClientReport {
  type: 'report';
  /** Encoded HDR histograms (µs). */
  trade: string;
  signal: string;
  /** This thread's CPU time over the slice, ms (10 ms resolution; NaN off Linux). */
  cpuMs: number;
  /** How long the slice lasted, ms. */
  ms: number;
}

/** How often a slice past its `minMs` checks whether it holds its trades, ms. */
const CHECK_MS = 100;

const data = workerData as { url: string; channels: string[] };
const port = parentPort!;
const trade = latencyHistogram();
const signal = latencyHistogram();
let measuring = false;
let cpu0 = NaN;

const ws = new WebSocket(data.url);
ws.on('error', (err) => port.postMessage({ type: 'error', message: err.message }));
ws.on('message', (raw) => {
  const now = performance.timeOrigin + performance.now();
  if (!measuring) return;
  const m = JSON.parse(raw.toString()) as { type: string; recvTs?: number; barOpenTime?: number };
  if (m.type === 'trade') trade.recordValue(Math.max(1, Math.round((now - m.recvTs!) * 1000)));
  else if (m.type === 'signal') signal.recordValue(Math.max(1, Math.round((now - (m.barOpenTime! + 1000)) * 1000)));
});
ws.once('open', () => ws.send(JSON.stringify({ op: 'subscribe', id: 1, channels: data.channels })));
ws.on('message', function subscribed(raw) {
  if (!raw.toString().startsWith('{"type":"subscribed"')) return;
  ws.off('message', subscribed);
  port.postMessage({ type: 'ready' });
});

port.on('message', (c: ClientCommand) => {
  if (c.type === 'close') {
    measuring = false;
    ws.terminate();
    port.close();
    return;
  }
  trade.reset();
  signal.reset();
  measuring = true;
  cpu0 = threadCpuMs();
  const t0 = performance.now();
  const check = (): void => {
    const ms = performance.now() - t0;
    if (trade.totalCount < c.minTrades && ms < c.maxMs) {
      setTimeout(check, CHECK_MS);
      return;
    }
    measuring = false;
    const report: ClientReport = {
      type: 'report',
      trade: hdr.encodeIntoCompressedBase64(trade),
      signal: hdr.encodeIntoCompressedBase64(signal),
      cpuMs: threadCpuMs() - cpu0,
      ms,
    };
    port.postMessage(report);
  };
  setTimeout(check, c.minMs);
});
