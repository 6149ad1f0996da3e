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
 *   npx tsx bench/nats-hop.ts [rate] [seconds]   this probe alone, as JSON
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, headers, nanos, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { DEDUP_WINDOW_MS } from '../src/cluster/nats.ts';
import { ClusterNames, Header } from '../src/cluster/subjects.ts';
import { channelName } from '../src/wire/channels.ts';
import { decodeMessage, FbsEncoder } from '../src/wire/fbs.ts';
import { latencyHistogram, summarize, type LatencySummary } from './load/latency.ts';
import { figure, type Figure } from './report.ts';
import { startNats, stopAll } from '../test/support/nats.ts';

const NAME = 'probe';
const SYMBOL = 'SIM-BTC';
/** Messages sent in the first second are not measured (connections and consumers settle). */
const WARM_UP_MS = 1_000;

export const MODES = ['core', 'pull', 'pull-1000', 'ordered', 'push'] as const;
export type HopMode = (typeof MODES)[number];

export interface NatsHopOptions {
  /** Trades a second. */
  rate: number;
  /** Measured seconds per mode (after WARM_UP_MS). */
  seconds: number;
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
}

const names = new ClusterNames(NAME);
const subject = names.subject('trades', 'simulated', SYMBOL);
const now = (): number => performance.timeOrigin + performance.now();

/** Start receiving the way `mode` says; returns what stops it. */
async function receive(nc: NatsConnection, mode: HopMode, onData: (data: Uint8Array) => void): Promise<() => Promise<void>> {
  if (mode === 'core') {
    const sub = nc.subscribe(names.liveSubjects()[0]!, { callback: (err: Error | null, m: Msg) => {
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

/** The live stream as the feed makes it (src/cluster/nats.ts), made anew. */
async function freshStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(names.liveStream).catch(() => undefined);
  await jsm.streams.add({ name: names.liveStream, subjects: names.liveSubjects(), max_age: nanos(3_600_000), duplicate_window: nanos(DEDUP_WINDOW_MS), num_replicas: 1 });
}

/** One mode: a fresh stream, the receiver here, the publisher in a child process. */
async function runMode(url: string, mode: HopMode, options: NatsHopOptions): Promise<HopRun> {
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
    const ack = await publisher(url, options);
    await new Promise((r) => setTimeout(r, 200)); // the last deliveries
    const cpu = process.cpuUsage(cpu0);
    await stop();
    return { mode, received, latency: summarize(h), ack, cpuPerMessageUs: (cpu.user + cpu.system) / Math.max(1, received) };
  } finally {
    await nc.close();
  }
}

/** Run the publisher (this file, `publish`) in a child process; resolves with its send → ack summary. */
function publisher(url: string, options: NatsHopOptions): Promise<LatencySummary> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'publish', url, String(options.rate), String(options.seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LatencySummary) : reject(new Error(`publisher exited with ${code}: ${out}`))));
  });
}

/**
 * The publisher: `rate` trades a second for WARM_UP_MS plus `seconds`, paced
 * by a 1 ms timer (each tick sends what is due), each awaited acknowledgement
 * timed. Warm-up trades carry negative ids.
 */
async function publish(url: string, rate: number, seconds: number): Promise<LatencySummary> {
  const nc = await connect({ servers: url, name: 'probe publisher' });
  const js = jetstream(nc);
  const fbs = new FbsEncoder();
  const channel = channelName('trades', 'simulated', SYMBOL);
  const acks = latencyHistogram();
  const total = Math.round((rate * (WARM_UP_MS + seconds * 1000)) / 1000);
  const warmUp = Math.round((rate * WARM_UP_MS) / 1000);
  const start = performance.now();
  let sent = 0;
  let settled = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000));
      for (; sent < due; sent++) {
        const id = sent < warmUp ? -1 - sent : sent;
        const sentAt = now();
        const h = headers();
        h.set(Header.TERM, '1');
        h.set(Header.SEQ, String(sent + 1));
        const data = fbs.trade(channel, sent + 1, { exchange: 'simulated', symbol: SYMBOL, tradeId: id, price: 50_000, size: 0.01, side: 'buy', ts: Date.now(), recvTs: sentAt }).slice();
        void js.publish(subject, data, { headers: h, msgID: `${channel}:${id}`, timeout: 5_000, retries: 0 }).then(
          () => acks.recordValue(Math.max(1, Math.round((now() - sentAt) * 1000))),
          () => undefined,
        ).finally(() => {
          if (++settled === total) resolve();
        });
      }
      if (sent === total) clearInterval(tick);
    }, 1);
  });
  await nc.close();
  return summarize(acks);
}

/** Every mode in turn against one nats-server; figures for the report and the runs as details. */
export async function natsHopBench(options: NatsHopOptions, log: (line: string) => void): Promise<{ figures: Figure[]; details: { runs: HopRun[] } }> {
  const runs: HopRun[] = [];
  try {
    const server = await startNats();
    for (const mode of MODES) {
      const run = await runMode(server.url, mode, options);
      runs.push(run);
      const l = run.latency;
      log(`nats hop: ${mode}: ${run.received} received, publish → receive p50 ${l.p50} µs, p99 ${l.p99} µs, p99.9 ${l.p999} µs; publish → ack p50 ${run.ack.p50} µs, p99 ${run.ack.p99} µs; ${run.cpuPerMessageUs.toFixed(1)} µs CPU per message received`);
    }
  } finally {
    await stopAll();
  }
  const core = runs.find((r) => r.mode === 'core')!;
  const figures = runs.flatMap((r) => [
    figure({ id: `nats-hop.${r.mode}.p50`, group: 'cluster', name: `NATS alone: publish → ${r.mode} receive p50`, value: r.latency.p50, unit: 'µs', better: 'lower' }),
    figure({ id: `nats-hop.${r.mode}.p99`, group: 'cluster', name: `NATS alone: publish → ${r.mode} receive p99`, value: r.latency.p99, unit: 'µs', better: 'lower' }),
  ]);
  figures.push(figure({ id: 'nats-hop.ack.p99', group: 'cluster', name: 'NATS alone: JetStream publish → ack p99', value: core.ack.p99, unit: 'µs', better: 'lower' }));
  return { figures, details: { runs } };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === 'publish') {
    const [, , , url, rate, seconds] = process.argv;
    console.log(JSON.stringify(await publish(url!, Number(rate), Number(seconds))));
  } else {
    const rate = Number(process.argv[2] ?? 2_000);
    const seconds = Number(process.argv[3] ?? 5);
    const r = await natsHopBench({ rate, seconds }, (l) => process.stderr.write(`${l}\n`));
    console.log(JSON.stringify(r.details.runs, null, 2));
  }
}
