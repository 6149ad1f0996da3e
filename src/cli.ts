/**
 * `tickwire start [--config FILE] [--host H] [--port N]`: runs the server.
 * Without --config it uses ./tickwire.yaml when present, else the built-in
 * default (the simulated exchange, offline). Start-up prints the listening
 * address, the exchanges, the memory the config reserves and what storage
 * restored; stored bars are loaded before it listens. SIGINT/SIGTERM close the
 * listen socket and connections, stop the workers, flush the bars to storage
 * and exit 0 within 2 s (1 if the stop had to be cut short).
 */
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TickwireRuntime } from './api/tickwire.ts';
import { DEFAULT_CONFIG_YAML } from './config/defaults.ts';
import { formatBytes } from './config/limits.ts';
import { ConfigError, loadConfigFile, loadConfigText } from './config/load.ts';
import { BacktestOutput, formatSummary, replay } from './strategies/backtest.ts';
import { StrategyRuntime } from './strategies/runtime.ts';
import type { TickwireConfig } from './config/types.ts';
import { TickwireError } from './errors.ts';
import { TOKEN_USAGE, tokenCommand } from './server/auth.ts';
import { describeCaps } from './server/connection-limits.ts';
import { createServer, type TickwireServer } from './server/server.ts';

const USAGE = `usage: tickwire start [--config FILE] [--host HOST] [--port PORT]
       tickwire backtest --config FILE --from FILE.jsonl [--out FILE.jsonl] [--exchange NAME]

  --config FILE   YAML configuration (default: ./tickwire.yaml if present, else the built-in simulated exchange)
  --host HOST     listen address (overrides server.host)
  --port PORT     listen port, 0 for any free port (overrides server.port)
  --from FILE     backtest: recorded frames of the exchange (or normalized trades), one JSON a line
  --out FILE      backtest: write every prediction, signal, fill and rejection there, one JSON a line
  --exchange NAME backtest: whose frames the file holds (default: the exchange the strategies trade)
${TOKEN_USAGE}`;

/** Run the CLI with `argv` (without node and script); resolves to the exit code once the server has stopped. */
export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' },
        from: { type: 'string' }, out: { type: 'string' }, exchange: { type: 'string' },
      },
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
  if (command === 'backtest' && args.positionals.length === 1) return backtestCommand(args.values);
  if (command !== 'start' || args.positionals.length > 1) {
    console.error(`tickwire: expected the command "start" or "backtest"\n${USAGE}`);
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
  } catch (err) {
    console.error(`tickwire: ${err instanceof TickwireError || err instanceof Error ? err.message : String(err)}`);
    return 2;
  }

  const tickwire = new TickwireRuntime(config);
  try {
    tickwire.restore(); // stored bars first: candles are answered from them as soon as we listen
  } catch (err) {
    console.error(`tickwire: could not open storage: ${(err as Error).message}`);
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

  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  console.log(`tickwire: ${signal}, shutting down`);
  // Promised: exit within SHUTDOWN_MS of the signal. Stopping flushes the bars; a stop that hangs
  // (a worker that does not answer) is cut short, with a non-zero code so supervisors notice.
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
 * `tickwire backtest`: replay a recorded file through the config's strategies
 * (src/strategies/backtest.ts); prints the summary, writes the events to
 * --out. Exit 0, or 2 for a usage or config error, 1 when the replay failed.
 */
async function backtestCommand(v: { config?: string; from?: string; out?: string; exchange?: string }): Promise<number> {
  if (v.config === undefined || v.from === undefined) {
    console.error(`tickwire: backtest needs --config and --from\n${USAGE}`);
    return 2;
  }
  let config: TickwireConfig;
  try {
    config = loadConfigFile(v.config);
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

