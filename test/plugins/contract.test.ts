/**
 * Adapter plugins refused at load, each with its code and a message naming
 * the plugin and what is wrong: not found (package or path), a contract
 * version outside the supported range, a declared capability whose method
 * is missing, a broken option schema, a name taken, a module that does not
 * load, and an exchange section with bad plugin keys. Plus what must load:
 * the example Deribit plugin by path, a second load reusing the first (a
 * reload), `tickwire start` refusing a bad plugin before it listens, and
 * the template of docs/plugins.md loading and parsing as written.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.ts';
import { ErrorCode, PluginError } from '../../src/errors.ts';
import { adapterFor } from '../../src/exchanges/registry.ts';
import { callbackHandler, FrameKind } from '../../src/exchanges/adapter.ts';
import { checkAdapterPlugin, PLUGIN_CONTRACT } from '../../src/plugins/contract.ts';
import { configError } from '../support/config-error.ts';
import { copyDeribitModule } from '../support/plugin-project.ts';
import { BIN } from '../support/tickwire-process.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** One folder with the example Deribit plugin for every test that loads it: a process serves an exchange from one plugin file. */
let deribitProject: string | undefined;
function withDeribit(): string {
  if (deribitProject === undefined) {
    deribitProject = project();
    copyDeribitModule(deribitProject, 'adapters/deribit.mjs');
  }
  return deribitProject;
}

function project(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tickwire-plugin-check-'));
  dirs.push(dir);
  return dir;
}

interface PluginParts {
  contract?: unknown;
  name?: string;
  capabilities?: unknown;
  /** Source of more `venue` members, e.g. `defaultRestUrl: 'https://x'`. */
  venue?: string;
  options?: unknown;
  /** Source of more adapter members, e.g. `tradesFrom: async () => []`. */
  adapter?: string;
}

/** Write a minimal plugin module to `dir`/`file` with `parts` changed. */
function writePlugin(dir: string, file: string, parts: PluginParts = {}): void {
  const contract = 'contract' in parts ? `contract: ${JSON.stringify(parts.contract)},` : '';
  writeFileSync(
    path.join(dir, file),
    `const plugin = {
  ${contract}
  name: ${JSON.stringify(parts.name ?? 'myvenue')},
  version: '0.1.0',
  capabilities: ${JSON.stringify(parts.capabilities ?? ['trades'])},
  venue: { defaultUrl: 'wss://example.invalid', tradeIdOrder: 'any', maxStreamsPerConnection: 10, maxMessagesPerSecond: 5, maxConnectionAgeMs: 86400000, ${parts.venue ?? ''} },
  options: ${JSON.stringify(parts.options ?? {})},
  create: (symbols, ctx) => ({
    capabilities: ctx.capabilities, ackId: NaN, error: '',
    connectUrl: (u) => u, subscribeRequests: () => [], parse: () => ctx.kit.FrameKind.IGNORED,
    ${parts.adapter ?? ''}
  }),
};
export default plugin;
`,
  );
}

/** Write `dir`/tickwire.yaml listing `plugins`, with `exchange` (YAML flow map) as exchanges.myvenue. */
function writeConfig(dir: string, plugins: string[], exchange = '{ symbols: [A-B] }', name = 'myvenue'): string {
  const file = path.join(dir, 'tickwire.yaml');
  writeFileSync(file, `storage: false\nplugins: [${plugins.join(', ')}]\nexchanges:\n  ${name}: ${exchange}\n`);
  return file;
}

