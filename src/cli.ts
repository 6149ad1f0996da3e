/**
 * The `tickwire` command: `start [--config FILE] [--env NAME] [--host H]
 * [--port N] [--log-level L] [--role all|feed|edge]` runs the server (`--role
 * feed|edge`: one role of a cluster over NATS JetStream, docs/scale-out.md;
 * `all`, the default, everything in one process without NATS), `backtest`
 * replays recorded frames through the strategies, `token` and `hash-token`
 * make API tokens, `--version` and `--help` answer (the command line: cli/args.ts).
 * Without --config it uses ./tickwire.yaml when present, else the built-in
 * default (the simulated exchange, offline). Start-up prints the listening
 * address, the exchanges, the memory the config reserves and what storage
 * restored; stored bars are loaded before it listens. SIGHUP (and
 * `POST /v1/admin/reload`) re-read the config file and apply its symbol
 * changes live (docs/operations.md). SIGINT/SIGTERM close the
 * listen socket and connections, stop the workers, flush the bars to storage
 * and exit 0 within 2 s (1 if the stop had to be cut short). Exit code 2: the
 * command line or the config is wrong.
 */
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { refused } from './api/live-checks.ts';
import { TickwireRuntime } from './api/tickwire.ts';
import { readCommandLine, UsageError, type CommandLine } from './cli/args.ts';
import { watchPlugins } from './cli/watch.ts';
import { adapterFor } from './exchanges/registry.ts';
import { EdgeRuntime } from './cluster/edge-runtime.ts';
import { FeedNode, feedRuntimeConfig, nodeName } from './cluster/feed-node.ts';
import { openCluster, type ClusterConnection } from './cluster/nats.ts';
import { DEFAULT_CONFIG_YAML } from './config/defaults.ts';
import { formatBytes } from './config/limits.ts';
import { chosenEnvironment } from './config/environments.ts';
import { ConfigError, loadConfigFile, loadConfigText } from './config/load.ts';
import { BacktestOutput, formatSummary, replay } from './strategies/backtest.ts';
import { StrategyRuntime } from './strategies/runtime.ts';
import type { TickwireConfig } from './config/types.ts';
import type { ConfigChange } from './model/events.ts';
import { TickwireError } from './errors.ts';
import { LOG_LEVELS } from './log/levels.ts';
import { createLogger, type Logger } from './log/logger.ts';
import { TOKEN_USAGE, tokenCommand } from './server/auth.ts';
import { describeCaps } from './server/connection-limits.ts';
import { createStorageDirectory } from './storage/bar-db.ts';
import { createServer, type TickwireServer } from './server/server.ts';

const START_USAGE = `usage: tickwire start [--config FILE] [--env NAME] [--host HOST] [--port PORT] [--log-level LEVEL] [--role ROLE] [--watch]

  --config FILE       YAML configuration (default: ./tickwire.yaml if present, else the built-in simulated exchange)
  --env NAME          merge environments.NAME of the config over the rest (default: $TICKWIRE_ENV, else none)
  --host HOST         listen address (overrides server.host)
  --port PORT         listen port, 0 for any free port (overrides server.port)
  --log-level LEVEL   ${LOG_LEVELS.join(', ')} (overrides log.level; default info)
  --role ROLE         all (default: one process, no NATS), feed (exchanges → NATS JetStream) or edge
                      (NATS JetStream → subscribers); feed and edge need the config's cluster: section (docs/scale-out.md)
  --watch             development: when an adapter plugin's file changes, reload it and restart its exchange's worker
                      (bars carry on; docs/plugins.md)`;

const USAGE = `usage: tickwire <command> [options]

  tickwire start [--config FILE] [--env NAME] [--host HOST] [--port PORT] [--log-level LEVEL]
                               run the gateway (tickwire start --help for the options)
  tickwire backtest --config FILE --from FILE.jsonl [--out FILE.jsonl] [--exchange NAME]
                               replay recorded frames through the strategies (tickwire backtest --help)
${TOKEN_USAGE}
  tickwire --version           print the version, the Node version and whether the compiled build runs
  tickwire --help              this text`;

