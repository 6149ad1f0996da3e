import { defaultReliability } from '../../src/config/reliability.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configError } from '../support/config-error.ts';
import {
  ConfigError,
  DEFAULT_CONFIG_YAML,
  loadConfigFile,
  loadConfigText,
  parseConfig,
} from '../../src/config/load.ts';
import { KNOWN_EXCHANGES } from '../../src/config/exchanges.ts';
import type { TickwireConfig } from '../../src/config/types.ts';


const SIM = { symbols: ['SIM-BTC'] };
/** A minimal valid object config with `patch` merged at the top level. */
const withTop = (patch: Record<string, unknown>) => ({ exchanges: { simulated: SIM }, ...patch });

const DEFAULT_EXPECTED: TickwireConfig = {
  server: { host: '127.0.0.1', port: 8080, cors: { origins: [] } },
  auth: { tokens: [], jwt: undefined, allowOpen: false, httpRate: { rate: 100, burst: 200 }, failureRate: { rate: 2, burst: 20 } },
  timeframes: ['1m', '5m', '15m', '1h'],
  history: { '1m': 1000, '5m': 1000, '15m': 1000, '1h': 1000 } as TickwireConfig['history'],
  bars: { graceMs: 250, fillEmpty: true, lateToleranceMs: 5000 },
  storage: { path: './data', flushMs: 1000, backfill: true, backfillTimeoutMs: 15_000, onCorrupt: 'rebuild' },
  stream: {
    maxBackpressure: 4 * 1024 * 1024, slowConsumer: 'gap', resumeHistory: 1024, resumeLingerS: 60, maxChannelsPerConnection: 1000,
    maxMessageBytes: 64 * 1024, subscribeRate: { rate: 10, burst: 20 }, idleTimeoutS: 120, snapshotBytesRate: 8 * 1024 * 1024,
  },
  exchanges: {
    simulated: { url: undefined, symbols: ['SIM-BTC', 'SIM-ETH'], channels: ['trades', 'quotes'], rate: 20, seed: 42, restUrl: undefined, key: undefined, secret: undefined, assetClass: 'stocks', feed: undefined, reliability: defaultReliability() },
  },
  limits: { maxMemory: Math.floor(totalmem() / 2), maxSymbols: 10_000 },
  log: { level: 'info' },
  streamer: { exchange: null },
  feeds: {},
  portfolios: {},
  alerts: { rules: [], webhook: undefined },
  cluster: null,
};

describe('config: defaults', () => {
  it('the built-in default parses to the documented values', () => {
    expect(loadConfigText(DEFAULT_CONFIG_YAML, 'default', {})).toEqual(DEFAULT_EXPECTED);
  });

  it('absent sections take the same defaults', () => {
    // A library config object keeps bars in memory unless it asks for storage; a file persists by default.
    expect(parseConfig({ exchanges: { simulated: { symbols: ['SIM-BTC', 'SIM-ETH'] } } })).toEqual({ ...DEFAULT_EXPECTED, storage: null });
    const yaml = 'server:\nbars: {}\ntimeframes:\nhistory:\nexchanges:\n  simulated:\n    symbols: [SIM-BTC, SIM-ETH]\n    rate:\n';
    expect(loadConfigText(yaml, 't.yaml', {})).toEqual(DEFAULT_EXPECTED);
  });

  it('the example of ARCHITECTURE.md parses', () => {
    const yaml = `
server: { host: 127.0.0.1, port: 8080 }
timeframes: [1m, 5m, 15m, 1h]          # kept for every symbol
history: 1000                           # closed bars kept per series (or a map per timeframe)
bars: { graceMs: 250, fillEmpty: true, lateToleranceMs: 5000 }
exchanges:
  binance:
    url: wss://stream.binance.com:9443  # optional: testnet, proxy, or a local fake
    symbols: [BTCUSDT, ETHUSDT]
    channels: [trades, quotes]          # trades come from the exchange's per-trade stream
  simulated:
    symbols: [SIM-BTC, SIM-ETH]
`;
    const config = loadConfigText(yaml, 'tickwire.yaml', {});
    expect(config.exchanges.binance).toEqual({
      url: 'wss://stream.binance.com:9443',
      symbols: ['BTCUSDT', 'ETHUSDT'],
      channels: ['trades', 'quotes'],
      rate: 20,
      seed: 42,
      restUrl: undefined,
      key: undefined,
      secret: undefined,
      assetClass: 'stocks',
      feed: undefined,
      reliability: defaultReliability(),
    });
    expect(config.exchanges.simulated.symbols).toEqual(['SIM-BTC', 'SIM-ETH']);
    expect(config.timeframes).toEqual(['1m', '5m', '15m', '1h']);
    expect(KNOWN_EXCHANGES).toEqual(expect.arrayContaining(Object.keys(config.exchanges)));
  });
});

