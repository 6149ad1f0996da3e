/**
 * What NATS itself costs on this machine (docs/scale-out.md "Benchmarks"):
 * a publisher process sends trades at `rate` a second to a local
 * nats-server with JetStream, in the live stream's configuration (the
 * feed's subjects, retention and de-duplication window: src/cluster/nats.ts)
 * and as the feed sends them (the FlatBuffers trade, seq and term headers, a
 * message id, the acknowledgement awaited, never a flush); this process
 * receives them one way at a time and measures publish → receive, one clock
 * (the trade's `recvTs` is the publisher's send time):
 *
 *  - `core`: a plain subscription on the subjects (a JetStream publish is
 *    delivered to core subscribers as it is routed to the stream);
 *  - `pull`: a pull consumer and the client's default `consume()` (100
 *    messages a pull, topped up at 75);
 *  - `pull-1000`: the same with 1,000 a pull, topped up at 500;
 *  - `ordered`: the client's ordered consumer (what the edge follows the
 *    live stream with);
 *  - `push`: an ordered push consumer.
 *
 * Also the publisher's send → acknowledgement (what the feed's outbox waits
 * for) and this process's CPU per message received (what each way of
 * receiving costs an edge; the warm-up's messages included, the publisher's
 * start-up not: it is another process). Nothing is asserted: the figures say how much of the cluster's hop
 * is NATS and how much is tickwire.
 *
 * Two shapes of load (`shape`): `uniform`, the rate paced by a 1 ms timer;
 * `market`, the cluster bench's seeded simulated market (bench/cluster.ts:
 * two symbols, quiet spells and 6× bursts, stepped every 50 ms as the
 * simulated exchange steps it), each trade published as the market makes
 * it, as the cluster's floor publisher does. Every mode gets the same
 * trades. Two ways of publishing (`way`): `js`, the client's `js.publish`
 * pipelined (every acknowledgement awaited, none before the next publish:
 * what a careful user of the client writes), and `acked`, the feed's
 * AckedPublisher (src/cluster/acked-publisher.ts). And the mode
 * `core-pubsub`: a plain publish (no JetStream, no acknowledgement) on a
 * subject no stream takes, to a plain subscription: what NATS costs without
 * JetStream.
 *
 *   npx tsx bench/nats-hop.ts [rate] [seconds] [uniform|market] [js|acked] [mode,…]   this probe alone, as JSON
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, headers, nanos, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { AckedPublisher, type AckReceiver } from '../src/cluster/acked-publisher.ts';
import { DEDUP_WINDOW_MS } from '../src/cluster/nats.ts';
import { ClusterNames, Header } from '../src/cluster/subjects.ts';
import { SimulatedMarket } from '../src/sim/market.ts';
import { channelName } from '../src/wire/channels.ts';
import { decodeMessage, FbsEncoder } from '../src/wire/fbs.ts';
import { latencyHistogram, summarize, type LatencySummary } from './load/latency.ts';
import { figure, type Figure } from './report.ts';
import { startNats, stopAll } from '../test/support/nats.ts';

const NAME = 'probe';
/** The cluster bench's symbols (bench/cluster.ts); `uniform` sends the first only. */
const SYMBOLS = ['SIM-BTC', 'SIM-ETH'];
/** Messages sent in the first second are not measured (connections and consumers settle). */
const WARM_UP_MS = 1_000;
/** The simulated exchange's market step (src/sim/simulated-exchange.ts) and its default seed (src/config/defaults.ts). */
const MARKET_STEP_MS = 50;
const SEED = 42;
/** Subjects no stream takes, for `core-pubsub`. */
const CORE_PREFIX = 'probe-core.';

export const MODES = ['core-pubsub', 'core', 'pull', 'pull-1000', 'ordered', 'push'] as const;
export type HopMode = (typeof MODES)[number];
export const SHAPES = ['uniform', 'market'] as const;
export type HopShape = (typeof SHAPES)[number];
export const WAYS = ['js', 'acked'] as const;
export type HopWay = (typeof WAYS)[number];

export interface NatsHopOptions {
  /** Trades a second (the market's long-run mean, over both symbols, for `market`). */
  rate: number;
  /** Measured seconds per mode (after WARM_UP_MS). */
  seconds: number;
  /** The load's shape; default `market`, the cluster bench's. */
  shape?: HopShape;
  /** How the publisher publishes; default `acked`, the feed's. */
  way?: HopWay;
  /** Modes to run; default all. */
  modes?: readonly HopMode[];
}

