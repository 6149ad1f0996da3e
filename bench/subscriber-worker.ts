/**
 * Fan-out subscribers: `connections` WebSocket clients (load/ws-client.ts) in
 * one worker thread, each subscribed to the same trades channel of the
 * gateway under test. Several of these threads make the K subscribers.
 *
 * For each measured phase (`arm` → frames flow → `report`) every connection
 * keeps a bitmap of the trade ids it received, so loss and duplicates are
 * exact per subscriber; each message's latency is its chunk's receive time
 * minus the frame's send time that the load generator stored in the shared
 * SendTimes table (same monotonic clock, load/clock.ts), recorded in a
 * WebAssembly HDR histogram (µs) that the orchestrator merges across threads.
 * A `gap` notice is counted as loss too. Messages are read in place
 * (load/frame-scan.ts over the chunk's byte range): no string or object is
 * made per message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import { MessageType, messageType, readExchangeTradeId, readTradeId } from './load/frame-scan.ts';
import { latencyHistogram } from './load/latency.ts';
import { SendTimes } from './load/send-times.ts';
import { BenchWsClient } from './load/ws-client.ts';
import { threadCpuMs } from './threads.ts';

/** What the orchestrator asks of a subscriber thread. */
export type SubscriberCommand = { type: 'arm'; firstId: number; count: number } | { type: 'report' } | { type: 'stop' };

/** One subscriber thread's results for the armed phase. */
export interface SubscriberReport {
  type: 'report';
  /** Messages of the armed phase received, over all connections (duplicates excluded). */
  received: number;
  expected: number;
  duplicates: number;
  /** `gap` notices (the server skipped messages for a slow consumer). */
  gaps: number;
  errors: number;
  /** Trade messages outside the armed phase's ids (stragglers of an earlier phase). */
  outOfPhase: number;
  /** Connections closed during the run. */
  closed: number;
  /** Receive time of the phase's last message, µs (load/clock.ts); NaN when none. */
  lastRecvUs: number;
  /** Bytes of every WebSocket frame received since `arm` (payload and header), any message. */
  bytes: number;
  /** Every message seen since start, any phase (to tell when the line has gone quiet). */
  totalMessages: number;
  histogram: string;
  /** Event-loop utilization of this thread since `arm`: near 1 means the client was saturated. */
  elu: number;
  /** CPU time this thread used since `arm`, % of one core (/proc/thread-self, 10 ms ticks; NaN off Linux). */
  cpuPct: number;
}

const data = workerData as { url: string; connections: number; channel: string; sendTimes: SharedArrayBuffer };
const port = parentPort!;
const sendTimes = new SendTimes(data.sendTimes);

await hdr.initWebAssembly();
let histogram = latencyHistogram(true);

// Phase state.
let firstId = 0;
let count = 0;
let received = 0;
let duplicates = 0;
let gaps = 0;
let errors = 0;
let outOfPhase = 0;
let lastRecvUs = NaN;
let totalMessages = 0;
let bytes = 0;
let completeSent = true;
let elu0 = performance.eventLoopUtilization();
let cpu0 = threadCpuMs();
let armedAt = performance.now();

/** One subscriber connection. */
class Sub {
  seen = new Uint8Array(0);
  subscribed = false;
  closedWhy = '';
  readonly client: BenchWsClient;
  private onSubscribed: (() => void) | undefined;

  constructor(url: URL) {
    this.client = new BenchWsClient(url, (buf, start, end, recvNs) => this.message(buf, start, end, recvNs), (why) => {
      this.closedWhy = why;
    });
  }

  async open(channel: string): Promise<void> {
    await this.client.connect();
    const ack = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "subscribed" from ${data.url} within 10 s`)), 10_000);
      this.onSubscribed = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.client.sendText(JSON.stringify({ op: 'subscribe', id: 1, channels: [channel] }));
    await ack;
  }

  private message(buf: Buffer, start: number, end: number, recvNs: number): void {
    totalMessages++;
    bytes += end - start + (end - start < 126 ? 2 : 4); // frame header: servers send < 64 KiB unmasked
    switch (messageType(buf, start, end)) {
      case MessageType.TRADE:
        this.trade(readTradeId(buf, start, end), recvNs);
        return;
      case MessageType.GAP:
        gaps++;
        return;
      case MessageType.SUBSCRIBED:
        this.subscribed = true;
        this.onSubscribed?.();
        return;
      case MessageType.ERROR:
        errors++;
        return;
      default: {
        // The floor relay forwards the exchange's frames unchanged.
        const id = readExchangeTradeId(buf, start, end);
        if (id === id) this.trade(id, recvNs);
        return;
      }
    }
  }

  /** A trade message with trade id `id`, received at `recvNs`: counted, checked for duplicates, its latency recorded. */
  private trade(id: number, recvNs: number): void {
    const k = id - firstId;
    if (!(k >= 0 && k < count)) {
      outOfPhase++; // a straggler of an earlier phase (or no id at all)
      return;
    }
    if (this.seen[k] === 1) {
      duplicates++;
      return;
    }
    this.seen[k] = 1;
    received++;
    const recvUs = recvNs / 1000;
    histogram.recordValue(Math.max(1, Math.round(recvUs - sendTimes.sentAt(id))));
    lastRecvUs = recvUs;
    if (received === count * subs.length && !completeSent) {
      completeSent = true;
      port.postMessage({ type: 'complete' });
    }
  }
}

const url = new URL(data.url);
const subs: Sub[] = [];
for (let i = 0; i < data.connections; i++) {
  const s = new Sub(url);
  subs.push(s);
  await s.open(data.channel);
}
port.postMessage({ type: 'ready' });

port.on('message', (cmd: SubscriberCommand) => {
  if (cmd.type === 'arm') {
    firstId = cmd.firstId;
    count = cmd.count;
    received = 0;
    duplicates = 0;
    gaps = 0;
    errors = 0;
    outOfPhase = 0;
    lastRecvUs = NaN;
    bytes = 0;
    completeSent = false;
    for (const s of subs) s.seen = new Uint8Array(count);
    histogram.destroy();
    histogram = latencyHistogram(true);
    elu0 = performance.eventLoopUtilization();
    cpu0 = threadCpuMs();
    armedAt = performance.now();
    port.postMessage({ type: 'armed' });
  } else if (cmd.type === 'report') {
    const report: SubscriberReport = {
      type: 'report',
      received,
      expected: count * subs.length,
      duplicates,
      gaps,
      errors,
      outOfPhase,
      closed: subs.filter((s) => s.client.closed).length,
      lastRecvUs,
      totalMessages,
      bytes,
      histogram: hdr.encodeIntoCompressedBase64(histogram),
      elu: performance.eventLoopUtilization(elu0).utilization,
      cpuPct: ((threadCpuMs() - cpu0) / (performance.now() - armedAt)) * 100,
    };
    port.postMessage(report);
  } else if (cmd.type === 'stop') {
    for (const s of subs) s.client.close();
    histogram.destroy();
    port.postMessage({ type: 'stopped' });
    port.close();
  }
});
