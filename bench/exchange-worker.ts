/**
 * The fan-out benchmark's load generator: the load harness's fake Binance
 * (load/fake-exchange.ts) in a worker thread, playing @trade frames of one
 * symbol at a fixed rate to whichever gateway subscribed, in phases the
 * orchestrator sets (fanout.ts; http.ts only fills history).
 *
 * A phase's trade ids are `firstId + i`; each frame's send time goes into the
 * shared SendTimes table just before the send, so subscriber threads compute
 * frame sent → message received on one clock. Prices, sizes and aggressor
 * flags cycle through the recorded tape (frames.ts); the trade time is the
 * wall clock at send, as a live venue's would be.
 *
 * Pacing: a SEND_TICK_MS (1 ms) timer; each tick sends every frame the rate
 * owes by then (load/rate-clock.ts) plus one, so the first frame goes out at
 * once and the average rate is exact. Commands (from the orchestrator):
 * `waitSubscribed`, `play`, `history` (a burst of back-dated trades to fill
 * bars), `stop`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { tape } from './frames.ts';
import { tradePayload, tradeStream } from './load/binance-trade.ts';
import { nowUs } from './load/clock.ts';
import { FakeExchange } from './load/fake-exchange.ts';
import { RateClock, SEND_TICK_MS } from './load/rate-clock.ts';
import { SEND_TIME_SLOTS } from './load/send-times.ts';
import { threadCpuMs } from './threads.ts';

/** What the orchestrator asks of the load generator. */
export type ExchangeCommand =
  | { type: 'waitSubscribed'; timeoutMs: number }
  | { type: 'play'; firstId: number; count: number; rate: number }
  | { type: 'history'; firstId: number; count: number; fromTs: number; stepMs: number }
  | { type: 'stop' };

/** What the load generator answers (`error` for a command that failed). Times are clock.ts µs. */
export type ExchangeReply =
  | { type: 'listening'; url: string }
  | { type: 'subscribed' }
  | { type: 'played'; sent: number; firstSendUs: number; lastSendUs: number; ms: number; elu: number; /** This thread's CPU time while playing, ms (NaN off Linux). */ cpuMs: number; /** WebSocket bytes sent per gateway (frames and headers). */ bytes: number }
  | { type: 'stopped' }
  | { type: 'error'; message: string };

/** workerData: the SendTimes table shared with the subscriber threads, and the one symbol played. */
export interface ExchangeWorkerData {
  sendTimes: SharedArrayBuffer;
  symbol: string;
}

const data = workerData as ExchangeWorkerData;
const port = parentPort!;
const stream = tradeStream(data.symbol);
const tp = tape();
let cursor = 0;

const exchange = new FakeExchange(data.sendTimes);
/**
 * `BENCH_TICK_WRITES=1`: each tick's frames leave in one TCP write (a busy
 * venue's frames of one moment share a segment) instead of one write each,
 * which measured ~42% of this thread's time in `writev` (profiled quick
 * fan-out): an A/B of what the load generator costs the load's core. Unset,
 * one write per frame, as every earlier run.
 */
const ONE_WRITE_PER_TICK = process.env['BENCH_TICK_WRITES'] === '1';

/** The frame payload of trade `id` at exchange time `ts`, from the tape's next entry. */
function payload(id: number, ts: number): string {
  const i = cursor;
  cursor = cursor + 1 === tp.length ? 0 : cursor + 1;
  return tradePayload(ts, data.symbol, id, tp.price[i]!, tp.size[i]!, ts, tp.maker[i] === 1);
}

/** Bytes on the wire of `payload` in a combined-stream frame (`{"stream":"…","data":…}`, 21 bytes around it) with its WebSocket header. */
function frameBytes(payload: string): number {
  const n = payload.length + stream.length + 21;
  return n + (n < 126 ? 2 : 4);
}

function play(firstId: number, count: number, rate: number): Promise<ExchangeReply> {
  if (count > SEND_TIME_SLOTS) throw new RangeError(`play: ${count} frames, room for ${SEND_TIME_SLOTS} send times`);
  return new Promise((resolve) => {
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = threadCpuMs();
    const clock = new RateClock(rate);
    clock.start(nowUs());
    let sent = 0;
    let bytes = 0;
    let first = NaN;
    const sendDue = (due: number) => {
      while (sent < due) {
        const p = payload(firstId + sent, Date.now());
        exchange.send(stream, firstId + sent, p);
        bytes += frameBytes(p);
        if (sent === 0) first = exchange.lastSendUs;
        sent++;
      }
    };
    const tick = () => {
      const due = Math.min(count, clock.owed(nowUs()) + 1);
      if (ONE_WRITE_PER_TICK) exchange.batch(() => sendDue(due));
      else sendDue(due);
      if (sent < count) {
        setTimeout(tick, SEND_TICK_MS);
        return;
      }
      resolve({
        type: 'played',
        sent,
        firstSendUs: first,
        lastSendUs: exchange.lastSendUs,
        ms: (nowUs() - clock.startUs) / 1e3,
        elu: performance.eventLoopUtilization(elu0).utilization,
        cpuMs: threadCpuMs() - cpu0,
        bytes,
      });
    };
    tick();
  });
}

/** Back-dated trades as fast as the socket takes them (1,000 per turn of the event loop). */
function history(firstId: number, count: number, fromTs: number, stepMs: number): Promise<ExchangeReply> {
  return new Promise((resolve) => {
    const start = nowUs();
    let sent = 0;
    const batch = () => {
      const end = Math.min(count, sent + 1000);
      for (; sent < end; sent++) exchange.publish(stream, payload(firstId + sent, fromTs + sent * stepMs));
      if (sent < count) setImmediate(batch);
      else resolve({ type: 'played', sent, firstSendUs: start, lastSendUs: nowUs(), ms: (nowUs() - start) / 1e3, elu: NaN, cpuMs: NaN, bytes: NaN });
    };
    batch();
  });
}

async function handle(cmd: ExchangeCommand): Promise<ExchangeReply> {
  switch (cmd.type) {
    case 'waitSubscribed':
      await exchange.waitSubscribed([stream], cmd.timeoutMs);
      return { type: 'subscribed' };
    case 'play':
      return play(cmd.firstId, cmd.count, cmd.rate);
    case 'history':
      return history(cmd.firstId, cmd.count, cmd.fromTs, cmd.stepMs);
    case 'stop':
      await exchange.stop();
      return { type: 'stopped' };
  }
}

port.on('message', (cmd: ExchangeCommand) => {
  handle(cmd).then(
    (reply) => {
      port.postMessage(reply);
      if (reply.type === 'stopped') port.close();
    },
    (err: unknown) => port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
  );
});

const url = await exchange.listen();
port.postMessage({ type: 'listening', url } satisfies ExchangeReply);