describe('config: values', () => {
  it('resolves MetaTrader aliases, drops duplicates and sorts shortest first', () => {
    const config = parseConfig(withTop({ timeframes: ['H1', '1d', 'M5', '5m', '1s', '1h', 'W1'] }));
    expect(config.timeframes).toEqual(['1s', '5m', '1h', '1d', '1w']);
    expect(Object.keys(config.history)).toEqual(['1s', '5m', '1h', '1d', '1w']);
  });

  it('history: one number applies to every timeframe', () => {
    const config = parseConfig(withTop({ timeframes: ['1m', 'H4'], history: 250 }));
    expect(config.history).toEqual({ '1m': 250, '4h': 250 });
  });

  it('history: a map sets listed timeframes (aliases too), others keep 1000', () => {
    const config = parseConfig(withTop({ timeframes: ['1m', '5m', '1h', '1d'], history: { '1m': 5000, H1: 2, D1: 1_000_000 } }));
    expect(config.history).toEqual({ '1m': 5000, '5m': 1000, '1h': 2, '1d': 1_000_000 });
  });

  it('channels and server keep what is given; port 0 means any free port', () => {
    const config = parseConfig({
      server: { host: '0.0.0.0', port: 0 },
      auth: { allowOpen: true },
      exchanges: { binance: { symbols: ['BTCUSDT'], channels: ['quotes', 'trades', 'quotes'] }, simulated: { ...SIM, rate: 0.5, seed: -7 } },
    });
    expect(config.server).toEqual({ host: '0.0.0.0', port: 0, cors: { origins: [] } });
    expect(config.exchanges.binance.channels).toEqual(['trades', 'quotes']);
    expect(config.exchanges.simulated).toMatchObject({ rate: 0.5, seed: -7, channels: ['trades', 'quotes'] });
  });

  it('accepts symbols in every native form', () => {
    const symbols = ['BTCUSDT', 'BTC-USD', 'XBT/USD', 'BTC-PERP:USDT', '1000PEPE.X', 'a_b', 'X'.repeat(40)];
    expect(parseConfig({ exchanges: { binance: { symbols } } }).exchanges.binance.symbols).toEqual(symbols);
  });
});