/** The PluginError loading `file` throws, checked for `code` and for naming `plugin`. */
function refusal(file: string, code: string, plugin: string): string {
  let err: unknown;
  try {
    loadConfigFile(file, {});
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(PluginError);
  expect((err as PluginError).code).toBe(code);
  expect((err as PluginError).plugin).toBe(plugin);
  expect((err as Error).message.startsWith(`plugin ${plugin}: `)).toBe(true);
  return (err as Error).message;
}

describe('plugins: refused with a code and a message naming the plugin', () => {
  it('PLUGIN_NOT_FOUND: a package not installed where Node looks from the config folder', () => {
    const dir = project();
    const message = refusal(writeConfig(dir, ['tickwire-adapter-nowhere']), ErrorCode.PLUGIN_NOT_FOUND, 'tickwire-adapter-nowhere');
    expect(message).toContain(`no package tickwire-adapter-nowhere installed where Node looks from ${dir}`);
  });

  it('PLUGIN_NOT_FOUND: a path with no file, resolved from the config file\'s folder', () => {
    const dir = project();
    const message = refusal(writeConfig(dir, ['./adapters/missing.mjs']), ErrorCode.PLUGIN_NOT_FOUND, './adapters/missing.mjs');
    expect(message).toContain(`no file at ${path.join(dir, 'adapters/missing.mjs')}`);
  });

  it('PLUGIN_CONTRACT: a newer contract version, an older one and none, with the supported range', () => {
    const dir = project();
    writePlugin(dir, 'future.mjs', { contract: PLUGIN_CONTRACT + 1 });
    expect(refusal(writeConfig(dir, ['./future.mjs']), ErrorCode.PLUGIN_CONTRACT, './future.mjs')).toBe(
      `plugin ./future.mjs: declares adapter contract ${PLUGIN_CONTRACT + 1}, this tickwire supports ${PLUGIN_CONTRACT}: it needs a newer tickwire`,
    );
    writePlugin(dir, 'past.mjs', { contract: 0 });
    expect(refusal(writeConfig(dir, ['./past.mjs']), ErrorCode.PLUGIN_CONTRACT, './past.mjs')).toMatch(/declares adapter contract 0, this tickwire supports 1: it was written for an older tickwire/);
    writePlugin(dir, 'none.mjs', {});
    expect(refusal(writeConfig(dir, ['./none.mjs']), ErrorCode.PLUGIN_CONTRACT, './none.mjs')).toMatch(/declares no adapter contract version, expected contract: 1/);
  });

  it('PLUGIN_INVALID: a declared capability whose method the adapter lacks', () => {
    const dir = project();
    writePlugin(dir, 'gaps.mjs', { contract: 1, capabilities: ['trades', 'gapRecovery'], venue: "defaultRestUrl: 'https://example.invalid'" });
    expect(refusal(writeConfig(dir, ['./gaps.mjs']), ErrorCode.PLUGIN_INVALID, './gaps.mjs')).toBe(
      "plugin ./gaps.mjs: declares gapRecovery but the adapter has no tradesFrom method; declares gapRecovery but the adapter's restPageSize is undefined, expected a positive integer",
    );
    writePlugin(dir, 'live.mjs', { contract: 1, capabilities: ['trades', 'liveSymbols'], adapter: 'addSymbols: () => [],' });
    expect(refusal(writeConfig(dir, ['./live.mjs']), ErrorCode.PLUGIN_INVALID, './live.mjs')).toMatch(/declares liveSymbols but the adapter has no removeSymbols method$/);
  });

  it('PLUGIN_INVALID: unknown capabilities, a broken option schema and venue, every problem at once', () => {
    const dir = project();
    writePlugin(dir, 'bad.mjs', {
      contract: 1,
      capabilities: ['trades', 'snapshot'],
      venue: 'maxStreamsPerConnection: 0,',
      options: { depth: { type: 'float', description: 'book depth' }, url: { type: 'string', description: 'x' }, mode: { type: 'string', description: 'm', values: ['a'], default: 'b' } },
    });
    const message = refusal(writeConfig(dir, ['./bad.mjs']), ErrorCode.PLUGIN_INVALID, './bad.mjs');
    expect(message).toContain('capabilities: unknown capability "snapshot", expected one of trades, quotes, gapRecovery, liveSymbols');
    expect(message).toContain('venue.maxStreamsPerConnection: got 0, expected a positive integer');
    expect(message).toContain('options.depth.type: got "float", expected one of string, number, integer, boolean, url, secret');
    expect(message).toContain('options.url: url is a key tickwire handles itself');
    expect(message).toContain('options.mode.default: got "b", expected one of a (m)');
  });

  it('PLUGIN_INVALID: a built-in venue\'s name, two plugins for one exchange, a module that does not load', () => {
    const dir = project();
    writePlugin(dir, 'clash.mjs', { contract: 1, name: 'binance' });
    expect(refusal(writeConfig(dir, ['./clash.mjs']), ErrorCode.PLUGIN_INVALID, './clash.mjs')).toMatch(/name: binance is a venue tickwire ships/);
    writePlugin(dir, 'one.mjs', { contract: 1, name: 'twice' });
    writePlugin(dir, 'two.mjs', { contract: 1, name: 'twice' });
    expect(refusal(writeConfig(dir, ['./one.mjs', './two.mjs'], undefined, 'twice'), ErrorCode.PLUGIN_INVALID, './two.mjs')).toMatch(/serves exchange twice, as plugin \.\/one\.mjs listed before it does/);
    writeFileSync(path.join(dir, 'broken.mjs'), 'export default {;\n');
    expect(refusal(writeConfig(dir, ['./broken.mjs']), ErrorCode.PLUGIN_INVALID, './broken.mjs')).toMatch(/broken\.mjs could not be loaded: /);
  });

  it('INVALID_CONFIG: bad plugin keys in an exchange section, named by key path and plugin', () => {
    const dir = withDeribit();
    const file = writeConfig(dir, ['./adapters/deribit.mjs'], '{ symbols: [BTC-PERPETUAL], interval: 5s, depth: 10 }', 'deribit');
    const err = configError(() => loadConfigFile(file, {}));
    expect(err.message).toContain('exchanges.deribit.interval: got "5s", expected one of 100ms, agg2 (plugin ./adapters/deribit.mjs: how Deribit groups trade notifications on a public connection)');
    expect(err.message).toContain("exchanges.deribit.depth: unknown key, expected one of url, symbols, channels, reliability, onDemand, interval, restUrl (the keys of plugin ./adapters/deribit.mjs's exchanges)");
  });
});

describe('plugins: the list itself', () => {
  it('INVALID_CONFIG for a list of the wrong shape, before anything loads', () => {
    const dir = project();
    const file = path.join(dir, 'tickwire.yaml');
    writeFileSync(file, 'storage: false\nplugins: ./one.mjs\nexchanges:\n  simulated: { symbols: [SIM-BTC] }\n');
    expect(configError(() => loadConfigFile(file, {})).message).toMatch(/plugins: got "\.\/one\.mjs", expected a list of up to 32 adapter plugins/);
    writeFileSync(file, 'storage: false\nplugins: [./a.mjs, ./a.mjs, 7, ""]\nexchanges:\n  simulated: { symbols: [SIM-BTC] }\n');
    const message = configError(() => loadConfigFile(file, {})).message;
    expect(message).toContain('plugins[1]: got "./a.mjs", expected each plugin once (already at plugins[0])');
    expect(message).toContain('plugins[2]: got 7, expected a package name or a path of 1 to 300 characters');
    expect(message).toContain('plugins[3]: got "", expected a package name or a path of 1 to 300 characters');
  });
});

describe('plugins: loaded', () => {
  it('by path, its options defaulted, and again from a reload without a second copy', () => {
    const dir = withDeribit();
    const file = writeConfig(dir, ['./adapters/deribit.mjs'], '{ symbols: [BTC-PERPETUAL] }', 'deribit');
    const config = loadConfigFile(file, {});
    expect(config.plugins).toEqual(['./adapters/deribit.mjs']);
    expect(config.exchanges.deribit).toMatchObject({ symbols: ['BTC-PERPETUAL'], channels: ['trades', 'quotes'], options: { interval: '100ms' } });
    const entry = adapterFor('deribit')!;
    expect(entry.plugin).toEqual({ specifier: './adapters/deribit.mjs', file: path.join(dir, 'adapters/deribit.mjs') });
    expect(entry.capabilities).toMatchObject({ name: 'deribit', tradeIdOrder: 'increasing', channels: ['trades', 'quotes'] });
    expect(loadConfigFile(file, {}).exchanges.deribit!.symbols).toEqual(['BTC-PERPETUAL']);
    expect(adapterFor('deribit')).toBe(entry);
    // Another file for the same exchange in this process: only a restart loads it.
    const elsewhere = project();
    copyDeribitModule(elsewhere, 'deribit.mjs');
    expect(refusal(writeConfig(elsewhere, ['./deribit.mjs'], '{ symbols: [BTC-PERPETUAL] }', 'deribit'), ErrorCode.PLUGIN_INVALID, './deribit.mjs')).toMatch(
      /serves exchange deribit, which plugin \.\/adapters\/deribit\.mjs \(.*\) already serves in this process \(a restart loads the new one\)/,
    );
    // A refused list registers none of its plugins, not even the good ones listed first.
    writePlugin(elsewhere, 'fresh.mjs', { contract: 1, name: 'fresh' });
    refusal(writeConfig(elsewhere, ['./fresh.mjs', './deribit.mjs'], '{ symbols: [BTC-PERPETUAL] }', 'deribit'), ErrorCode.PLUGIN_INVALID, './deribit.mjs');
    expect(adapterFor('fresh')).toBeUndefined();
  });

  it('an exchange a config uses must be among its own plugins, even when another config loaded it', () => {
    loadConfigFile(writeConfig(withDeribit(), ['./adapters/deribit.mjs'], '{ symbols: [BTC-PERPETUAL] }', 'deribit'), {});
    const dir = project();
    mkdirSync(path.join(dir, 'other'));
    const file = path.join(dir, 'other', 'tickwire.yaml');
    writeFileSync(file, 'storage: false\nexchanges:\n  deribit: { symbols: [BTC-PERPETUAL] }\n');
    expect(configError(() => loadConfigFile(file, {})).message).toMatch(/exchanges\.deribit: unknown exchange, expected one of .*simulated$/m);
  });

  it('tickwire start refuses a bad plugin before it listens: exit 2, the plugin named', async () => {
    const dir = project();
    writePlugin(dir, 'future.mjs', { contract: 99 });
    writeConfig(dir, ['./future.mjs']);
    const result = await run(process.execPath, [BIN, 'start', '--port', '0'], { cwd: dir, timeout: 60_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('tickwire: plugin ./future.mjs: declares adapter contract 99, this tickwire supports 1');
    expect(result.stderr).not.toContain('listening');
  });
});

describe('plugins: the template of docs/plugins.md', () => {
  it('loads as written, and its adapter reads the frame shape the docs describe', async () => {
    const doc = readFileSync(path.join(ROOT, 'docs/plugins.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## A plugin template'));
    const code = /```js\n([\s\S]*?)\n```/.exec(section)![1]!;
    const dir = project();
    mkdirSync(path.join(dir, 'adapters'));
    writeFileSync(path.join(dir, 'adapters/my-venue.mjs'), code);
    const config = loadConfigFile(writeConfig(dir, ['./adapters/my-venue.mjs'], '{ symbols: [ABC-USD], region: us }'), {});
    expect(config.exchanges.myvenue!.options).toEqual({ region: 'us' });

    const plugin = checkAdapterPlugin(await import(path.join(dir, 'adapters/my-venue.mjs')), 'my-venue');
    const adapter = plugin.create(['ABC-USD']);
    const seen: number[][] = [];
    const handler = callbackHandler({ trade: (...t: number[]) => void seen.push(t), quote: () => {} });
    expect(adapter.parse('{"type":"trade","symbol":"ABC-USD","ts":1723161255342,"price":61837.63,"size":0.02,"side":"sell","id":7}', handler)).toBe(FrameKind.DATA);
    expect(seen).toEqual([[0, 1723161255342, 61837.63, 0.02, -1, 7]]);
    expect(adapter.connectUrl('wss://stream.myvenue.example')).toBe('wss://stream.myvenue.example/eu/ws');
  });
});
