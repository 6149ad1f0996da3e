/**
 * Scale-out (docs/scale-out.md): the same load through the single process
 * and through the cluster, one after the other.
 *
 *  - single: `tickwire start` (role all), the simulated exchange at `rate`
 *    trades/s over two symbols;
 *  - cluster: a nats-server (JetStream, loopback, a temporary store),
 *    `tickwire start --role feed` with the same exchange and rate, and
 *    `tickwire start --role edge`; the subscriber connects to the edge.
 *
 * One subscriber (this process) takes both trade channels for `seconds`.
 * Latency: the trade's `recvTs` (when the feed's worker received the
 * exchange frame) to its arrival here, one clock (all on this machine):
 * frame → feed → NATS → edge → subscriber, against frame → subscriber in
 * the single process. CPU per delivered message: the serving process's CPU
 * time (/proc) over the messages this subscriber received; the single
 * process's figure includes its exchange worker and the simulated market,
 * the edge's does not (it has neither), so the ratio flatters the edge by
 * that much. The feed side of the hop, event → JetStream's acknowledgement,
 * comes from the feed's /v1/status (`cluster.outbox.sendToAck`). Messages
 * per trade: what JetStream stored (both streams, every subject) over the
 * trades it stored, read from the streams at the end.
 * Measurements only: nothing is asserted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import WebSocket from 'ws';
import { latencyHistogram, summarize, type LatencySummary } from './load/latency.ts';
import { figure, type Figure } from './report.ts';
import { cpuSeconds } from './threads.ts';
import { cpuProfileArgs, nameThread } from './load/profiling.ts';
import { ClusterNames } from '../src/cluster/subjects.ts';
import type { LatencyReport } from '../src/model/status.ts';
import { freePort } from '../test/support/nats.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin/tickwire.mjs');
const CHANNELS = ['trades:simulated:SIM-BTC', 'trades:simulated:SIM-ETH'];

export interface ClusterBenchOptions {
  /** Trades per second over the two symbols. */
  rate: number;
  /** Measured seconds per setup (after a 2 s warm-up). */
  seconds: number;
}

/** One setup's measurement. */
export interface ClusterRun {
  setup: 'single' | 'cluster';
  delivered: number;
  latency: LatencySummary;
  /** CPU time of the serving process (single, or the edge) per delivered message, µs. */
  cpuPerMessageUs: number;
  /** The serving process's stages (its `/v1/latency`; the edge's: feed_to_store, store_to_edge, edge_publish, src/cluster/edge-latency.ts), over the whole run. */
  stages?: LatencyReport;
  /** Cluster: the feed's event → JetStream acknowledgement (its /v1/status `cluster.outbox.sendToAck`, since its start). */
  feedSendToAck?: LatencySummary;
  /** Cluster: messages JetStream stored per trade stored (both streams), at the end of the run. */
  feedMessagesPerTrade?: number;
  /** Cluster: the feed process's CPU time (every thread: exchange worker, simulated market, publishing) per trade delivered here, µs. */
  feedCpuPerTradeUs?: number;
  /** Cluster: the feed's own stages (its `/v1/latency`: receive_to_publish, ring_wait, event_loop_delay), since its start. */
  feedStages?: LatencyReport;
}

/** The feed's side of the hop, from its /v1/status. */
async function feedSendToAck(port: number): Promise<LatencySummary> {
  const status = (await (await fetch(`http://127.0.0.1:${port}/v1/status`)).json()) as { cluster: { outbox: { sendToAck: LatencySummary } } };
  return status.cluster.outbox.sendToAck;
}

/** Messages JetStream stored for cluster `name` (both streams) per trade it stored. */
async function storedPerTrade(natsUrl: string, name: string): Promise<number> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const names = new ClusterNames(name);
    let messages = 0;
    let trades = 0;
    for (const stream of [names.liveStream, names.barsStream]) {
      const info = await jsm.streams.info(stream, { subjects_filter: '>' });
      for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
        messages += n;
        if (subject.startsWith(`${name}.trades.`)) trades += n;
      }
    }
    return messages / Math.max(1, trades);
  } finally {
    await nc.close();
  }
}

