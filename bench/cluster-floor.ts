/**
 * The NATS hop's floor peer (bench/cluster.ts): the thinnest implementation
 * of the work the cluster does between a trade and its subscriber, in the
 * same topology and under the same load, so a hop figure this machine cannot
 * reach is shown against what the bare work reaches here, measured in the
 * same run.
 *
 *  - `publish` (a child process, where the feed runs): the same seeded
 *    simulated market (SimulatedMarket, stepped every TICK_MS as the
 *    simulated exchange steps it, the same rate and seed), each trade made
 *    into the feed's message (the FlatBuffers trade of src/wire/fbs.ts, the
 *    term and seq headers and the message id, written as the feed writes
 *    them: src/cluster/stamp-headers.ts) and published with JetStream's
 *    acknowledgement awaited through the feed's AckedPublisher (`send`, a
 *    receiver told of each, as the feed's outbox), pipelined.
 *    No exchange frames, no parsing, no worker, no aggregation, no outbox;
 *    `recvTs` is the instant the market made the trade.
 *  - `relay` (a child process, where the edge runs): the edge's consumer (an
 *    ordered consumer of the live stream, the client's default `consume()`,
 *    from the last message of each subject), each message decoded and
 *    published as the stream's JSON trade (src/wire/json.ts) on a uWS topic
 *    per channel; `/v1/stream` takes the subscribe op the orchestrator sends.
 *    No fencing, no bar store, no market services, no history.
 *
 * Streams and bucket are made by `openCluster` (src/cluster/nats.ts) with the
 * default cluster settings, so retention, de-duplication window and replicas
 * are the feed's. Quotes and bar events (2% of what the feed publishes at
 * this load: JetStream stores 1.02 messages per trade) are left out.
 *
 *   node --import tsx bench/cluster-floor.ts publish <nats url> <name> <trades/s per symbol> <symbols,…>
 *   node --import tsx bench/cluster-floor.ts relay <nats url> <name> <port> <symbols,…>
 */
import { fileURLToPath } from 'node:url';
import uWS from 'uWebSockets.js';
import { DeliverPolicy } from '@nats-io/jetstream';
import { AckedPublisher, type AckReceiver } from '../src/cluster/acked-publisher.ts';
import { openCluster, type ClusterConnection } from '../src/cluster/nats.ts';
import { ACK_TIMEOUT_MS } from '../src/cluster/outbox.ts';
import { DEFAULT_BARS_RETENTION_MS, DEFAULT_CONFLATE_MS, DEFAULT_LEASE_TTL_MS, DEFAULT_REPLAY_MAX, DEFAULT_TRADES_RETENTION_MS } from '../src/config/cluster.ts';
import type { TradeEvent } from '../src/model/events.ts';
import { SimulatedMarket } from '../src/sim/market.ts';
import { channelName } from '../src/wire/channels.ts';
import { decodeMessage, FbsEncoder } from '../src/wire/fbs.ts';
import { prepareChannel, tradeMessage, type ChannelFormat } from '../src/wire/json.ts';

const EXCHANGE = 'simulated';
/** The simulated exchange's market step (src/sim/simulated-exchange.ts) and its default seed (src/config/defaults.ts). */
const TICK_MS = 50;
const SEED = 42;

/** What the parent waits for on each role's stdout. */
export const PUBLISHER_READY = 'floor publisher: publishing';
export const RELAY_READY = 'floor relay: listening';

const now = (): number => performance.timeOrigin + performance.now();

function cluster(url: string, name: string, role: string): Promise<ClusterConnection> {
  return openCluster(
    {
      servers: [url],
      name,
      replicas: 1,
      history: { trades: DEFAULT_TRADES_RETENTION_MS, bars: DEFAULT_BARS_RETENTION_MS },
      leaseTtlMs: DEFAULT_LEASE_TTL_MS,
      conflateMs: DEFAULT_CONFLATE_MS,
      replayMax: DEFAULT_REPLAY_MAX,
      user: undefined,
      pass: undefined,
      token: undefined,
    },
    `bench floor ${role}`,
  );
}