describe('config: rejections name the key path', () => {
  const big = 'X'.repeat(41);
  const cases: [name: string, input: unknown, path: string, expect: string][] = [
    ['unknown top-level key', withTop({ sever: {} }), 'sever', 'unknown key, expected one of server, timeframes, history, bars, exchanges'],
    ['unknown server key', withTop({ server: { hots: 'x' } }), 'server.hots', 'expected one of host, port'],
    ['unknown bars key', withTop({ bars: { grace: 1 } }), 'bars.grace', 'expected one of graceMs, fillEmpty, lateToleranceMs'],
    ['server not a map', withTop({ server: 'localhost' }), 'server', 'got "localhost", expected a map'],
    ['empty host', withTop({ server: { host: ' ' } }), 'server.host', 'expected a non-empty host'],
    ['host not a string', withTop({ server: { host: 127 } }), 'server.host', 'got 127'],
    ['port too big', withTop({ server: { port: 65536 } }), 'server.port', 'got 65536, expected an integer port from 0 to 65535'],
    ['port negative', withTop({ server: { port: -1 } }), 'server.port', 'got -1'],
    ['port fractional', withTop({ server: { port: 80.5 } }), 'server.port', 'got 80.5'],
    ['port as words', withTop({ server: { port: 'http' } }), 'server.port', 'got "http"'],
    ['timeframes empty', withTop({ timeframes: [] }), 'timeframes', 'got an empty list, expected a non-empty list'],
    ['timeframes not a list', withTop({ timeframes: '1m' }), 'timeframes', 'got "1m"'],
    ['unknown timeframe', withTop({ timeframes: ['1m', '2m'] }), 'timeframes[1]', 'got "2m", expected one of 1s 5s'],
    ['history zero', withTop({ history: 0 }), 'history', 'got 0, expected a whole number of bars from 1 to 1000000'],
    ['history too big', withTop({ history: 1_000_001 }), 'history', 'got 1000001'],
    ['history fractional', withTop({ history: 1.5 }), 'history', 'got 1.5'],
    ['history a list', withTop({ history: [1] }), 'history', 'got a list'],
    ['history key not a timeframe', withTop({ history: { '2m': 5 } }), 'history.2m', 'not a timeframe, expected one of the configured timeframes 1m, 5m, 15m, 1h'],
    ['history key not configured', withTop({ history: { H4: 5 } }), 'history.H4', 'not in timeframes'],
    ['history key twice via alias', withTop({ history: { '1h': 5, H1: 6 } }), 'history.H1', 'same timeframe as history.1h'],
    ['history map value', withTop({ history: { '5m': -3 } }), 'history.5m', 'got -3, expected a whole number of bars'],
    ['graceMs negative', withTop({ bars: { graceMs: -5 } }), 'bars.graceMs', 'got -5, expected a number of milliseconds >= 0'],
    ['graceMs too big', withTop({ bars: { graceMs: 60_001 } }), 'bars.graceMs', '<= 60000'],
    ['graceMs infinite', withTop({ bars: { graceMs: Infinity } }), 'bars.graceMs', 'got Infinity'],
    ['lateToleranceMs too big', withTop({ bars: { lateToleranceMs: 3_600_001 } }), 'bars.lateToleranceMs', '<= 3600000'],
    ['lateToleranceMs negative', withTop({ bars: { lateToleranceMs: -1 } }), 'bars.lateToleranceMs', 'got -1'],
    ['fillEmpty not boolean', withTop({ bars: { fillEmpty: 'yes' } }), 'bars.fillEmpty', 'got "yes", expected true or false'],
    ['exchanges missing', {}, 'exchanges', 'missing, expected a map of exchange name'],
    ['exchanges empty', { exchanges: {} }, 'exchanges', 'got an empty map'],
    ['exchanges a list', { exchanges: ['binance'] }, 'exchanges', 'got a list'],
    ['unknown exchange', { exchanges: { mtgox: SIM } }, 'exchanges.mtgox', `unknown exchange, expected one of ${KNOWN_EXCHANGES.join(', ')}`],
    ['exchange without body', { exchanges: { binance: null } }, 'exchanges.binance.symbols', 'missing, expected a non-empty list of symbols'],
    ['unknown exchange key', { exchanges: { binance: { symbols: ['A'], symbol: 'A' } } }, 'exchanges.binance.symbol', 'unknown key, expected one of url, symbols, channels'],
    ['rate on binance', { exchanges: { binance: { symbols: ['A'], rate: 5 } } }, 'exchanges.binance.rate', 'expected one of url, symbols, channels, reliability, onDemand, restUrl (rate applies to simulated only)'],
    ['seed on binance', { exchanges: { binance: { symbols: ['A'], seed: 5 } } }, 'exchanges.binance.seed', 'unknown key'],
    ['url http', { exchanges: { binance: { symbols: ['A'], url: 'https://api.binance.com' } } }, 'exchanges.binance.url', 'got "https://api.binance.com", expected a ws:// or wss:// URL'],
    ['url not a url', { exchanges: { binance: { symbols: ['A'], url: 'stream.binance.com' } } }, 'exchanges.binance.url', 'expected a ws:// or wss:// URL'],
    ['url a number', { exchanges: { binance: { symbols: ['A'], url: 9443 } } }, 'exchanges.binance.url', 'got 9443'],
    ['symbols empty', { exchanges: { binance: { symbols: [] } } }, 'exchanges.binance.symbols', 'got an empty list'],
    ['symbols a string', { exchanges: { binance: { symbols: 'BTCUSDT' } } }, 'exchanges.binance.symbols', 'got "BTCUSDT"'],
    ['symbol empty', { exchanges: { binance: { symbols: ['A', 'B', ''] } } }, 'exchanges.binance.symbols[2]', 'got "", expected a symbol'],
    ['symbol too long', { exchanges: { binance: { symbols: [big] } } }, 'exchanges.binance.symbols[0]', 'expected a symbol of 1 to 40'],
    ['symbol bad character', { exchanges: { binance: { symbols: ['BTC USDT'] } } }, 'exchanges.binance.symbols[0]', 'got "BTC USDT"'],
    ['symbol a number', { exchanges: { binance: { symbols: [1000] } } }, 'exchanges.binance.symbols[0]', 'quote it'],
    ['symbol twice', { exchanges: { binance: { symbols: ['A', 'B', 'A'] } } }, 'exchanges.binance.symbols[2]', 'each symbol once (already at exchanges.binance.symbols[0])'],
    ['channels empty', { exchanges: { binance: { symbols: ['A'], channels: [] } } }, 'exchanges.binance.channels', 'expected a non-empty list of trades, quotes'],
    ['unknown channel', { exchanges: { binance: { symbols: ['A'], channels: ['trades', 'book'] } } }, 'exchanges.binance.channels[1]', 'got "book", expected one of trades, quotes'],
    ['rate zero', { exchanges: { simulated: { ...SIM, rate: 0 } } }, 'exchanges.simulated.rate', 'got 0, expected a number of trades per second > 0'],
    ['rate too big', { exchanges: { simulated: { ...SIM, rate: 10_001 } } }, 'exchanges.simulated.rate', '<= 10000'],
    ['seed fractional', { exchanges: { simulated: { ...SIM, seed: 1.5 } } }, 'exchanges.simulated.seed', 'got 1.5, expected an integer'],
    ['odd key is quoted', { exchanges: { 'bin ance': SIM } }, 'exchanges["bin ance"]', 'unknown exchange'],
    ['document not a map', ['server'], '', 'got a list, expected a mapping with the keys server'],
    ['log level unknown', withTop({ log: { level: 'verbose' } }), 'log.level', 'got "verbose", expected one of trace, debug, info, warn, error, fatal, silent'],
    ['log unknown key', withTop({ log: { format: 'json' } }), 'log.format', 'unknown key, expected one of level'],
  ];

  it.each(cases)('%s', (_name, input, path, expected) => {
    const err = configError(() => parseConfig(input, 'tickwire.yaml'));
    expect(err.path).toBe(path);
    expect(err.issues).toHaveLength(1);
    expect(err.message).toBe(path === '' ? `tickwire.yaml: ${err.issues[0].message}` : `tickwire.yaml: ${path}: ${err.issues[0].message}`);
    expect(err.issues[0].message).toContain(expected);
  });

  it('reports every problem, one per line, in document order', () => {
    const err = configError(() =>
      parseConfig({ server: { port: -1 }, bars: { graceMs: -5 }, exchanges: { mtgox: SIM, binance: { symbols: [] } } }, 'x.yaml'),
    );
    expect(err.issues.map((i) => i.path)).toEqual(['server.port', 'bars.graceMs', 'exchanges.mtgox', 'exchanges.binance.symbols']);
    expect(err.path).toBe('server.port');
    expect(err.message.split('\n')).toHaveLength(4);
    expect(err.message).toContain('x.yaml: bars.graceMs: got -5, expected a number of milliseconds >= 0');
  });
});

