/**
 * The soak's fake Binance, in its own worker thread so its sending never
 * shares an event loop with the subscribers: a `BinanceProtocolServer`
 * (src/sim, the one the integration tests use) on a loopback port, plus a
 * fixed-rate sender. Started through workers/dev-shim.mjs (Node 20 cannot
 * start a .ts worker directly).
 *
 * Sending: a 1 ms timer sends every trade the tape owes by now (see
 * trade-tape.ts), stamping each frame's send time into the shared SendTimes
 * table just before `publish` hands it to the socket. A trade due while the
 * gateway is not subscribed is counted as `unsent` (a real venue's trades
 * would be lost to that gateway too).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import type { ExchangeCommand, ExchangeEvent, ExchangeWindow, ExchangeWorkerData } from './protocol.ts';
import { SendTimes, nowUs } from './send-times.ts';
import { TradeTape } from './trade-tape.ts';

/** The sender's timer period, ms (Node's timers do not go below 1 ms). */
const SEND_TICK_MS = 1;

const data = workerData as ExchangeWorkerData;
const port = parentPort!;
const tape = new TradeTape(data.symbols, data.rate, data.seed);
const sendTimes = new SendTimes(data.sendTimes);
const server = new BinanceProtocolServer();
const sentPerSymbol = data.symbols.map(() => 0);
let sentInWindow = 0;
let unsent = 0;
let timer: NodeJS.Timeout | undefined;

function post(event: ExchangeEvent): void {
  port.postMessage(event);
}

/** Send every trade owed by now. */
function sendDue(): void {
  const now = nowUs();
  let due = tape.due(now);
  if (due === 0) return;
  const ms = Date.now();
  while (due-- > 0) {
    const i = tape.nextSymbol;
    const id = tape.nextId;
    const payload = tape.next(ms);
    sendTimes.record(id, nowUs());
    if (server.publish(tape.streams[i]!, payload) > 0) {
      sentPerSymbol[i]!++;
      sentInWindow++;
    } else {
      unsent++;
    }
  }
}

function window(): ExchangeWindow {
  const w: ExchangeWindow = { type: 'window', sent: sentInWindow, sentPerSymbol: [...sentPerSymbol], unsent, connections: server.connections };
  sentInWindow = 0;
  return w;
}

async function go(timeoutMs: number): Promise<void> {
  await server.waitFor(() => tape.streams.every((s) => server.hasSubscribers(s)), timeoutMs);
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
      server.stop().then(
        () => port.close(),
        () => port.close(),
      );
      return;
  }
});

server.start().then(
  ({ url }) => post({ type: 'listening', url }),
  (err: unknown) => post({ type: 'failed', message: `fake exchange could not listen: ${(err as Error).message}` }),
);