/** Spawn and wait until `ready` shows in its output. A tickwire process (`role` named) is CPU-profiled in a profiled run. */
async function launch(cmd: string, args: string[], cwd: string, ready: RegExp, children: ChildProcess[], role?: string): Promise<{ proc: ChildProcess; out: () => string }> {
  const proc = spawn(cmd, role === undefined ? args : [...cpuProfileArgs(), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  if (role !== undefined) nameThread(proc.pid, 0, role);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 60_000;
  while (!ready.test(out)) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`${cmd} ${args.join(' ')} did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { proc, out: () => out };
}

/** Subscribe to the trade channels at `port` and measure for `seconds` after a warm-up. */
async function measure(port: number, pid: number, seconds: number, setup: ClusterRun['setup'], feedPid?: number): Promise<ClusterRun> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/stream`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const h = latencyHistogram();
  let measuring = false;
  let delivered = 0;
  ws.on('message', (data) => {
    if (!measuring) return;
    const m = JSON.parse(data.toString()) as { type: string; recvTs?: number };
    if (m.type !== 'trade') return;
    delivered++;
    h.recordValue(Math.max(1, Math.round((performance.timeOrigin + performance.now() - m.recvTs!) * 1000)));
  });
  ws.send(JSON.stringify({ op: 'subscribe', id: 1, channels: CHANNELS }));
  await new Promise((r) => setTimeout(r, 2_000));
  const cpu0 = cpuSeconds(pid);
  const feedCpu0 = feedPid === undefined ? 0 : cpuSeconds(feedPid);
  measuring = true;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const cpu = cpuSeconds(pid) - cpu0;
  const feedCpu = feedPid === undefined ? NaN : cpuSeconds(feedPid) - feedCpu0;
  ws.close();
  const run: ClusterRun = { setup, delivered, latency: summarize(h), cpuPerMessageUs: (cpu * 1e6) / Math.max(1, delivered) };
  if (feedPid !== undefined) run.feedCpuPerTradeUs = (feedCpu * 1e6) / Math.max(1, delivered);
  run.stages = (await (await fetch(`http://127.0.0.1:${port}/v1/latency`)).json()) as LatencyReport;
  return run;
}

function stopAll(children: ChildProcess[]): Promise<void> {
  return Promise.all(
    children.splice(0).map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGINT');
          setTimeout(() => c.kill('SIGKILL'), 3_000).unref();
        }),
    ),
  ).then(() => undefined);
}