describe('config: log', () => {
  it('takes log.level, info by default', () => {
    expect(parseConfig(withTop({ log: { level: 'debug' } }), 't').log).toEqual({ level: 'debug' });
    expect(parseConfig(withTop({}), 't').log).toEqual({ level: 'info' });
  });
});

describe('config: quoted numbers and booleans', () => {
  const SIM_ONLY = 'exchanges:\n  simulated:\n    symbols: [SIM-BTC]\n';
  it('reads a quoted number or boolean as one, as it reads the same text from ${VAR}', () => {
    const quoted = loadConfigText(`server: { port: "30011" }\nbars: { fillEmpty: "false", graceMs: " 100 " }\n${SIM_ONLY}`, 't.yaml', {});
    const fromEnv = loadConfigText(`server: { port: "\${TW_PORT:-30011}" }\nbars: { fillEmpty: "\${FILL:-false}", graceMs: "\${GRACE:-100}" }\n${SIM_ONLY}`, 't.yaml', {});
    expect(quoted.server.port).toBe(30011);
    expect(quoted.bars).toMatchObject({ fillEmpty: false, graceMs: 100 });
    expect(quoted.server.port).toBe(fromEnv.server.port);
    expect(quoted.bars).toEqual(fromEnv.bars);
  });

  it('still refuses quoted text that is not a number, naming the key', () => {
    expect(configError(() => loadConfigText(`server: { port: "30O11" }\n${SIM_ONLY}`, 't.yaml', {})).message).toContain(
      't.yaml: server.port: got "30O11", expected an integer port',
    );
  });
});