/** What the publisher process reports. */
interface PublisherReport {
  /** Publish → JetStream's acknowledgement (none for `core-pubsub`), µs. */
  ack: LatencySummary;
  /** The publisher process's CPU time per message published, µs (the warm-up's included). */
  cpuPerMessageUs: number;
  sent: number;
}

/** One mode's measurement, µs. */
export interface HopRun {
  mode: HopMode;
  received: number;
  /** Publish → receive. */
  latency: LatencySummary;
  /** Publish → JetStream's acknowledgement, at the publisher. */
  ack: LatencySummary;
  /** This (receiving) process's CPU time per message received, µs: what the way of receiving costs an edge. */
  cpuPerMessageUs: number;
  /** The publisher's CPU time per message published, µs. */
  publisherCpuPerMessageUs: number;
}

const names = new ClusterNames(NAME);
const now = (): number => performance.timeOrigin + performance.now();

/** Start receiving the way `mode` says; returns what stops it. */
async function receive(nc: NatsConnection, mode: HopMode, onData: (data: Uint8Array) => void): Promise<() => Promise<void>> {
  if (mode === 'core' || mode === 'core-pubsub') {
    const sub = nc.subscribe(mode === 'core' ? names.liveSubjects()[0]! : `${CORE_PREFIX}>`, { callback: (err: Error | null, m: Msg) => {
      if (err === null) onData(m.data);
    } });
    return async () => sub.unsubscribe();
  }
  const js = jetstream(nc);
  const onMsg = (m: JsMsg): void => onData(m.data);
  if (mode === 'push') {
    const consumer = await js.consumers.getPushConsumer(names.liveStream, { deliver_policy: DeliverPolicy.New });
    const messages = await consumer.consume({ callback: onMsg });
    return () => messages.close().then(() => undefined);
  }
  if (mode === 'ordered') {
    const consumer = await js.consumers.get(names.liveStream, { deliver_policy: DeliverPolicy.New });
    const messages = await consumer.consume({ callback: onMsg });
    return () => messages.close().then(() => undefined);
  }
  const jsm = await jetstreamManager(nc);
  const info = await jsm.consumers.add(names.liveStream, { ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.New, inactive_threshold: nanos(60_000) });
  const consumer = await js.consumers.get(names.liveStream, info.name);
  const messages = await consumer.consume(mode === 'pull' ? { callback: onMsg } : { callback: onMsg, max_messages: 1_000, threshold_messages: 500 });
  return () => messages.close().then(() => undefined);
}

/** The live stream as the feed makes it (src/cluster/nats.ts: file storage, the retention and de-duplication window), made anew. */
async function freshStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(names.liveStream).catch(() => undefined);
  await jsm.streams.add({ name: names.liveStream, subjects: names.liveSubjects(), max_age: nanos(3_600_000), duplicate_window: nanos(DEDUP_WINDOW_MS), num_replicas: 1 });
}

/** One mode: a fresh stream, the receiver here, the publisher in a child process. */
async function runMode(url: string, mode: HopMode, options: Required<NatsHopOptions>): Promise<HopRun> {
  const nc = await connect({ servers: url, name: `probe receiver (${mode})` });
  try {
    await freshStream(nc);
    const h = latencyHistogram();
    let received = 0;
    const stop = await receive(nc, mode, (data) => {
      const m = decodeMessage(data);
      if (m.type !== 'trade' || m.tradeId === null || m.tradeId < 0) return; // negative ids: the warm-up
      received++;
      h.recordValue(Math.max(1, Math.round((now() - m.recvTs) * 1000)));
    });
    const cpu0 = process.cpuUsage();
    const pub = await publisher(url, mode === 'core-pubsub' ? 'core' : options.way, options);
    await new Promise((r) => setTimeout(r, 200)); // the last deliveries
    const cpu = process.cpuUsage(cpu0);
    await stop();
    return { mode, received, latency: summarize(h), ack: pub.ack, cpuPerMessageUs: (cpu.user + cpu.system) / Math.max(1, received), publisherCpuPerMessageUs: pub.cpuPerMessageUs };
  } finally {
    await nc.close();
  }
}

