/**
 * The load generator: a fake Binance (the project's own BinanceProtocolServer,
 * real WebSocket on loopback) in a worker thread, playing @trade frames at a
 * fixed rate to whichever gateway subscribed.
 *
 * Every frame's trade id is `firstId + i` and its send time (system-wide
 * monotonic clock, `process.hrtime`, ns) is stored at `sendTimes[i]` in
 * shared memory just before the send, so subscriber threads can compute
 * frame sent → message received on one clock. Prices, sizes and aggressor
 * flags cycle through the recorded tape; the trade time is the wall clock at
 * send, as a live venue's would be.
 *
 * Pacing: a 1 ms timer; each tick sends every frame due by then (rate ×
 * elapsed), so the average rate is exact and frames go out in bursts of
 * rate / 1000. Commands (from the orchestrator): `waitSubscribed`, `play`,
 * `history` (a burst of back-dated trades to fill bars), `stop`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BinanceProtocolServer } from '../src/sim/binance-protocol-server.ts';
import { tape, tradeStream } from './frames.ts';

/** What the orchestrator asks of the load generator. */
export type ExchangeCommand =
  | { type: 'waitSubscribed'; timeoutMs: number }
  | { type: 'play'; firstId: number; count: number; rate: number }
  | { type: 'history'; firstId: number; count: number; fromTs: number; stepMs: number }
  | { type: 'stop' };

/** What the load generator answers (`error` for a command that failed). */
export type ExchangeReply =
  | { type: 'listening'; url: string }
  | { type: 'subscribed' }
  | { type: 'played'; sent: number; firstSendNs: number; lastSendNs: number; ms: number; elu: number }
  | { type: 'stopped' }
  | { type: 'error'; message: string };

const data = workerData as { sendTimes: SharedArrayBuffer; symbol: string };
const port = parentPort!;
const sendTimes = new Float64Array(data.sendTimes);
const stream = tradeStream(data.symbol);
const tp = tape();
let cursor = 0;

const server = new BinanceProtocolServer({ host: '127.0.0.1', port: 0 });

/** The frame payload of trade `id` at exchange time `ts`, from the tape's next entry. */
function payload(id: number, ts: number): string {
  const i = cursor;
  cursor = cursor + 1 === tp.length ? 0 : cursor + 1;
  return (
    '{"e":"trade","E":' + ts + ',"s":"' + data.symbol + '","t":' + id + ',"p":"' + tp.price[i] + '","q":"' + tp.size[i] +
    '","T":' + ts + ',"m":' + (tp.maker[i] === 1 ? 'true' : 'false') + ',"M":true}'
  );
}

const now = () => Number(process.hrtime.bigint());

function play(firstId: number, count: number, rate: number): Promise<ExchangeReply> {
  if (count > sendTimes.length) throw new RangeError(`play: ${count} frames, room for ${sendTimes.length} send times`);
  return new Promise((resolve) => {
    const elu0 = performance.eventLoopUtilization();
    const start = now();
    let sent = 0;
    let first = NaN;
    let last = NaN;
    const tick = () => {
      const due = Math.min(count, Math.floor(((now() - start) * rate) / 1e9) + 1);
      while (sent < due) {
        const text = payload(firstId + sent, Date.now());
        const t = now();
        sendTimes[sent] = t;
        server.publish(stream, text);
        if (sent === 0) first = t;
        last = t;
        sent++;
      }
      if (sent < count) {
        setTimeout(tick, 1);
        return;
      }
      resolve({
        type: 'played',
        sent,
        firstSendNs: first,
        lastSendNs: last,
        ms: (now() - start) / 1e6,
        elu: performance.eventLoopUtilization(elu0).utilization,
      });
    };
    tick();
  });
}

/** Back-dated trades as fast as the socket takes them (1,000 per turn of the event loop). */
function history(firstId: number, count: number, fromTs: number, stepMs: number): Promise<ExchangeReply> {
  return new Promise((resolve) => {
    const start = now();
    let sent = 0;
    const batch = () => {
      const end = Math.min(count, sent + 1000);
      for (; sent < end; sent++) server.publish(stream, payload(firstId + sent, fromTs + sent * stepMs));
      if (sent < count) setImmediate(batch);
      else resolve({ type: 'played', sent, firstSendNs: start, lastSendNs: now(), ms: (now() - start) / 1e6, elu: NaN });
    };
    batch();
  });
}

async function handle(cmd: ExchangeCommand): Promise<ExchangeReply> {
  switch (cmd.type) {
    case 'waitSubscribed':
      await server.waitFor(() => server.hasSubscribers(stream), cmd.timeoutMs);
      return { type: 'subscribed' };
    case 'play':
      return play(cmd.firstId, cmd.count, cmd.rate);
    case 'history':
      return history(cmd.firstId, cmd.count, cmd.fromTs, cmd.stepMs);
    case 'stop':
      await server.stop();
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

const { url } = await server.start();
port.postMessage({ type: 'listening', url } satisfies ExchangeReply);
