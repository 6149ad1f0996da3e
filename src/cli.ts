/**
 * `tickwire start [--config FILE] [--host H] [--port N] [--role all|feed|edge]`:
 * runs the server; `--role feed|edge` runs one role of a cluster over NATS
 * JetStream (docs/scale-out.md), `all` (the default) everything in one
 * process without NATS.
 * Without --config it uses ./tickwire.yaml when present, else the built-in
 * default (the simulated exchange, offline). Start-up prints the listening
 * address, the exchanges, the memory the config reserves and what storage
 * restored; stored bars are loaded before it listens. SIGINT/SIGTERM close the
 * listen socket and connections, stop the workers, flush the bars to storage
 * and exit 0 within 2 s (1 if the stop had to be cut short).
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TickwireRuntime } from './api/tickwire.ts';
import { EdgeRuntime } from './cluster/edge-runtime.ts';
import { FeedNode, nodeName } from './cluster/feed-node.ts';
import { openCluster, type ClusterConnection } from './cluster/nats.ts';
import { DEFAULT_CONFIG_YAML } from './config/defaults.ts';
import { formatBytes } from './config/limits.ts';
import { loadConfigFile, loadConfigText } from './config/load.ts';
import type { TickwireConfig } from './config/types.ts';
import { TickwireError } from './errors.ts';
import { TOKEN_USAGE, tokenCommand } from './server/auth.ts';
import { describeCaps } from './server/connection-limits.ts';
import { createServer, type TickwireServer } from './server/server.ts';

const USAGE = `usage: tickwire start [--config FILE] [--host HOST] [--port PORT] [--role all|feed|edge]

  --config FILE   YAML configuration (default: ./tickwire.yaml if present, else the built-in simulated exchange)
  --host HOST     listen address (overrides server.host)
  --port PORT     listen port, 0 for any free port (overrides server.port)
  --role ROLE     all (default: one process, no NATS), feed (exchanges → NATS JetStream) or edge
                  (NATS JetStream → subscribers); feed and edge need the config's cluster: section (docs/scale-out.md)
${TOKEN_USAGE}`;

/** Run the CLI with `argv` (without node and script); resolves to the exit code once the server has stopped. */
export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { config: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, role: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    console.error(`tickwire: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const command = args.positionals[0];
  if (command === 'token' || command === 'hash-token') return tokenCommand(command, args.positionals.slice(1));
  if (command !== 'start' || args.positionals.length > 1) {
    console.error(`tickwire: expected the command "start"\n${USAGE}`);
    return 2;
  }
  const role = args.values.role ?? 'all';
  if (role !== 'all' && role !== 'feed' && role !== 'edge') {
    console.error(`tickwire: --role: got ${JSON.stringify(role)}, expected all, feed or edge\n${USAGE}`);
    return 2;
  }
  let config: TickwireConfig;
  let source: string;
  try {
    ({ config, source } = readConfig(args.values.config));
    if (args.values.host !== undefined) config.server.host = args.values.host;
    if (args.values.port !== undefined) {
      const port = Number(args.values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: got ${JSON.stringify(args.values.port)}, expected an integer 0..65535`);
      config.server.port = port;
    }
    if (role !== 'all' && (config.cluster === null || config.cluster === undefined)) {
      throw new Error(`--role ${role} needs the config's cluster: section (servers, name, replicas, history; docs/scale-out.md)`);
    }
  } catch (err) {
    console.error(`tickwire: ${err instanceof TickwireError || err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  if (role !== 'all') return runClusterRole(role, config, source);

  const tickwire = new TickwireRuntime(config);
  try {
    tickwire.restore(); // stored bars first: candles are answered from them as soon as we listen
  } catch (err) {
    console.error(`tickwire: could not open storage: ${(err as Error).message}`);
    await tickwire.stop();
    return 1;
  }
  let server: TickwireServer;
  try {
    server = createServer(tickwire, { host: config.server.host, port: config.server.port });
  } catch (err) {
    console.error(`tickwire: ${(err as Error).message}`); // e.g. open on a non-loopback --host: auth.allowOpen
    await tickwire.stop();
    return 2;
  }
  let address: { host: string; port: number };
  try {
    address = await listenWithRetry(server); // before the feeds connect: a taken port fails fast and quietly
    await tickwire.start();
  } catch (err) {
    console.error(`tickwire: could not start: ${(err as Error).message}`);
    await server.close();
    await tickwire.stop();
    return 1;
  }
  const exchanges = Object.entries(config.exchanges).map(([name, ex]) => `${name} (${ex.symbols.join(', ')})`);
  console.log(
    [
      `tickwire listening on http://${address.host}:${address.port} (config: ${source})`,
      `exchanges: ${exchanges.join('; ')}`,
      `timeframes: ${config.timeframes.join(' ')}; ${memoryLine(tickwire, config)}`,
      storageLine(tickwire),
      describeCaps(server.caps),
      `try: curl http://${address.host}:${address.port}/v1/status`,
    ].join('\n'),
  );

  return untilSignal(server, tickwire);
}

/**
 * Wait for SIGINT/SIGTERM, then close the server and stop `tickwire`.
 * Promised: exit within SHUTDOWN_MS of the signal. Stopping flushes the bars; a stop that hangs
 * (a worker that does not answer) is cut short, with a non-zero code so supervisors notice.
 */