/** Run the publisher (this file, `publish`) in a child process; resolves with its report. */
function publisher(url: string, way: HopWay | 'core', options: Required<NatsHopOptions>): Promise<PublisherReport> {
  const args = [fileURLToPath(import.meta.url), 'publish', url, String(options.rate), String(options.seconds), options.shape, way];
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as PublisherReport) : reject(new Error(`publisher exited with ${code}: ${out}`))));
  });
}

/** Sends one trade, telling `timing` of its acknowledgement with `sentAt`; false: none will come (`core`). */
type Send = (subject: string, data: Uint8Array, msgID: string, seq: number, sentAt: number) => boolean;

/** How `way` sends, and what stops it before the connection closes. */
function sender(nc: NatsConnection, way: HopWay | 'core', timing: AckReceiver<number>): { send: Send; close: () => void } {
  const stamp = (seq: number): MsgHdrs => {
    const h = headers();
    h.set(Header.TERM, '1');
    h.set(Header.SEQ, String(seq));
    return h;
  };
  const none = (): void => undefined;
  if (way === 'core') {
    return { send: (subject, data, _id, seq) => (nc.publish(subject, data, { headers: stamp(seq) }), false), close: none };
  }
  if (way === 'js') {
    const js = jetstream(nc);
    const send: Send = (subject, data, msgID, seq, sentAt) => {
      js.publish(subject, data, { headers: stamp(seq), msgID, timeout: 5_000, retries: 0 }).then(
        () => timing.acked(sentAt, 0, false),
        (err: Error) => timing.failed(sentAt, 0, err),
      );
      return true;
    };
    return { send, close: none };
  }
  const acks = new AckedPublisher(nc, 5_000);
  return { send: (subject, data, msgID, seq, sentAt) => (acks.send(subject, data, { term: 1, seq, msgID }, timing, sentAt, 0), true), close: () => acks.close() };
}

/**
 * The publisher: trades for WARM_UP_MS plus `seconds`, shaped by `shape`,
 * each acknowledgement timed (not awaited before the next publish). Warm-up
 * trades carry negative ids. Its report goes to stdout as JSON.
 */
async function publish(url: string, rate: number, seconds: number, shape: HopShape, way: HopWay | 'core'): Promise<PublisherReport> {
  const nc = await connect({ servers: url, name: 'probe publisher' });
  const fbs = new FbsEncoder();
  const channels = new Map(SYMBOLS.map((s) => [s, {
    name: channelName('trades', 'simulated', s),
    subject: way === 'core' ? `${CORE_PREFIX}${s}` : names.subject('trades', 'simulated', s),
    seq: 0,
  }]));
  const acks = latencyHistogram();
  let sent = 0;
  let pending = 0;
  let ending = false;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));
  const settle = (): void => {
    if (--pending === 0 && ending) done();
  };
  const timing: AckReceiver<number> = {
    acked: (sentAt) => {
      acks.recordValue(Math.max(1, Math.round((now() - sentAt) * 1000)));
      settle();
    },
    failed: settle,
  };
  const { send, close } = sender(nc, way, timing);
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const trade = (symbol: string, tradeId: number, price: number, size: number, sell: boolean, ts: number): void => {
    const ch = channels.get(symbol)!;
    const seq = ++ch.seq;
    const sentAt = now();
    const id = performance.now() - start < WARM_UP_MS ? -1 - tradeId : tradeId;
    // A copy, as the feed's: the encoder reuses its buffer and the client writes the bytes on a later microtask.
    const data = fbs.trade(ch.name, seq, { exchange: 'simulated', symbol, tradeId: id, price, size, side: sell ? 'sell' : 'buy', ts, recvTs: sentAt }).slice();
    sent++;
    if (send(ch.subject, data, `${ch.name}:${tradeId}`, seq, sentAt)) pending++;
  };
  const endAt = WARM_UP_MS + seconds * 1000;
  if (shape === 'uniform') {
    const total = Math.round((rate * endAt) / 1000);
    let n = 0;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000));
        for (; n < due; n++) trade(SYMBOLS[0]!, n, 50_000, 0.01, false, Date.now());
        if (n === total) {
          clearInterval(tick);
          resolve();
        }
      }, 1);
    });
  } else {
    const market = new SimulatedMarket({
      symbols: SYMBOLS,
      rate: rate / SYMBOLS.length,
      seed: SEED,
      onTrade: (symbol, t) => trade(symbol, t.t, Number(t.p), Number(t.q), t.m, t.T),
    });
    market.skip(Date.now());
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        market.step(Date.now());
        if (performance.now() - start >= endAt) {
          clearInterval(tick);
          resolve();
        }
      }, MARKET_STEP_MS);
    });
  }
  ending = true;
  if (pending > 0) await finished;
  const cpu = process.cpuUsage(cpu0);
  close();
  await nc.close();
  return { ack: summarize(acks), cpuPerMessageUs: (cpu.user + cpu.system) / Math.max(1, sent), sent };
}

