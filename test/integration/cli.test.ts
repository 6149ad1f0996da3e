/**
 * The README's run command from the outside: `node bin/tickwire.mjs start`
 * brings the server up on the built-in simulated exchange with no network,
 * trades reach a subscriber within seconds, and SIGTERM exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { configMemory, formatBytes } from '../../src/config/limits.ts';
import { DEFAULT_CONFIG_YAML, loadConfigText } from '../../src/config/load.ts';
import { until } from '../support/until.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/tickwire.mjs');

let child: ChildProcess | undefined;

afterEach(async () => {
  if (child !== undefined && child.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
  }
  child = undefined;
});

function run(args: string[], cwd: string) {
  const proc = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, out: () => out, err: () => err, exited };
}

describe('tickwire start', () => {
  it('serves the simulated exchange by default; trades flow; SIGTERM exits 0', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'tickwire-cli-'));
    const cli = run(['start', '--port', '0'], cwd);
    await until(() => /try: curl/.test(cli.out()) || cli.proc.exitCode !== null, 30_000, 'start-up');
    const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(cli.out())![1]);
    expect(cli.out()).toMatch(/exchanges: simulated \(SIM-BTC, SIM-ETH\)/);
    // The figure printed is the one the config check computed (src/config/limits.ts): one formula.
    const memory = configMemory(loadConfigText(DEFAULT_CONFIG_YAML, 'built-in default', {}));
    expect(/memory reserved: ([\d.]+ [KMGT]iB) \(/.exec(cli.out())?.[1]).toBe(formatBytes(memory.total));
    expect(cli.out()).toContain(`bar series ${formatBytes(memory.parts[0]!.bytes)}`);

    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/stream`);
    const trades: unknown[] = [];
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'trade') trades.push(m);
    });
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ op: 'subscribe', id: 1, channels: ['trades:simulated:SIM-BTC'] }));
    await until(() => trades.length >= 3, 15_000, 'simulated trades');
    expect(trades[0]).toMatchObject({ type: 'trade', exchange: 'simulated', symbol: 'SIM-BTC' });

    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    ws.close();
    cli.proc.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.out()).toMatch(/SIGTERM, shutting down/);
  });

  it('refuses an invalid config with the key path and exit code 2', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'tickwire-cli-'));
    writeFileSync(path.join(cwd, 'bad.yaml'), 'bars: { graceMs: -5 }\nexchanges: { simulated: { symbols: [SIM-BTC] } }\n');
    const cli = run(['start', '--config', 'bad.yaml'], cwd);
    expect(await cli.exited).toBe(2);
    expect(cli.err()).toMatch(/bad\.yaml: bars\.graceMs: got -5/);
  });

  it('refuses a config that reserves more than limits.maxMemory with the figure and the keys, exit code 2', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'tickwire-cli-'));
    writeFileSync(path.join(cwd, 'big.yaml'), 'limits: { maxMemory: 8MiB }\nhistory: 100000\nexchanges: { simulated: { symbols: [SIM-BTC] } }\n');
    const cli = run(['start', '--config', 'big.yaml'], cwd);
    expect(await cli.exited).toBe(2);
    expect(cli.err()).toMatch(/big\.yaml: the config reserves [\d.]+ MiB \(\d+ bytes\) of memory, expected at most 8\.0 MiB/);
    expect(cli.err()).toMatch(/bar series [\d.]+ MiB \(exchanges\.simulated\.symbols 1, timeframes 4, history 100000\)/);
  });

  it('rejects an unknown command with usage', async () => {
    const cli = run(['serve'], ROOT);
    expect(await cli.exited).toBe(2);
    expect(cli.err()).toMatch(/usage: tickwire <command>/);
    expect(cli.err()).toMatch(/tickwire start \[--config FILE\]/);
  });

  it('suggests the option meant by a typo, with the usage of start, exit code 2', async () => {
    const cli = run(['start', '--prot', '9000'], ROOT);
    expect(await cli.exited).toBe(2);
    expect(cli.err()).toMatch(/^tickwire start: unknown option --prot \(did you mean --port\?\)\n\nusage: tickwire start /);
  });

  it('prints its version, the Node version and how it runs', async () => {
    const cli = run(['--version'], ROOT);
    expect(await cli.exited).toBe(0);
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(cli.out()).toMatch(new RegExp(`^tickwire ${version.replace(/\./g, '\\.')} \\((compiled build|TypeScript sources through tsx), Node ${process.version}\\)\n$`));
  });

  it('refuses at once a storage.path whose directory cannot be created, naming the key (no spinning)', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'tickwire-cli-'));
    writeFileSync(path.join(cwd, 'proc.yaml'), 'storage: { path: /proc/nope }\nserver: { port: "0" }\nexchanges: { simulated: { symbols: [SIM-BTC] } }\n');
    const cli = run(['start', '--config', 'proc.yaml'], cwd);
    expect(await cli.exited).toBe(2);
    expect(cli.err()).toMatch(/^tickwire: storage\.path \/proc\/nope: cannot create \/proc\/nope: ENOENT/);
    expect(cli.err()).toContain('set storage: false');
  });
});