describe('config: storage', () => {
  it('false turns it off; a map fills in the defaults; values from the environment count', () => {
    expect(loadConfigText('storage: false\nexchanges: { simulated: { symbols: [SIM-BTC] } }\n', 't', {}).storage).toBeNull();
    expect(parseConfig(withTop({ storage: { path: '/var/lib/tickwire' } })).storage).toEqual({
      path: '/var/lib/tickwire', flushMs: 1000, backfill: true, backfillTimeoutMs: 15_000, onCorrupt: 'rebuild',
    });
    expect(loadConfigText('storage:\n  flushMs: ${F}\n  backfill: ${B}\nexchanges: { simulated: { symbols: [SIM-BTC] } }\n', 't', { F: '250', B: 'false' }).storage)
      .toEqual({ path: './data', flushMs: 250, backfill: false, backfillTimeoutMs: 15_000, onCorrupt: 'rebuild' });
    expect(parseConfig(withTop({ storage: { onCorrupt: 'refuse' } })).storage!.onCorrupt).toBe('refuse');
  });

  it('rejects bad values with the key path', () => {
    const err = configError(() => parseConfig(withTop({ storage: { path: '', flushMs: 5, backfill: 'yes', backfillTimeoutMs: -1, onCorrupt: 'delete', dir: 'x' } })));
    expect(err.message).toContain('storage.path: got "", expected a directory path');
    expect(err.message).toContain('storage.flushMs: got 5, expected an integer number of ms from 10 to 60000');
    expect(err.message).toContain('storage.backfill: got "yes", expected true or false');
    expect(err.message).toContain('storage.backfillTimeoutMs: got -1');
    expect(err.message).toContain('storage.onCorrupt: got "delete", expected one of rebuild, refuse');
    expect(err.message).toContain('storage.dir: unknown key, expected one of path, flushMs, backfill, backfillTimeoutMs');
    expect(configError(() => parseConfig(withTop({ storage: true }))).message).toContain('storage: got true, expected a map with the keys path');
  });
});

describe('config: ${VAR} substitution', () => {
  const yaml = (body: string) => `exchanges:\n  binance:\n${body}`;

  it('replaces ${VAR} and ${VAR:-default} in every string value', () => {
    const text = `
server: { host: "\${HOST}", port: "\${PORT}" }
auth: { allowOpen: true }
bars:
  fillEmpty: \${FILL}
  graceMs: \${GRACE:-100}
history: { 1m: '\${DEPTH}' }
exchanges:
  binance:
    url: wss://\${PROXY_HOST:-localhost}:\${PROXY_PORT:-9443}/ws?token=\${TOKEN}
    symbols: ["\${SYM1}", ETHUSDT]
`;
    const env = { HOST: '0.0.0.0', PORT: '9000', FILL: 'false', DEPTH: '42', PROXY_PORT: '', TOKEN: 't0k', SYM1: 'BTCUSDT' };
    const config = loadConfigText(text, 'tickwire.yaml', env);
    expect(config.server).toEqual({ host: '0.0.0.0', port: 9000, cors: { origins: [] } });
    expect(config.bars).toEqual({ graceMs: 100, fillEmpty: false, lateToleranceMs: 5000 });
    expect(config.history['1m']).toBe(42);
    expect(config.exchanges.binance.url).toBe('wss://localhost:9443/ws?token=t0k');
    expect(config.exchanges.binance.symbols).toEqual(['BTCUSDT', 'ETHUSDT']);
  });

  it('an empty default leaves an optional url unset; $${ is a literal', () => {
    const config = loadConfigText(yaml('    url: ${BINANCE_URL:-}\n    symbols: [A]\n'), 't', {});
    expect(config.exchanges.binance.url).toBeUndefined();
    // `${X}` is not a valid symbol, so the message shows what the escape produced.
    const err = configError(() => loadConfigText(yaml('    symbols: ["A$${X}"]\n'), 't', {}));
    expect(err.message).toContain('got "A${X}"');
  });

  it('a missing variable names the key path and the variable, not other values', () => {
    const env = { SECRET_A: 'hunter2', PORT: '8080' };
    const err = configError(() => loadConfigText(yaml('    url: wss://x/?k=${SECRET_A}&s=${SECRET_B}\n    symbols: [A]\n'), 'tickwire.yaml', env));
    expect(err.path).toBe('exchanges.binance.url');
    expect(err.message).toBe(
      'tickwire.yaml: exchanges.binance.url: environment variable SECRET_B is not set, expected it set or a default (${SECRET_B:-default})',
    );
    expect(err.message).not.toContain('hunter2');
  });

  it('never shows a substituted value that fails validation', () => {
    const env = { API_KEY: 'hunter2', PORT: 'hunter2' };
    const err = configError(() =>
      loadConfigText(`server: { port: '\${PORT}' }\n${yaml('    url: https://x/?k=${API_KEY}\n    symbols: [A]\n')}`, 't.yaml', env),
    );
    expect(err.issues.map((i) => i.path)).toEqual(['server.port', 'exchanges.binance.url']);
    expect(err.message).toContain('t.yaml: server.port: got the value of ${PORT} (not shown), expected an integer');
    expect(err.message).toContain('exchanges.binance.url: got the value of ${API_KEY} (not shown), expected a ws:// or wss:// URL');
    expect(err.message).not.toContain('hunter2');
  });

  it('rejects malformed references', () => {
    for (const ref of ['${}', '${1X}', '${A-B}', '${UNCLOSED', '${A:-${B}}']) {
      const err = configError(() => loadConfigText(`server: { host: "${ref}" }\nexchanges: { simulated: { symbols: [A] } }\n`, 't', { A: 'a', B: 'b' }));
      expect(err.path).toBe('server.host');
      expect(err.message).toContain('expected ${NAME} or ${NAME:-default}');
    }
  });

  it('keys are not substituted', () => {
    const err = configError(() => loadConfigText('${X}: 1\nexchanges: { simulated: { symbols: [A] } }\n', 't', { X: 'server' }));
    expect(err.message).toContain('unknown key');
  });
});

