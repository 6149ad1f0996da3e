/**
 * The floor: the thinnest fan-out there can be on this stack, as a child
 * process, so the fan-out benchmark can say how far tickwire is from the
 * physical limit of the same loopback, the same clients and the same load
 * (issue 12, item 3). One thread, no workers, no parsing: each frame from
 * the exchange (a `ws` client, as tickwire's feed worker uses) goes out
 * byte for byte with uWebSockets.js's `app.publish` to the subscribers of
 * one topic. It speaks just enough of tickwire's protocol for the same
 * subscribers: `subscribe` → `subscribed` (every channel asked maps to the
 * one topic); what they receive are the exchange's own frames, which they
 * read the trade id from (bench/load/frame-scan.ts). No seq, no gap notices:
 * under backpressure uWS drops a socket's messages, which the subscribers
 * count as loss. `maxBackpressure` is tickwire's default (4 MiB).
 *
 *   node --import tsx bench/gateway-floor.ts <exchange ws url>
 *
 * Tells the parent `{type:'ready', port}` once listening; stops on `{type:'stop'}`;
 * answers probes of its main thread (load/gateway-probe.ts).
 */
import uWS from 'uWebSockets.js';
import WebSocket from 'ws';
import { answerProbes } from './load/gateway-probe.ts';

const exchangeUrl = process.argv[2];
if (exchangeUrl === undefined || process.send === undefined) {
  console.error('usage (forked with IPC): gateway-floor.ts <exchange ws url>');
  process.exit(2);
}

answerProbes();

const TOPIC = 'trades';
const MAX_BACKPRESSURE = 4 * 1024 * 1024;

const app = uWS.App();
const sockets = new Set<uWS.WebSocket<unknown>>();

// ── the subscribers ──
app.ws('/v1/stream', {
  maxBackpressure: MAX_BACKPRESSURE,
  closeOnBackpressureLimit: 0,
  open: (ws) => void sockets.add(ws),
  close: (ws) => void sockets.delete(ws),
  message: (ws, message) => {
    let m: { op?: string; id?: unknown; channels?: unknown };
    try {
      m = JSON.parse(Buffer.from(message).toString('utf8'));
    } catch {
      return;
    }
    if (m.op === 'subscribe' && Array.isArray(m.channels)) {
      ws.subscribe(TOPIC);
      ws.send(JSON.stringify({ type: 'subscribed', id: m.id, channels: m.channels }), false);
    }
  },
});

// ── the exchange: every frame forwarded unchanged ──
const upstream = new WebSocket(`${exchangeUrl}/stream`);
upstream.on('open', () => upstream.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['btcusdt@trade'], id: 1 })));
upstream.on('message', (data: Buffer, isBinary: boolean) => {
  app.publish(TOPIC, data, isBinary);
});
upstream.on('error', (err) => console.error(`floor: exchange connection error: ${err.message}`));

let listenSocket: uWS.us_listen_socket | false = false;
app.listen('127.0.0.1', 0, (socket) => {
  listenSocket = socket;
  if (socket === false) {
    console.error('floor: could not listen');
    process.exit(1);
  }
  process.send!({ type: 'ready', port: uWS.us_socket_local_port(socket) });
});

/** Close the exchange, every subscriber and the listen socket (uWS aborts on exit otherwise), then exit. */
function shutdown(): void {
  upstream.terminate();
  for (const ws of sockets) ws.close();
  if (listenSocket !== false) uWS.us_listen_socket_close(listenSocket);
  setImmediate(() => process.exit(0));
}
process.on('message', (m: { type?: string }) => {
  if (m.type === 'stop') shutdown();
});
process.on('disconnect', shutdown);
