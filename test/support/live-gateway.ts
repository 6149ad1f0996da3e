/**
 * What the live-change integration tests run on loopback: a venue, the
 * library and its server, held for one test and torn down after it
 * (`closeGateway` in afterEach: sockets, server, library, venue, in that
 * order), and JSON subscribers that record every message they get.
 */
import WebSocket from 'ws';
import type { Tickwire } from '../../src/api/types.ts';
import type { TickwireServer } from '../../src/server/server.ts';
import type { SimulatedExchange } from '../../src/sim/simulated-exchange.ts';
import { until } from './until.ts';

/** The pieces one test started; each closed by `closeGateway` (the venue: the simulated exchange or a fake one). */
export const gateway: { venue?: Pick<SimulatedExchange, 'stop'>; tickwire?: Tickwire; server?: TickwireServer; sockets: WebSocket[] } = { sockets: [] };

/** Stop what the test started, last started first. */
export async function closeGateway(): Promise<void> {
  for (const ws of gateway.sockets.splice(0)) ws.terminate();
  await gateway.server?.close();
  await gateway.tickwire?.stop();
  await gateway.venue?.stop();
  delete gateway.server;
  delete gateway.tickwire;
  delete gateway.venue;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Msg = any;

/** A JSON subscriber of `channels` with `token`: every message it gets, once the subscribe is answered. */
export async function subscriber(url: string, channels: string[], token: string): Promise<Msg[]> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  gateway.sockets.push(ws);
  const messages: Msg[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ op: 'subscribe', id: 1, channels }));
  await until(() => messages.some((m) => m.type === 'subscribed' || m.type === 'error'), 10_000, 'the subscribe answer');
  return messages;
}