const BACKTEST_USAGE = `usage: tickwire backtest --config FILE --from FILE.jsonl [--out FILE.jsonl] [--exchange NAME]

  --config FILE   YAML configuration with strategies (docs/strategies.md)
  --from FILE     recorded frames of the exchange (or normalized trades), one JSON a line
  --out FILE      write every prediction, signal, fill and rejection there, one JSON a line
  --exchange NAME whose frames the file holds (default: the exchange the strategies trade)`;

const RUNNING_FROM_SOURCE = import.meta.url.endsWith('.ts');

/** `tickwire 0.1.0 (compiled build, Node v20.20.2)`: what a bug report needs first. */
export function versionLine(): string {
  const manifest = new URL(RUNNING_FROM_SOURCE ? '../package.json' : '../../package.json', import.meta.url);
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  return `tickwire ${version} (${RUNNING_FROM_SOURCE ? 'TypeScript sources through tsx' : 'compiled build'}, Node ${process.version})`;
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code once the server has stopped. */
export async function main(argv: string[]): Promise<number> {
  let line: CommandLine;
  try {
    line = readCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n\n${/^tickwire start/.test(err.message) ? START_USAGE : /^tickwire backtest/.test(err.message) ? BACKTEST_USAGE : USAGE}`);
    return 2;
  }
  switch (line.command) {
    case 'version':
      console.log(versionLine());
      return 0;
    case 'help':
      console.log(line.topic === 'start' ? START_USAGE : line.topic === 'backtest' ? BACKTEST_USAGE : line.topic === undefined ? USAGE : TOKEN_USAGE);
      return 0;
    case 'token':
    case 'hash-token':
      return tokenCommand(line.command, line.args);
    case 'start':
      return start(line);
    case 'backtest':
      return backtestCommand(line);
  }
}

async function start(args: Extract<CommandLine, { command: 'start' }>): Promise<number> {
  let config: TickwireConfig;
  let source: string;
  let file: string | undefined;
  /** What --host and --port set, set again on each reload. */
  const overrides: Partial<Pick<TickwireConfig['server'], 'host' | 'port'>> = {};
  try {
    ({ config, source, file } = readConfig(args.config, args.env));
    if (args.host !== undefined) overrides.host = args.host;
    if (args.port !== undefined) overrides.port = args.port;
    Object.assign(config.server, overrides);
    if (args.role !== 'all' && (config.cluster === null || config.cluster === undefined)) {
      throw new Error(`--role ${args.role} needs the config's cluster: section (servers, name, replicas, history; docs/scale-out.md)`);
    }
  } catch (err) {
    console.error(`tickwire: ${err instanceof TickwireError || err instanceof Error ? err.message : String(err)}`);
    return 2;
  }

  if (config.storage !== null) {
    // A directory that cannot even be created is a mistake in the config: refused here, at start. (The
    // library keeps serving from memory and retries instead, for a disk that comes back.)
    try {
      createStorageDirectory(config.storage.path);
    } catch (err) {
      console.error(`tickwire: storage.path ${config.storage.path}: ${(err as Error).message} (fix the path, or set storage: false to keep bars in memory only)`);
      return 2;
    }
  }
  // From here on everything goes to the log: JSON lines on stdout, or pretty lines on a terminal.
  const log = createLogger({ level: args.logLevel ?? config.log.level });
  log.info(
    {
      event: 'config.applied',
      source,
      exchanges: Object.keys(config.exchanges),
      timeframes: config.timeframes,
      storagePath: config.storage?.path ?? null,
      logLevel: log.level,
    },
    `${versionLine()}; config: ${source}`,
  );
  for (const name of Object.keys(config.exchanges)) {
    const entry = adapterFor(name);
    if (entry?.plugin === undefined) continue;
    const { specifier, file } = entry.plugin;
    log.info({ event: 'plugin.loaded', exchange: name, plugin: specifier, file, version: entry.version }, `${name}: plugin ${specifier} ${entry.version} (${file})`);
  }
  if (args.role !== 'all') return runClusterRole(args.role, config, source, log);
  const tickwire = new TickwireRuntime(config, { logger: log });
  try {
    tickwire.restore(); // stored bars first: candles are answered from them as soon as we listen
  } catch (err) {
    log.fatal({ event: 'storage.refused', err }, `could not open storage.path ${config.storage?.path}: ${(err as Error).message}`);
    await tickwire.stop();
    return 1;
  }
  try {
    await tickwire.prepare(); // strategies' modules loaded and checked: a config error, before listening
  } catch (err) {
    console.error(`tickwire: ${(err as Error).message}`);
    await tickwire.stop();
    return 2;
  }
  let server: TickwireServer;
  try {
    const reload = file === undefined ? undefined : reloader(tickwire, file, args.env, overrides);
    server = createServer(tickwire, { host: config.server.host, port: config.server.port, reload });
    onHangup(reload, log);
  } catch (err) {
    console.error(`tickwire: ${(err as Error).message}`); // e.g. open on a non-loopback --host: auth.allowOpen
    await tickwire.stop();
    return 2;
  }
  let address: { host: string; port: number };
  try {
    address = await listenWithRetry(server, log); // before the feeds connect: a taken port fails fast and quietly
    await tickwire.start();
  } catch (err) {
    log.fatal({ event: 'start.failed', err }, `could not start: ${(err as Error).message}`);
    await server.close();
    await tickwire.stop();
    return 1;
  }
  const url = `http://${address.host}:${address.port}`;
  const exchanges = Object.entries(config.exchanges).map(([name, ex]) => `${name} (${ex.symbols.join(', ')})`);
  log.info({ event: 'listening', url }, `tickwire listening on ${url} (config: ${source})`);
  log.info({ event: 'started.exchanges' }, `exchanges: ${exchanges.join('; ')}`);
  log.info({ event: 'started.memory', bytes: tickwire.memory.total }, `timeframes: ${config.timeframes.join(' ')}; ${memoryLine(tickwire, config)}`);
  log.info({ event: 'started.storage' }, storageLine(tickwire));
  log.info({ event: 'started.connections', ...server.caps }, describeCaps(server.caps));
  log.info({ event: 'started' }, `try: curl ${url}/v1/status`);
  const unwatch = args.watch ? watchPlugins(tickwire, log) : () => {};
  try {
    return await untilSignal(server, tickwire, log);
  } finally {
    unwatch();
  }
}

