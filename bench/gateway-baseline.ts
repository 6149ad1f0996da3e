/**
 * The baseline gateway: a market-data fan-out written the way people write
 * one by hand, as a child process. One Node thread, the `ws` package both
 * ways (client to the exchange, server to subscribers, default options),
 * `JSON.parse` per exchange frame, and per subscriber `JSON.stringify` of the
 * trade message and `send`. It speaks enough of tickwire's protocol for the
 * same subscribers to use it: `subscribe` → `subscribed`, then trade
 * messages of the same shape and field order as tickwire's. No backpressure
 * handling: a slow subscriber's messages queue up in `ws` (nothing is lost,
 * latency grows), as in most hand-written gateways.
 *
 *   node --import tsx bench/gateway-baseline.ts <exchange ws url>
 *
 * Tells the parent `{type:'ready', port}` once listening; stops on `{type:'stop'}`.
 */
import WebSocket, { WebSocketServer } from 'ws';
import { answerProbes } from './load/gateway-probe.ts';

const exchangeUrl = process.argv[2];
if (exchangeUrl === undefined || process.send === undefined) {
  console.error('usage (forked with IPC): gateway-baseline.ts <exchange ws url>');
  process.exit(2);
}

answerProbes();

const subscribers = new Map<string, Set<WebSocket>>();
const seqs = new Map<string, number>();

const upstream = new WebSocket(`${exchangeUrl}/stream`);
upstream.on('open', () => {
  upstream.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['btcusdt@trade'], id: 1 }));
});
upstream.on('message', (data) => {
  const msg = JSON.parse(data.toString());
  const d = msg.data;
  if (d === undefined || d.e !== 'trade') return;
  const channel = `trades:binance:${d.s}`;
  const subs = subscribers.get(channel);
  if (subs === undefined || subs.size === 0) return;
  const seq = (seqs.get(channel) ?? 0) + 1;
  seqs.set(channel, seq);
  const trade = {
    type: 'trade',
    channel,
    seq,
    exchange: 'binance',
    symbol: d.s,
    tradeId: d.t,
    price: Number(d.p),
    size: Number(d.q),
    side: d.m ? 'sell' : 'buy',
    ts: d.T,
    recvTs: Date.now(),
  };
  for (const ws of subs) ws.send(JSON.stringify(trade));
});
upstream.on('error', (err) => console.error(`baseline: exchange connection error: ${err.message}`));

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v1/stream' });
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    let m: { op?: string; id?: unknown; channels?: unknown };
    try {
      m = JSON.parse(data.toString());
    } catch {
      ws.send(JSON.stringify({ type: 'error', id: null, code: 'INVALID_PARAMETER', message: 'message is not valid JSON' }));
      return;
    }
    if (m.op === 'subscribe' && Array.isArray(m.channels)) {
      for (const channel of m.channels as string[]) {
        let set = subscribers.get(channel);
        if (set === undefined) subscribers.set(channel, (set = new Set()));
        set.add(ws);
      }
      ws.send(JSON.stringify({ type: 'subscribed', id: m.id, channels: m.channels }));
    } else if (m.op === 'ping') {
      ws.send(JSON.stringify({ type: 'pong', id: m.id }));
    }
  });
  ws.on('close', () => {
    for (const set of subscribers.values()) set.delete(ws);
  });
});
wss.on('listening', () => {
  const address = wss.address();
  process.send!({ type: 'ready', port: address !== null && typeof address === 'object' ? address.port : 0 });
});

function shutdown(): void {
  upstream.terminate();
  for (const ws of wss.clients) ws.terminate();
  wss.close(() => process.exit(0));
}
process.on('message', (m: { type?: string }) => {
  if (m.type === 'stop') shutdown();
});
process.on('disconnect', shutdown);