/** The modes `options` names in turn against one nats-server; figures for the report and the runs as details. */
export async function natsHopBench(options: NatsHopOptions, log: (line: string) => void): Promise<{ figures: Figure[]; details: { runs: HopRun[] } }> {
  const o: Required<NatsHopOptions> = { shape: 'market', way: 'acked', modes: MODES, ...options };
  const runs: HopRun[] = [];
  try {
    const server = await startNats();
    for (const mode of o.modes) {
      const run = await runMode(server.url, mode, o);
      runs.push(run);
      const l = run.latency;
      const ack = mode === 'core-pubsub' ? 'no ack' : `publish → ack p50 ${run.ack.p50} µs, p99 ${run.ack.p99} µs`;
      log(`nats hop (${o.shape}, ${mode === 'core-pubsub' ? 'core publish' : o.way}): ${mode}: ${run.received} received, publish → receive p50 ${l.p50} µs, p99 ${l.p99} µs, p99.9 ${l.p999} µs; ${ack}; CPU per message: publisher ${run.publisherCpuPerMessageUs.toFixed(1)} µs, receiver ${run.cpuPerMessageUs.toFixed(1)} µs`);
    }
  } finally {
    await stopAll();
  }
  const figures = runs.flatMap((r) => [
    figure({ id: `nats-hop.${r.mode}.p50`, group: 'cluster', name: `NATS alone (${o.shape} load): publish → ${r.mode} receive p50`, value: r.latency.p50, unit: 'µs', better: 'lower' }),
    figure({ id: `nats-hop.${r.mode}.p99`, group: 'cluster', name: `NATS alone (${o.shape} load): publish → ${r.mode} receive p99`, value: r.latency.p99, unit: 'µs', better: 'lower' }),
  ]);
  const acked = runs.find((r) => r.mode !== 'core-pubsub');
  if (acked !== undefined) {
    figures.push(figure({ id: 'nats-hop.ack.p99', group: 'cluster', name: `NATS alone (${o.shape} load): JetStream publish → ack p99`, value: acked.ack.p99, unit: 'µs', better: 'lower' }));
    figures.push(figure({ id: 'nats-hop.publisher.cpu', group: 'cluster', name: `NATS alone (${o.shape} load): publisher CPU per acknowledged publish (${o.way})`, value: acked.publisherCpuPerMessageUs, unit: 'µs', better: 'lower' }));
  }
  return { figures, details: { runs } };
}

function oneOf<T extends string>(list: readonly T[], value: string | undefined, fallback: T): T {
  if (value === undefined) return fallback;
  if (!(list as readonly string[]).includes(value)) {
    console.error(`${value}: expected one of ${list.join(', ')}`);
    process.exit(2);
  }
  return value as T;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === 'publish') {
    const [, , , url, rate, seconds, shape, way] = process.argv;
    const w = oneOf([...WAYS, 'core'] as const, way, 'acked');
    console.log(JSON.stringify(await publish(url!, Number(rate), Number(seconds), oneOf(SHAPES, shape, 'market'), w)));
  } else {
    const [rate, seconds, shape, way, modes] = process.argv.slice(2);
    const r = await natsHopBench({
      rate: Number(rate ?? 2_000),
      seconds: Number(seconds ?? 5),
      shape: oneOf(SHAPES, shape, 'market'),
      way: oneOf(WAYS, way, 'acked'),
      modes: modes === undefined ? MODES : modes.split(',').map((m) => oneOf(MODES, m, 'core')),
    }, (l) => process.stderr.write(`${l}\n`));
    console.log(JSON.stringify(r.details.runs, null, 2));
  }
}