describe('config: YAML documents', () => {
  it('a syntax error carries the line number', () => {
    const err = configError(() => loadConfigText('server:\n  host: a\nexchanges:\n  simulated: { symbols: [A, B }\n', 'tickwire.yaml', {}));
    expect(err.issues[0].line).toBe(4);
    expect(err.message).toMatch(/^tickwire\.yaml: line 4, column \d+: invalid YAML: /);
    expect(err.message.split('\n')).toHaveLength(1);
  });

  it('a duplicate key is a syntax error at its line', () => {
    const err = configError(() => loadConfigText('server:\n  port: 1\n  port: 2\n', 't', {}));
    expect(err.issues[0]).toMatchObject({ line: 3, column: 3 });
    expect(err.message).toContain('t: line 3, column 3: invalid YAML: Map keys must be unique');
  });

  it('an unquoted ${VAR} inside { } gets a hint to quote it', () => {
    const err = configError(() => loadConfigText('server: { port: ${PORT} }\n', 't', { PORT: '1' }));
    expect(err.issues[0].line).toBe(1);
    expect(err.message).toContain('quote a value holding ${VAR}');
    expect(configError(() => loadConfigText('a: [1, 2\nb: 3\n', 't', {})).message).not.toContain('quote');
  });

  it('several documents in one file are rejected', () => {
    const err = configError(() => loadConfigText('exchanges: { simulated: { symbols: [A] } }\n---\nserver: {}\n', 't', {}));
    expect(err.issues[0].line).toBe(2);
  });

  it('a document that is not a mapping is rejected; an empty one lacks exchanges', () => {
    expect(configError(() => loadConfigText('- a\n- b\n', 't', {})).message).toContain('t: got a list, expected a mapping');
    expect(configError(() => loadConfigText('just text\n', 't', {})).message).toContain('t: got "just text", expected a mapping');
    expect(configError(() => loadConfigText('# nothing\n', 't', {})).path).toBe('exchanges');
  });

  it('an unquoted number as a symbol asks for quotes', () => {
    const err = configError(() => loadConfigText('exchanges: { binance: { symbols: [BTCUSDT, 1000] } }\n', 't', {}));
    expect(err.message).toBe('t: exchanges.binance.symbols[1]: got 1000, expected a symbol of 1 to 40 letters, digits or . _ - / : (quote it to make it text)');
  });
});

