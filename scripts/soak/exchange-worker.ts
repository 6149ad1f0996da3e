/**
 * The soak's load generator: the load harness's fake Binance
 * (bench/load/fake-exchange.ts) in its own worker thread, so its sending
 * never shares an event loop with the subscribers, sending the soak's
 * multi-symbol trade tape (trade-tape.ts) continuously at a fixed rate.
 * Started through workers/dev-shim.mjs (Node 20 cannot start a .ts worker
 * directly).
 *
 * Sending: a SEND_TICK_MS (1 ms) timer sends every trade the tape owes by
 * now; each frame's send time goes into the shared SendTimes table just
 * before it is handed to the socket. A trade due while the gateway is not
 * subscribed is counted as `unsent` (a real venue's trades would be lost to
 * that gateway too). Counts are reported per window (`window`, `halt`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { nowUs } from '../../bench/load/clock.ts';
import { FakeExchange } from '../../bench/load/fake-exchange.ts';
import { SEND_TICK_MS } from '../../bench/load/rate-clock.ts';
import type { ExchangeCommand, ExchangeEvent, ExchangeWindow, ExchangeWorkerData } from './protocol.ts';
import { TradeTape } from './trade-tape.ts';

const data = workerData as ExchangeWorkerData;
const port = parentPort!;
const tape = new TradeTape(data.symbols, data.rate, data.seed);
const exchange = new FakeExchange(data.sendTimes);
const sentPerSymbol = data.symbols.map(() => 0);
let sentInWindow = 0;
let unsent = 0;
let timer: NodeJS.Timeout | undefined;

function post(event: ExchangeEvent): void {
  port.postMessage(event);
}

/** Send every trade owed by now. */
function sendDue(): void {
  let due = tape.due(nowUs());
  if (due === 0) return;
  const ms = Date.now();
  while (due-- > 0) {
    const i = tape.nextSymbol;
    const id = tape.nextId;
    if (exchange.send(tape.streams[i]!, id, tape.next(ms)) > 0) {
      sentPerSymbol[i]!++;
      sentInWindow++;
    } else {
      unsent++;
    }
  }
}

function window(): ExchangeWindow {
  const w: ExchangeWindow = { type: 'window', sent: sentInWindow, sentPerSymbol: [...sentPerSymbol], unsent, connections: exchange.connections };
  sentInWindow = 0;
  return w;
}

async function go(timeoutMs: number): Promise<void> {
  await exchange.waitSubscribed(tape.streams, timeoutMs);
  tape.start(nowUs());
  timer = setInterval(sendDue, SEND_TICK_MS);
  post({ type: 'going' });
}

port.on('message', (cmd: ExchangeCommand) => {
  switch (cmd.type) {
    case 'go':
      go(cmd.timeoutMs).catch((err: unknown) => post({ type: 'failed', message: `gateway did not subscribe: ${(err as Error).message}` }));
      return;
    case 'window':
      post(window());
      return;
    case 'halt':
      clearInterval(timer);
      timer = undefined;
      post({ type: 'halted', window: window() });
      return;
    case 'close':
      clearInterval(timer);
      exchange.stop().then(
        () => port.close(),
        () => port.close(),
      );
      return;
  }
});

exchange.listen().then(
  (url) => post({ type: 'listening', url }),
  (err: unknown) => post({ type: 'failed', message: `fake exchange could not listen: ${(err as Error).message}` }),
);
