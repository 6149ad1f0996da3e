/**
 * `tickwire start --watch`: editing the plugin file in use imports it again
 * and replaces its exchange's worker; the 1s bars of a subscriber carry on
 * across the replacement with every bucket closed once (no lost and no
 * repeated closed bar). A version that no longer loads, or that drops what
 * the running config uses, is logged and the running one kept.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTickwire, type TickwireRuntime } from '../../src/api/tickwire.ts';
import { FakeDeribit } from '../support/fake-deribit.ts';
import { DERIBIT_PLUGIN, copyDeribitModule, scratchProject, writeDeribitConfig } from '../support/plugin-project.ts';
import { killChildren, startTickwire } from '../support/tickwire-process.ts';
import { until } from '../support/until.ts';

type Bar = { type: string; openTime: number; closed: boolean; revision: number; trades: number };

const children: ChildProcess[] = [];
const dirs: string[] = [];
let fake: FakeDeribit;
let port: number;
let out: () => string;
let pluginFile: string;

beforeAll(async () => {
  fake = await FakeDeribit.start(['BTC-PERPETUAL']);
  const project = scratchProject(dirs);
  pluginFile = copyDeribitModule(project, 'adapters/deribit.mjs');
  writeDeribitConfig(project, './adapters/deribit.mjs', fake.url, fake.restUrl, ['BTC-PERPETUAL']);
  ({ port, out } = await startTickwire(project, children, ['--watch']));
  fake.trading(20);
}, 90_000);

afterAll(async () => {
  await killChildren(children);
  await fake?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function deribitStatus(): Promise<{ restarts: number; state: string; plugin: { version: string } }> {
  const status = (await (await fetch(`http://127.0.0.1:${port}/v1/status`)).json()) as { exchanges: Record<string, { restarts: number; state: string; plugin: { version: string } }> };
  return status.exchanges.deribit!;
}

async function restarts(): Promise<number> {
  return (await deribitStatus()).restarts;
}

describe('plugins: --watch reloads a changed plugin', () => {
  it('replaces the worker when the file changes, and the bars carry on with no closed bar lost', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/stream`);
    const bars: Bar[] = [];
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Bar;
      if (m.type === 'bar' && m.closed && m.revision === 0) bars.push(m);
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    try {
      ws.send(JSON.stringify({ op: 'subscribe', id: 1, channels: ['bars:deribit:BTC-PERPETUAL:1s'] }));
      await until(() => bars.filter((b) => b.trades > 0).length >= 3, 30_000, 'closed bars before the change');
      const before = bars.length;
      const connections = fake.connections;
      expect(await restarts()).toBe(0);

      writeFileSync(pluginFile, readFileSync(pluginFile, 'utf8').replace("version: '1.0.0'", "version: '1.0.1'"));
      await until(() => /"event":"plugin\.reloaded"/.test(out()), 30_000, 'the reload logged');
      expect(out()).toMatch(/deribit: plugin \.\/adapters\/deribit\.mjs 1\.0\.1 reloaded from/);
      await until(async () => (await restarts()) === 1, 30_000, 'the restart in /v1/status');
      expect((await deribitStatus()).plugin.version).toBe('1.0.1');
      await until(() => fake.connections > connections, 30_000, 'the new worker connected');
      await until(() => bars.slice(before).filter((b) => b.trades > 0).length >= 3, 30_000, 'closed bars with trades after the change');

      const times = bars.map((b) => b.openTime);
      expect(new Set(times).size, 'each bucket closed once').toBe(times.length);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, `bar after ${times[i - 1]}`).toBe(1_000);
    } finally {
      ws.close();
    }
  });

  it('keeps the running version when the change needs a restart: a channel the config uses dropped', async () => {
    const count = await restarts();
    const before = (out().match(/"event":"plugin\.reload_failed"/g) ?? []).length;
    writeFileSync(pluginFile, readFileSync(pluginFile, 'utf8').replace("capabilities: ['trades', 'quotes', 'gapRecovery', 'liveSymbols']", "capabilities: ['trades', 'gapRecovery', 'liveSymbols']"));
    await until(() => (out().match(/"event":"plugin\.reload_failed"/g) ?? []).length > before, 30_000, 'the refused reload logged');
    expect(out()).toMatch(/plugin \.\/adapters\/deribit\.mjs: no longer declares quotes: a restart applies that/);
    expect(await restarts()).toBe(count);
  });

  it('keeps the running version when the changed file no longer loads', async () => {
    const count = await restarts();
    writeFileSync(pluginFile, 'export default {;\n');
    await until(() => /could not be loaded.*the running version stays/.test(out()), 30_000, 'the failed reload logged');
    expect(out()).toMatch(/"event":"plugin\.reload_failed".*deribit: plugin \.\/adapters\/deribit\.mjs: .*could not be loaded.*the running version stays/);
    const status = await deribitStatus();
    expect(status).toMatchObject({ restarts: count, state: 'connected', plugin: { version: '1.0.1' } });
  });
});

describe('plugins: a feed replaced while another replacement runs (library)', () => {
  it('replaces one after the other: one worker, one connection, trades flowing', async () => {
    const venue = await FakeDeribit.start(['BTC-PERPETUAL']);
    const tw = createTickwire(
      { plugins: [`${DERIBIT_PLUGIN}/index.mjs`], timeframes: ['1m'], exchanges: { deribit: { url: venue.url, symbols: ['BTC-PERPETUAL'], channels: ['trades'] } } },
      { statusMs: 200 },
    ) as TickwireRuntime;
    try {
      await tw.start();
      await until(() => venue.channels().length === 1, 30_000, 'subscribed');
      await Promise.all([tw.restartFeed('deribit', 'first'), tw.restartFeed('deribit', 'second')]);
      await until(() => tw.status().exchanges.deribit?.state === 'connected' && venue.openConnections() === 1 && venue.channels().length === 1, 30_000, 'one worker connected');
      expect(tw.status().exchanges.deribit!.restarts).toBe(2);
      let trades = 0;
      tw.on('trade', () => trades++);
      venue.trading(50);
      await until(() => trades > 5, 30_000, 'trades after the replacements');
      expect(venue.openConnections(), 'no second worker left behind').toBe(1);
    } finally {
      await tw.stop();
      await venue.close();
    }
  });
});
