/**
 * The gateway under test, as a child process: tickwire embedded exactly as a
 * user runs it (`createTickwire` + `createServer` from the package entry),
 * with `binance` pointed at the benchmark's fake exchange.
 *
 *   node --import tsx bench/gateway-tickwire.ts <exchange ws url> [timeframe ...]
 *
 * The per-client HTTP rate limit (`auth.httpRate`, default 100/s, at most
 * 10,000/s in a config file) is lifted through `createServer`'s `auth`
 * option: every benchmark request comes from one loopback address, so it
 * would otherwise measure the limiter's 429s. The limiter still runs (its
 * cost per request is part of the figure); everything else is the default.
 *
 * Tells the parent `{type:'ready', port}` once listening (the feed worker
 * connects on its own; the parent waits for its subscription at the fake
 * exchange). On `{type:'stop'}` it closes the server, then stops the
 * library (the order the uWS lifetime rules require), and exits. Answers
 * probes of its main thread (load/gateway-probe.ts).
 *
 * `BENCH_WAKE_WINDOW_MS` sets the runtime option `wakeWindowMs` (the feed
 * worker's doorbell batching, docs/performance.md) for an A/B run; unset,
 * tickwire runs with its default.
 */
import { createServer, createTickwire } from '../src/index.ts';
import { answerProbes } from './load/gateway-probe.ts';

const [exchangeUrl, ...timeframes] = process.argv.slice(2);
if (exchangeUrl === undefined || process.send === undefined) {
  console.error('usage (forked with IPC): gateway-tickwire.ts <exchange ws url> [timeframe ...]');
  process.exit(2);
}

const wakeWindow = process.env['BENCH_WAKE_WINDOW_MS'];
const tickwire = createTickwire(
  {
    timeframes: timeframes.length > 0 ? timeframes : ['1m', '5m', '15m', '1h'],
    history: 1000,
    exchanges: { binance: { url: exchangeUrl, symbols: ['BTCUSDT'], channels: ['trades'] } },
  },
  wakeWindow === undefined || wakeWindow === '' ? {} : { wakeWindowMs: Number(wakeWindow) },
);
answerProbes();
await tickwire.start();
const UNLIMITED = { rate: 1e9, burst: 1e9 };
const server = createServer(tickwire, { host: '127.0.0.1', port: 0, auth: { ...tickwire.config.auth, httpRate: UNLIMITED } });
const { port } = await server.listen();
process.send({ type: 'ready', port });

let stopping = false;
/** Close the server first, then the library; exit. Also when the parent went away. */
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server.close();
  await tickwire.stop();
  process.exit(0);
}
process.on('message', (m: { type?: string }) => {
  if (m.type === 'stop') void shutdown();
});
process.on('disconnect', () => void shutdown());