/** Wait for SIGINT/SIGTERM, then close the server and stop the runtime within SHUTDOWN_MS (exit 1 if cut short). */
async function untilSignal(server: TickwireServer, tickwire: { stop(): Promise<void> }, log: Logger): Promise<number> {
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  log.info({ event: 'shutdown', signal }, `tickwire: ${signal}, shutting down`);
  // Promised: exit within SHUTDOWN_MS of the signal. Stopping flushes the bars; a stop that hangs
  // (a worker that does not answer) is cut short, with a non-zero code so supervisors notice.
  const stopped = (async () => {
    await server.close();
    await tickwire.stop();
    return 0;
  })();
  const deadline = new Promise<number>((resolve) => setTimeout(() => resolve(1), SHUTDOWN_MS).unref());
  const code = await Promise.race([stopped, deadline]);
  if (code !== 0) log.error({ event: 'shutdown.cut_short', limitMs: SHUTDOWN_MS }, `shutdown took longer than ${SHUTDOWN_MS} ms; exiting anyway`);
  else log.info({ event: 'stopped' }, 'stopped; bars flushed');
  return code;
}

/**
 * `--role feed`: the runtime publishing to the cluster, serving /health, /v1/status and /metrics only.
 * `--role edge`: candles rebuilt and the live stream caught up from the cluster, then the full server.
 */