/** Run both setups; figures for the report, and the runs as details. */
export async function clusterBench(options: ClusterBenchOptions, log: (line: string) => void): Promise<{ figures: Figure[]; details: { runs: ClusterRun[] } }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tickwire-bench-cluster-'));
  const children: ChildProcess[] = [];
  const runs: ClusterRun[] = [];
  try {
    const natsPort = await freePort();
    const yaml = (port: number) =>
      [
        `server: { host: 127.0.0.1, port: ${port} }`,
        'timeframes: [1m]',
        'storage: false',
        `exchanges: { simulated: { symbols: [SIM-BTC, SIM-ETH], rate: ${options.rate / 2} } }`,
        `cluster: { servers: ["nats://127.0.0.1:${natsPort}"], name: bench }`,
        '',
      ].join('\n');
    const write = (name: string, port: number) => {
      writeFileSync(path.join(dir, name), yaml(port));
      return name;
    };

    const single = await launch(process.execPath, [BIN, 'start', '--config', write('single.yaml', await freePort())], dir, /try: curl/, children, 'tickwire-single');
    const singlePort = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(single.out())![1]);
    log(`cluster bench: single process, ${options.rate} trades/s for ${options.seconds} s`);
    runs.push(await measure(singlePort, single.proc.pid!, options.seconds, 'single'));
    await stopAll(children);

    await launch('nats-server', ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', path.join(dir, 'js')], dir, /Server is ready/, children);
    const feedPort = await freePort();
    const feed = await launch(process.execPath, [BIN, 'start', '--role', 'feed', '--config', write('feed.yaml', feedPort)], dir, /simulated: leading/, children, 'tickwire-feed');
    const edge = await launch(process.execPath, [BIN, 'start', '--role', 'edge', '--config', write('edge.yaml', await freePort())], dir, /try: curl/, children, 'tickwire-edge');
    const edgePort = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(edge.out())![1]);
    log(`cluster bench: feed → NATS → edge, ${options.rate} trades/s for ${options.seconds} s`);
    const run = await measure(edgePort, edge.proc.pid!, options.seconds, 'cluster', feed.proc.pid!);
    run.feedSendToAck = await feedSendToAck(feedPort);
    run.feedStages = (await (await fetch(`http://127.0.0.1:${feedPort}/v1/latency`)).json()) as LatencyReport;
    run.feedMessagesPerTrade = await storedPerTrade(`nats://127.0.0.1:${natsPort}`, 'bench');
    runs.push(run);
    log(`cluster bench: JetStream stored ${run.feedMessagesPerTrade.toFixed(2)} messages per trade; feed event → ack p50 ${run.feedSendToAck.p50} µs, p99 ${run.feedSendToAck.p99} µs`);
    // The edge's CPU is divided by what it delivered: a feed that falls behind (few messages) inflates it with the edge's fixed costs.
    for (const r of runs) log(`cluster bench: ${r.setup} delivered ${r.delivered} trades in ${options.seconds} s, ${r.cpuPerMessageUs.toFixed(1)} µs CPU each`);
    log(`cluster bench: the feed process used ${run.feedCpuPerTradeUs!.toFixed(1)} µs CPU per trade delivered (the single process: ${runs[0]!.cpuPerMessageUs.toFixed(1)}, serving included)`);
    for (const [side, report] of [['single', runs[0]!.stages], ['edge', run.stages], ['feed', run.feedStages]] as const) {
      for (const [stage, byExchange] of Object.entries(report ?? {})) {
        for (const [exchange, q] of Object.entries(byExchange)) log(`cluster bench: ${side} stage ${stage} (${exchange}): p50 ${q.p50} µs, p99 ${q.p99} µs, p99.9 ${q.p999} µs, ${q.count} messages`);
      }
    }
  } finally {
    await stopAll(children);
    rmSync(dir, { recursive: true, force: true });
  }
  const [s, c] = runs as [ClusterRun, ClusterRun];
  const figures = [
    figure({ id: 'cluster.p50', group: 'cluster', name: 'cluster: frame → subscriber p50 (single process as peer)', value: c.latency.p50, unit: 'µs', better: 'lower', peer: { name: 'single process', value: s.latency.p50 } }),
    figure({ id: 'cluster.p99', group: 'cluster', name: 'cluster: frame → subscriber p99', value: c.latency.p99, unit: 'µs', better: 'lower', peer: { name: 'single process', value: s.latency.p99 } }),
    figure({ id: 'cluster.p999', group: 'cluster', name: 'cluster: frame → subscriber p99.9', value: c.latency.p999, unit: 'µs', better: 'lower', peer: { name: 'single process', value: s.latency.p999 } }),
    figure({ id: 'cluster.hop.p99', group: 'cluster', name: 'cluster: p99 added by the NATS hop', value: c.latency.p99 - s.latency.p99, unit: 'µs', better: 'lower', goals: [{ on: 'value', op: '<', threshold: 1_000, text: '< 1 ms on loopback' }] }),
    figure({ id: 'cluster.feed.ack.p99', group: 'cluster', name: 'cluster: feed event → JetStream ack p99 (the feed side of the hop)', value: c.feedSendToAck!.p99, unit: 'µs', better: 'lower' }),
    figure({ id: 'cluster.feed.cpu', group: 'cluster', name: 'cluster: feed CPU per trade (single process, serving included, as peer)', value: c.feedCpuPerTradeUs!, unit: 'µs', better: 'lower', peer: { name: 'single process', value: s.cpuPerMessageUs } }),
    figure({ id: 'cluster.feed.messagesPerTrade', group: 'cluster', name: 'cluster: JetStream messages stored per trade', value: c.feedMessagesPerTrade!, unit: 'messages/trade', better: 'lower' }),
    figure({ id: 'cluster.cpu', group: 'cluster', name: 'cluster: edge CPU per delivered message', value: c.cpuPerMessageUs, unit: 'µs', better: 'lower', peer: { name: 'single process', value: s.cpuPerMessageUs }, goals: [{ on: 'ratio', op: '>=', threshold: 1 / 1.2, text: 'within 1.2× of the single process (ratio ≥ 0.83)' }] }),
  ];
  return { figures, details: { runs } };
}

/** `npx tsx bench/cluster.ts [rate] [seconds]`: this benchmark alone, printed as JSON. */
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rate = Number(process.argv[2] ?? 2_000);
  const seconds = Number(process.argv[3] ?? 5);
  const r = await clusterBench({ rate, seconds }, (l) => process.stderr.write(`${l}\n`));
  console.log(JSON.stringify(r.details.runs, null, 2));
}