async function untilSignal(server: TickwireServer, tickwire: { stop(): Promise<void> }): Promise<number> {
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  console.log(`tickwire: ${signal}, shutting down`);
  const stopped = (async () => {
    await server.close();
    await tickwire.stop();
    return 0;
  })();
  const deadline = new Promise<number>((resolve) => setTimeout(() => resolve(1), SHUTDOWN_MS).unref());
  const code = await Promise.race([stopped, deadline]);
  if (code !== 0) console.error(`tickwire: shutdown took longer than ${SHUTDOWN_MS} ms; exiting anyway`);
  return code;
}

/**
 * `--role feed`: the runtime publishing to the cluster, serving /health, /v1/status and /metrics only.
 * `--role edge`: candles rebuilt and the live stream caught up from the cluster, then the full server.
 */
async function runClusterRole(role: 'feed' | 'edge', config: TickwireConfig, source: string): Promise<number> {
  const node = nodeName(role);
  let cluster: ClusterConnection;
  try {
    cluster = await openCluster(config.cluster!, node);
  } catch (err) {
    console.error(`tickwire: ${(err as Error).message}`);
    return 1;
  }
  let tickwire: FeedNode | EdgeRuntime;
  let runtime: TickwireRuntime | undefined;
  if (role === 'feed') {
    runtime = new TickwireRuntime(config);
    const feed = new FeedNode(runtime, cluster, node);
    feed.onLeadership = (exchange, leading, detail) => console.log(`tickwire: ${exchange}: ${leading ? 'leading' : 'standing by'} (${detail})`);
    tickwire = feed;
  } else {
    tickwire = new EdgeRuntime(config, cluster);
  }
  let server: TickwireServer;
  let address: { host: string; port: number };
  try {
    runtime?.restore();
    server = createServer(tickwire, { host: config.server.host, port: config.server.port, operationsOnly: role === 'feed' });
  } catch (err) {
    console.error(`tickwire: ${(err as Error).message}`);
    await tickwire.stop();
    return 2;
  }
  try {
    // A feed listens first (a taken port fails before the exchanges connect); an edge only once it has caught up.
    if (role === 'feed') address = await listenWithRetry(server);
    await tickwire.start();
    if (role === 'edge') address = await listenWithRetry(server);
  } catch (err) {
    console.error(`tickwire: could not start: ${(err as Error).message}`);
    await server.close();
    await tickwire.stop();
    return 1;
  }
  const what = role === 'feed' ? 'feed (exchanges → cluster; /health, /v1/status, /metrics)' : 'edge (cluster → subscribers)';
  console.log(
    [
      `tickwire ${what} listening on http://${address!.host}:${address!.port} (config: ${source})`,
      `cluster: ${config.cluster!.name} on ${config.cluster!.servers.join(', ')} (epoch ${cluster.epoch})`,
      `exchanges: ${Object.entries(config.exchanges).map(([name, ex]) => `${name} (${ex.symbols.join(', ')})`).join('; ')}`,
      `try: curl http://${address!.host}:${address!.port}/v1/status`,
    ].join('\n'),
  );
  return untilSignal(server, tickwire);
}

/** The memory the config reserves, as computed at load (src/config/limits.ts), with its parts and the limit. */
function memoryLine(tickwire: TickwireRuntime, config: TickwireConfig): string {
  const parts = tickwire.memory.parts.map((p) => `${p.what} ${formatBytes(p.bytes)}`).join(', ');
  return `memory reserved: ${formatBytes(tickwire.memory.total)} (${parts}; limits.maxMemory ${formatBytes(config.limits.maxMemory)})`;
}

/** How long SIGINT/SIGTERM may take, flush included. */
const SHUTDOWN_MS = 1_900;

function storageLine(tickwire: TickwireRuntime): string {
  const storage = tickwire.status().storage;
  if (storage === null) return 'storage: off (bars are kept in memory only)';
  const problems = storage.problems.length > 0 ? `; not filled: ${storage.problems.slice(0, 3).join('; ')}${storage.problems.length > 3 ? ' ...' : ''}` : '';
  return `storage: ${storage.path} (${storage.restoredBars} bars restored, ${storage.backfilledBars} backfilled${problems})`;
}

/**
 * The pinned uWebSockets.js build binds without SO_REUSEADDR, so right after a
 * restart the port can stay taken by TIME_WAIT connections for a while: retry
 * for up to 15 s (an address that is simply wrong fails after that too).
 */
async function listenWithRetry(server: TickwireServer): Promise<{ host: string; port: number }> {
  const deadline = Date.now() + 15_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await server.listen();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      if (attempt === 0) console.error(`tickwire: ${(err as Error).message}; retrying for up to 15 s`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

function readConfig(path: string | undefined): { config: TickwireConfig; source: string } {
  if (path !== undefined) return { config: loadConfigFile(path), source: path };
  if (existsSync('tickwire.yaml')) return { config: loadConfigFile('tickwire.yaml'), source: './tickwire.yaml' };
  return { config: loadConfigText(DEFAULT_CONFIG_YAML, 'built-in default'), source: 'built-in default (simulated exchange)' };
}