async function runClusterRole(role: 'feed' | 'edge', config: TickwireConfig, source: string, log: Logger): Promise<number> {
  const node = nodeName(role);
  let cluster: ClusterConnection;
  try {
    cluster = await openCluster(config.cluster!, node);
  } catch (err) {
    log.fatal({ event: 'cluster.unavailable', err }, `tickwire: ${(err as Error).message}`);
    return 1;
  }
  let tickwire: FeedNode | EdgeRuntime;
  let runtime: TickwireRuntime | undefined;
  if (role === 'feed') {
    runtime = new TickwireRuntime(feedRuntimeConfig(config), { logger: log });
    const configured = { feeds: Object.keys(config.feeds ?? {}).length, portfolios: Object.keys(config.portfolios ?? {}).length, alerts: config.alerts?.rules.length ?? 0, strategies: Object.keys(config.strategies ?? {}).length };
    const leftToEdges = Object.entries(configured).filter(([, n]) => n > 0).map(([key]) => key);
    if (leftToEdges.length > 0) {
      log.info({ event: 'cluster.edge_sections', sections: leftToEdges }, `tickwire: ${leftToEdges.join(', ')}: run on the edges, not on a feed (docs/scale-out.md)`);
    }
    const feed = new FeedNode(runtime, cluster, node);
    feed.onLeadership = (exchange, leading, detail) =>
      log.info({ event: 'cluster.leadership', exchange, leading }, `tickwire: ${exchange}: ${leading ? 'leading' : 'standing by'} (${detail})`);
    tickwire = feed;
  } else {
    tickwire = new EdgeRuntime(config, cluster);
  }
  let server: TickwireServer;
  let address: { host: string; port: number };
  try {
    runtime?.restore();
    if (tickwire instanceof EdgeRuntime) await tickwire.prepare(); // strategies' modules checked: a config error, exit 2
    server = createServer(tickwire, { host: config.server.host, port: config.server.port, operationsOnly: role === 'feed', logger: log });
  } catch (err) {
    console.error(`tickwire: ${(err as Error).message}`);
    await tickwire.stop();
    return 2;
  }
  try {
    // A feed listens first (a taken port fails before the exchanges connect); an edge only once it has caught up.
    if (role === 'feed') address = await listenWithRetry(server, log);
    await tickwire.start();
    if (role === 'edge') address = await listenWithRetry(server, log);
  } catch (err) {
    log.fatal({ event: 'start.failed', err }, `could not start: ${(err as Error).message}`);
    await server.close();
    await tickwire.stop();
    return 1;
  }
  const what = role === 'feed' ? 'feed (exchanges → cluster; /health, /v1/status, /v1/latency, /metrics)' : 'edge (cluster → subscribers)';
  const url = `http://${address!.host}:${address!.port}`;
  log.info({ event: 'listening', url, role }, `tickwire ${what} listening on ${url} (config: ${source})`);
  log.info({ event: 'started.cluster' }, `cluster: ${config.cluster!.name} on ${config.cluster!.servers.join(', ')} (epoch ${cluster.epoch})`);
  log.info({ event: 'started.exchanges' }, `exchanges: ${Object.entries(config.exchanges).map(([name, ex]) => `${name} (${ex.symbols.join(', ')})`).join('; ')}`);
  log.info({ event: 'started' }, `try: curl ${url}/v1/status`);
  return untilSignal(server, tickwire, log);
}

/**
 * `tickwire backtest`: replay a recorded file through the config's strategies
 * (src/strategies/backtest.ts); prints the summary, writes the events to
 * --out. Exit 0, or 2 for a usage or config error, 1 when the replay failed.
 */