describe('config: loadConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tickwire-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads, substitutes and validates a file', () => {
    const file = join(dir, 'tickwire.yaml');
    writeFileSync(file, '\uFEFFserver:\n  port: ${PORT}\nexchanges:\n  simulated:\n    symbols: [SIM-BTC]\n');
    const config = loadConfigFile(file, { PORT: '0' });
    expect(config.server.port).toBe(0);
    expect(config.exchanges.simulated.symbols).toEqual(['SIM-BTC']);
  });

  it('names the file in messages', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'exchanges:\n  simulated:\n    symbols: [SIM-BTC]\n    rate: -1\n');
    expect(configError(() => loadConfigFile(file, {})).message).toMatch(/bad\.yaml: exchanges\.simulated\.rate: got -1/);
  });

  it('a missing file is a ConfigError with the cause', () => {
    const file = join(dir, 'nope.yaml');
    const err = configError(() => loadConfigFile(file, {}));
    expect(err.message).toBe(`${file}: cannot read the file (ENOENT), expected a readable YAML file`);
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});

describe('config against the venues’ capabilities', () => {
  it('accepts every registered venue and refuses a channel the venue does not offer, naming the key', () => {
    const config = parseConfig({
      exchanges: { coinbase: { symbols: ['BTC-USD'] }, kraken: { symbols: ['BTC/USD'] }, okx: { symbols: ['BTC-USDT'] }, bitstamp: { symbols: ['btcusd'] } },
    });
    expect(config.exchanges['bitstamp']!.channels).toEqual(['trades']); // the default: what the venue offers
    expect(config.exchanges['coinbase']!.channels).toEqual(['trades', 'quotes']);
    expect(() => parseConfig({ exchanges: { bitstamp: { symbols: ['btcusd'], channels: ['trades', 'quotes'] } } }, 'tickwire.yaml')).toThrow(
      /tickwire\.yaml: exchanges\.bitstamp\.channels\[1\]: got "quotes", expected one of trades \(the venue offers no quotes\)/,
    );
  });
});

describe('config: alpaca', () => {
  const env = { ALPACA_API_KEY: 'AKID123', ALPACA_SECRET_KEY: 's3cr3t-value' };

  it('takes credentials from the environment and fills the asset class and feed', () => {
    const config = loadConfigText(
      'exchanges:\n  alpaca:\n    symbols: [AAPL, MSFT]\n    key: ${ALPACA_API_KEY}\n    secret: ${ALPACA_SECRET_KEY}\n',
      'tickwire.yaml',
      env,
    );
    expect(config.exchanges['alpaca']).toMatchObject({ key: 'AKID123', secret: 's3cr3t-value', assetClass: 'stocks', feed: undefined, channels: ['trades', 'quotes'] });
  });

  it('refuses missing credentials naming the keys, and never prints a secret', () => {
    let err: unknown;
    try {
      parseConfig({ exchanges: { alpaca: { symbols: ['AAPL'] } } }, 'tickwire.yaml');
    } catch (e) {
      err = e;
    }
    const message = (err as Error).message;
    expect(message).toMatch(/exchanges\.alpaca\.key: missing, expected the API key id, e\.g\. key: \$\{ALPACA_API_KEY\}/);
    expect(message).toMatch(/exchanges\.alpaca\.secret: missing/);
    try {
      loadConfigText('exchanges:\n  alpaca:\n    symbols: [AAPL]\n    key: ${ALPACA_API_KEY}\n    secret: ${ALPACA_SECRET_KEY}\n    feed: nasdaq\n', 'x.yaml', env);
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toMatch(/exchanges\.alpaca\.feed: got "nasdaq", expected one of iex, sip, test/);
    expect((err as Error).message).not.toContain('s3cr3t');
  });

  it('refuses more streams than one connection of the feed carries (alpaca allows one session)', () => {
    const symbols = Array.from({ length: 16 }, (_, i) => `S${i}`);
    expect(() => parseConfig({ exchanges: { alpaca: { symbols, key: 'k', secret: 's' } } }, 'x.yaml')).toThrow(
      /exchanges\.alpaca\.symbols: got 16 symbols × 2 channels = 32 streams, expected at most 30/,
    );
    expect(parseConfig({ exchanges: { alpaca: { symbols, key: 'k', secret: 's', feed: 'sip' } } }).exchanges['alpaca']!.feed).toBe('sip');
  });

  it('refuses alpaca-only keys on other venues', () => {
    expect(() => parseConfig({ exchanges: { binance: { symbols: ['BTCUSDT'], key: 'k' } } }, 'x.yaml')).toThrow(
      /exchanges\.binance\.key: unknown key, expected one of url, symbols, channels, reliability, onDemand, restUrl \(key applies to alpaca only\)/,
    );
  });
});