/** The publisher: the market's trades as the feed's acknowledged JetStream messages, until killed. */
async function publish(url: string, name: string, ratePerSymbol: number, symbols: string[]): Promise<void> {
  const c = await cluster(url, name, 'publisher');
  const acks = new AckedPublisher(c.nc, ACK_TIMEOUT_MS);
  const fbs = new FbsEncoder();
  const channels = new Map(symbols.map((s) => [s, { name: channelName('trades', EXCHANGE, s), subject: c.names.subject('trades', EXCHANGE, s), seq: 0 }]));
  let failures = 0;
  // Told of each acknowledgement (acked-publisher.ts `send`): no promise per message, as the feed's outbox.
  const counted: AckReceiver<undefined> = { acked: () => undefined, failed: () => void failures++ };
  const market = new SimulatedMarket({
    symbols,
    rate: ratePerSymbol,
    seed: SEED,
    onTrade: (symbol, t) => {
      const ch = channels.get(symbol)!;
      const seq = ++ch.seq;
      const e: TradeEvent = { exchange: EXCHANGE, symbol, tradeId: t.t, price: Number(t.p), size: Number(t.q), side: t.m ? 'sell' : 'buy', ts: t.T, recvTs: now() };
      // A copy, as the feed's: the encoder reuses its buffer and the client writes the bytes on a later microtask.
      acks.send(ch.subject, fbs.trade(ch.name, seq, e).slice(), { term: 1, seq, msgID: `${ch.name}:${t.t}` }, counted, undefined, 0);
    },
  });
  market.skip(Date.now());
  const ticking = setInterval(() => market.step(Date.now()), TICK_MS);
  // An orderly exit on SIGINT (what the bench sends): a profiled run writes its CPU profile only then.
  process.once('SIGINT', () => {
    clearInterval(ticking);
    acks.close();
    void c.close().finally(() => process.exit(0));
  });
  setInterval(() => {
    if (failures > 0) process.stderr.write(`floor publisher: ${failures} publishes failed\n`);
  }, 1_000).unref();
  console.log(PUBLISHER_READY);
}

/** The relay: the edge's consumer into uWS topics, one per channel, for subscribers at `/v1/stream`. */
async function relay(url: string, name: string, port: number, symbols: string[]): Promise<void> {
  const c = await cluster(url, name, 'relay');
  const formats = new Map<string, ChannelFormat>(symbols.map((s) => {
    const ch = channelName('trades', EXCHANGE, s);
    return [ch, prepareChannel('trades', ch, EXCHANGE, s)];
  }));
  const app = uWS.App();
  app.ws('/v1/stream', {
    maxBackpressure: 8 * 1024 * 1024,
    message: (ws, data) => {
      const op = JSON.parse(Buffer.from(data).toString()) as { op?: string; id?: number; channels?: string[] };
      if (op.op !== 'subscribe') return;
      const channels = (op.channels ?? []).filter((ch) => formats.has(ch));
      for (const ch of channels) ws.subscribe(ch);
      ws.send(JSON.stringify({ type: 'subscribed', id: op.id ?? null, channels }));
    },
  });
  const consumer = await c.js.consumers.get(c.names.liveStream, { deliver_policy: DeliverPolicy.LastPerSubject });
  await consumer.consume({
    callback: (m) => {
      const msg = decodeMessage(m.data);
      if (msg.type !== 'trade') return;
      const f = formats.get(msg.channel);
      if (f !== undefined) app.publish(msg.channel, tradeMessage(f, msg.seq, msg), false);
    },
  });
  const listening = await new Promise<uWS.us_listen_socket>((resolve, reject) => app.listen('127.0.0.1', port, (token) => (token === false ? reject(new Error(`cannot listen on ${port}`)) : resolve(token))));
  // Exiting with a uWS listen socket open aborts the process: close it first.
  process.once('SIGINT', () => {
    uWS.us_listen_socket_close(listening);
    void c.close().finally(() => process.exit(0));
  });
  console.log(`${RELAY_READY} on ${port}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [role, url, name, n, list] = process.argv.slice(2);
  const symbols = (list ?? '').split(',').filter((s) => s !== '');
  if (url === undefined || name === undefined || symbols.length === 0 || !(Number(n) > 0)) {
    console.error('usage: cluster-floor.ts publish <nats url> <name> <trades/s per symbol> <symbols,…> | relay <nats url> <name> <port> <symbols,…>');
    process.exit(2);
  }
  if (role === 'publish') await publish(url, name, Number(n), symbols);
  else if (role === 'relay') await relay(url, name, Number(n), symbols);
  else {
    console.error(`unknown role ${role}: publish or relay`);
    process.exit(2);
  }
}