/** `tickwire backtest`: the recorded frames through the same adapter, aggregator, features, pool and executors as live (docs/strategies.md). */
async function backtestCommand(v: Extract<CommandLine, { command: 'backtest' }>): Promise<number> {
  if (v.config === undefined || v.from === undefined) {
    console.error(`tickwire backtest: needs --config and --from\n\n${BACKTEST_USAGE}`);
    return 2;
  }
  let config: TickwireConfig;
  try {
    config = loadConfigFile(v.config, process.env, v.env);
  } catch (err) {
    console.error(`tickwire: ${(err as Error).message}`);
    return 2;
  }
  const strategies = config.strategies ?? {};
  const traded = [...new Set(Object.values(strategies).map((s) => s.exchange))];
  const exchange = v.exchange ?? (traded.length === 1 ? traded[0]! : undefined);
  if (traded.length === 0 || exchange === undefined || config.exchanges[exchange] === undefined || !existsSync(v.from)) {
    console.error(`tickwire: backtest needs strategies in ${v.config}, an existing --from file and, when the strategies trade several exchanges, --exchange (one of ${Object.keys(config.exchanges).join(', ')})`);
    return 2;
  }
  const output = new BacktestOutput();
  const runtime = new StrategyRuntime(strategies, config.pool, output, { feedWorkers: 0, deterministic: true });
  let fd: number | undefined;
  try {
    const issues = await runtime.probe();
    if (issues.length > 0) throw new ConfigError(v.config, issues);
    if (v.out !== undefined) fd = openSync(v.out, 'w');
    const out = fd;
    const tty = process.stderr.isTTY === true;
    const summary = await replay(runtime, output, {
      config, exchange, from: v.from,
      write: out === undefined ? undefined : (line) => writeSync(out, line + '\n'),
      progress: tty ? (done, total) => process.stderr.write(`\r${progressBar(done, total)}`) : undefined,
    });
    if (tty) process.stderr.write('\n');
    console.log(formatSummary(summary));
    return 0;
  } catch (err) {
    console.error(`tickwire: backtest: ${(err as Error).message}`);
    return err instanceof ConfigError ? 2 : 1;
  } finally {
    if (fd !== undefined) closeSync(fd);
    await runtime.close();
  }
}

function progressBar(done: number, total: number): string {
  const share = total === 0 ? 1 : Math.min(1, done / total);
  const width = 30;
  const full = Math.round(share * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(share * 100).toFixed(0).padStart(3)}%`;
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
async function listenWithRetry(server: TickwireServer, log: Logger): Promise<{ host: string; port: number }> {
  const deadline = Date.now() + 15_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await server.listen();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      if (attempt === 0) log.warn({ event: 'listen.retrying', err }, `${(err as Error).message}; retrying for up to 15 s`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

/** The config file (or the built-in default) with environment `env` (else TICKWIRE_ENV) applied, how to name it at start-up, and the file a reload re-reads. */
function readConfig(path: string | undefined, env: string | undefined): { config: TickwireConfig; source: string; file: string | undefined } {
  const name = chosenEnvironment(env, process.env);
  const suffix = name === undefined ? '' : `, environment ${name}`;
  if (path !== undefined) return { config: loadConfigFile(path, process.env, env), source: path + suffix, file: path };
  if (existsSync('tickwire.yaml')) return { config: loadConfigFile('tickwire.yaml', process.env, env), source: './tickwire.yaml' + suffix, file: 'tickwire.yaml' };
  return { config: loadConfigText(DEFAULT_CONFIG_YAML, 'built-in default', process.env, env), source: 'built-in default (simulated exchange)' + suffix, file: undefined };
}

/**
 * What a reload runs: re-read `file` in the same environment, with the command
 * line's overrides applied again, and apply it (CHANGE_REFUSED, naming the
 * problems, when the file no longer validates or differs in what needs a restart).
 */
function reloader(
  tickwire: TickwireRuntime,
  file: string,
  env: string | undefined,
  overrides: Partial<Pick<TickwireConfig['server'], 'host' | 'port'>>,
): () => ConfigChange[] {
  return () => {
    let next: TickwireConfig;
    try {
      next = loadConfigFile(file, process.env, env);
    } catch (err) {
      throw refused(`${file} does not load: ${(err as Error).message}`);
    }
    Object.assign(next.server, overrides);
    return tickwire.applyConfig(next);
  };
}

/** SIGHUP: reload, logging what changed or why nothing did (the process keeps running either way). */
function onHangup(reload: (() => ConfigChange[]) | undefined, log: Logger): void {
  process.on('SIGHUP', () => {
    if (reload === undefined) {
      log.warn({ event: 'config.reload_refused' }, 'SIGHUP: started from the built-in default, no config file to re-read');
      return;
    }
    try {
      const changes = reload();
      log.info({ event: 'config.reloaded', changes: changes.length }, `SIGHUP: ${changes.length} change(s) applied`);
    } catch (err) {
      log.warn({ event: 'config.reload_refused', err }, `SIGHUP: ${(err as Error).message}`);
    }
  });
}

