/**
 * The gateway under soak, in a child process of its own so its RSS, heap and
 * CPU are its own: `createTickwire` + `createServer` from the package entry,
 * the `binance` adapter pointed at the soak's fake exchange, trades only,
 * the default timeframes (1m 5m 15m 1h) and history, and closed bars
 * persisted in LMDB at `storagePath` as a config file's default does
 * (backfill off: the fake exchange has no klines endpoint). With `--hostile`
 * it also requires HS256 JWTs and holds small connection caps (GatewayArgs).
 *
 * Started by the orchestrator with `fork(..., { execArgv: ['--expose-gc',
 * '--import', 'tsx'] })` and `GatewayArgs` as JSON in argv[2]. Over IPC it
 * answers `sample` with its memory after a forced full GC, CPU and
 * event-loop delay over the window, and `stop` by closing the server and the
 * tickwire and exiting.
 *
 * Why a forced GC over IPC rather than `/metrics`: prom-client's process
 * metrics are not registered by tickwire, and heap-used without a GC swings by
 * the young generation's fill (megabytes per second at this load), which
 * hides a slow leak from any line fit over minutes. After `gc()` the heap is
 * what is retained. The GC itself pauses the main thread for a few ms per
 * sample: its duration is reported (`gcMs`), the event-loop delay excludes it,
 * and subscriber latency in the next window includes it.
 *
 * Heap is the main thread's (server, pump, fan-out); the feed worker's heap
 * is not separately visible in Node 20, but RSS covers every thread.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createServer, createTickwire } from '../../src/index.ts';
import type { GatewayArgs, GatewayCommand, GatewayEvent } from './protocol.ts';

function send(event: GatewayEvent, then?: () => void): void {
  if (process.connected) process.send!(event, undefined, undefined, () => then?.());
  else then?.();
}

function fail(message: string): never {
  send({ type: 'failed', message }, () => process.exit(1));
  // Exit even if the parent never reads the message.
  setTimeout(() => process.exit(1), 1_000).unref();
  throw new Error(message);
}

const gc = (globalThis as { gc?: () => void }).gc;
if (typeof gc !== 'function') fail('the soak gateway needs --expose-gc');
if (process.send === undefined) fail('the soak gateway runs as a forked child (it is driven over IPC)');
const args = JSON.parse(process.argv[2] ?? '{}') as GatewayArgs;

const hostile = args.hostile;
const tickwire = createTickwire({
  server: {
    host: '127.0.0.1',
    port: 0,
    ...(hostile === undefined ? {} : { maxConnections: hostile.maxConnections, maxConnectionsPerAddress: hostile.maxConnectionsPerAddress }),
  },
  exchanges: { binance: { url: args.exchangeUrl, symbols: args.symbols, channels: ['trades'] } },
  storage: args.storagePath === null ? false : { path: args.storagePath, backfill: false },
  // --hostile: a protected server (HS256), so forged tokens have something to be refused by.
  ...(hostile === undefined ? {} : { auth: { jwt: { secret: hostile.jwtSecret } } }),
});
const server = createServer(tickwire, { host: '127.0.0.1', port: 0 });
/** monitorEventLoopDelay's timer period, ms: its figures are timer intervals, so this is subtracted. */
const LOOP_RESOLUTION_MS = 10;
const eventLoop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
let lastCpu = process.cpuUsage();
let lastCpuAt = performance.now();
let stopping = false;

/**
 * `--leak` self-check: every 100 ms retain a packed array of doubles (8 bytes
 * per element, on the JS heap) so the heap grows at the asked rate and the
 * verdict can be seen to fail. Off (no timer) unless asked.
 */
const LEAK_TICK_MS = 100;
const retained: number[][] = [];
if (args.leakBytesPerMin > 0) {
  const elements = Math.max(1, Math.round(args.leakBytesPerMin / (60_000 / LEAK_TICK_MS) / 8));
  setInterval(() => retained.push(new Array<number>(elements).fill(0.5)), LEAK_TICK_MS).unref();
}

function sample(): void {
  const now = performance.now();
  const cpu = process.cpuUsage(lastCpu);
  const cpuPercent = ((cpu.user + cpu.system) / 1_000 / (now - lastCpuAt)) * 100;
  lastCpu = process.cpuUsage();
  lastCpuAt = now;
  const delay = (ns: number): number => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
  const loop = { p50: delay(eventLoop.percentile(50)), p99: delay(eventLoop.percentile(99)), max: delay(eventLoop.max) };
  // Keep the forced GC out of the event-loop figures: the monitor's timer would see it as a delay.
  eventLoop.disable();
  eventLoop.reset();
  const heapUsedBeforeGcBytes = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  gc!();
  const gcMs = performance.now() - t0;
  const m = process.memoryUsage();
  eventLoop.enable();
  send({
    type: 'sample',
    rssBytes: m.rss,
    heapUsedBytes: m.heapUsed,
    heapTotalBytes: m.heapTotal,
    externalBytes: m.external,
    arrayBuffersBytes: m.arrayBuffers,
    heapUsedBeforeGcBytes,
    gcMs,
    cpuPercent,
    eventLoop: loop,
  });
}

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  eventLoop.disable();
  const t0 = performance.now();
  try {
    await server.close();
    await tickwire.stop();
  } catch (err) {
    fail(`gateway did not stop cleanly: ${err instanceof Error ? err.message : String(err)}`);
  }
  send({ type: 'stopped', shutdownMs: performance.now() - t0 }, () => process.exit(0));
}

process.on('message', (cmd: GatewayCommand) => {
  if (cmd.type === 'sample') sample();
  else if (cmd.type === 'stop') void stop();
});
// The orchestrator went away: shut down rather than linger.
process.on('disconnect', () => void stop().finally(() => process.exit(0)));
process.on('SIGTERM', () => void stop());
// Ctrl-C in a terminal reaches the whole process group: the orchestrator ends the run and stops us itself.
process.on('SIGINT', () => {});

try {
  const { port } = await server.listen();
  await tickwire.start();
  eventLoop.enable();
  send({ type: 'ready', port });
} catch (err) {
  fail(`gateway did not start: ${err instanceof Error ? err.message : String(err)}`);
}
