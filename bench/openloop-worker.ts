/**
 * The open-loop HTTP load client: GET `path` at a fixed `rate` for
 * `seconds`, whatever the answers do, over `connections` keep-alive sockets.
 * autocannon is closed loop (a connection sends its next request when the
 * last answer came), so a slow answer delays the requests behind it and a
 * stall hides in fewer samples; here each request has its time in a
 * schedule (request i at start + i / rate), sent on the socket with the
 * fewest answers outstanding (pipelined when none is idle), so a slow answer
 * is measured as slow and nothing waits for it.
 *
 * Latency is from the request's write to the last byte of its answer (µs,
 * HDR). How late the writes were against the schedule (the client's own
 * timer and event loop, not the server) is a second histogram, reported
 * beside it, and a third holds each answer's time from its *scheduled*
 * send (corrected for coordinated omission: a request the client wrote
 * late is charged the wait too, as a user on that schedule saw it). When
 * the corrected tail is far above the measured one, the client's lateness,
 * not the server, made it; the client's own CPU time per request says how
 * busy it was. Answers are read as HTTP/1.1 with `Content-Length` (what the
 * server under test sends; a chunked answer is an error here).
 * Posts `{type:'result', ...}` and exits.
 */
import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import { latencyHistogram } from './load/latency.ts';
import { threadCpuMs } from './threads.ts';

/** One open-loop run. */
export interface OpenLoopJob {
  host: string;
  port: number;
  /** Path and query, e.g. `/v1/candles/binance/BTCUSDT/1m?limit=50`. */
  path: string;
  /** Requests per second. */
  rate: number;
  seconds: number;
  connections: number;
}

/** What a run measured. */
export interface OpenLoopResult {
  type: 'result';
  sent: number;
  answered: number;
  non2xx: number;
  /** Answers still outstanding when the run gave up waiting (5 s after the last write). */
  unanswered: number;
  /** Write → whole answer, µs (compressed HDR histogram). */
  histogram: string;
  /** Schedule → write, µs (compressed HDR histogram): the client's own lateness. */
  lagHistogram: string;
  /** Schedule → whole answer, µs (compressed HDR histogram): corrected for coordinated omission. */
  scheduledHistogram: string;
  /** CPU time of this thread over the run, ms (NaN where /proc is not there). */
  cpuMs: number;
  /** Event-loop utilization of this thread: near 1, the client could not keep the schedule. */
  elu: number;
}

const job = workerData as OpenLoopJob;
const latency = latencyHistogram();
const lag = latencyHistogram();
const scheduled = latencyHistogram();
const request = Buffer.from(`GET ${job.path} HTTP/1.1\r\nHost: ${job.host}:${job.port}\r\nConnection: keep-alive\r\n\r\n`, 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;

let non2xx = 0;
let answered = 0;

/** One keep-alive socket: the write times of its outstanding requests (FIFO) and the bytes of the answer being read. */
class Conn {
  readonly socket: net.Socket;
  readonly sentAt: number[] = [];
  /** When each outstanding request was due by the schedule (FIFO, beside `sentAt`). */
  readonly dueAt: number[] = [];
  #pending: Buffer = Buffer.alloc(0);

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
  }

  send(now: number, due: number): void {
    this.sentAt.push(now);
    this.dueAt.push(due);
    this.socket.write(request);
  }

  /** Take every whole answer in the bytes received so far. */
  #read(chunk: Buffer): void {
    let buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    for (;;) {
      const headEnd = buf.indexOf(HEAD_END);
      if (headEnd < 0) break;
      const head = buf.toString('latin1', 0, headEnd + 2);
      const m = CONTENT_LENGTH.exec(head);
      if (m === null) throw new Error(`open-loop client: an answer without Content-Length: ${head.slice(0, 200)}`);
      const total = headEnd + 4 + Number(m[1]);
      if (buf.length < total) break;
      const at = performance.now();
      const sent = this.sentAt.shift();
      if (sent === undefined) throw new Error('open-loop client: an answer to no request');
      latency.recordValue(Math.max(1, Math.round((at - sent) * 1000)));
      scheduled.recordValue(Math.max(1, Math.round((at - this.dueAt.shift()!) * 1000)));
      answered++;
      if (!head.startsWith('HTTP/1.1 2')) non2xx++;
      buf = buf.subarray(total);
    }
    this.#pending = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf); // a copy: the chunk's memory is not ours to keep
  }
}

function connect(): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(job.port, job.host, () => resolve(new Conn(socket)));
    socket.once('error', reject);
  });
}

const conns = await Promise.all(Array.from({ length: job.connections }, connect));
const elu0 = performance.eventLoopUtilization();
const cpu0 = threadCpuMs();
const start = performance.now();
const total = Math.round(job.rate * job.seconds);
const intervalMs = 1000 / job.rate;
let sent = 0;
/** When the last request was written: a late client still gives its last answers their 5 s. */
let lastWriteAt = start;

/** Send every request whose time has come, each on the socket with the fewest outstanding. */
function tick(): void {
  const now = performance.now();
  while (sent < total && start + sent * intervalMs <= now) {
    let best = conns[0]!;
    for (const c of conns) if (c.sentAt.length < best.sentAt.length) best = c;
    const at = performance.now();
    const due = start + sent * intervalMs;
    lag.recordValue(Math.max(1, Math.round((at - due) * 1000)));
    best.send(at, due);
    lastWriteAt = at;
    sent++;
  }
  if (sent < total) setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()));
}
tick();
await new Promise<void>((resolve) => {
  const check = setInterval(() => {
    const waitedOut = sent === total && performance.now() > lastWriteAt + 5_000;
    if ((sent === total && answered === sent) || waitedOut) {
      clearInterval(check);
      resolve();
    }
  }, 20);
});
const elu = performance.eventLoopUtilization(elu0).utilization;
const cpuMs = threadCpuMs() - cpu0;
for (const c of conns) c.socket.destroy();
parentPort!.postMessage({
  type: 'result',
  sent,
  answered,
  non2xx,
  unanswered: sent - answered,
  histogram: hdr.encodeIntoCompressedBase64(latency),
  lagHistogram: hdr.encodeIntoCompressedBase64(lag),
  scheduledHistogram: hdr.encodeIntoCompressedBase64(scheduled),
  cpuMs,
  elu,
} satisfies OpenLoopResult);
