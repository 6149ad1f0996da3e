/**
 * Config bounds (src/config/limits.ts): the memory a config reserves is
 * refused at load with the figure and the keys that drive it; symbol count
 * and file size are bounded; the runtime reserves exactly what was computed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configError } from '../support/config-error.ts';
import { createTickwire, TickwireRuntime } from '../../src/api/tickwire.ts';
import { RecentIds, tradeIdSetBytes, WindowIds } from '../../src/bars/recent-ids.ts';
import { Checker } from '../../src/check/checker.ts';
import {
  configMemory,
  formatBytes,
  limitsSection,
  MAX_CONFIG_BYTES,
  parseMemory,
} from '../../src/config/limits.ts';
import { loadConfigFile, loadConfigText, parseConfig } from '../../src/config/load.ts';


const dir = mkdtempSync(join(tmpdir(), 'tickwire-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const small = { timeframes: ['1m', '1h'], history: 500, exchanges: { binance: { symbols: ['BTCUSDT', 'ETHUSDT'] }, simulated: { symbols: ['SIM-BTC'] } } };

describe('config limits: memory', () => {
  it('refuses 800k symbols in well under a second of CPU, with the figure and the key paths', () => {
    const symbols = Array.from({ length: 800_000 }, (_, i) => `SYM${i}USDT`);
    const cpu = process.cpuUsage();
    const err = configError(() => parseConfig({ exchanges: { binance: { symbols } } }));
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000;
    // Measured: ~55 ms on the 2-core dev box (validating every symbol instead took 1.2–3.4 s).
    expect(cpuMs).toBeLessThan(800);

    expect(err.message).toContain('exchanges.binance.symbols: got 800000 symbols');
    expect(err.message).toContain('expected at most 10000 over all exchanges (limits.maxSymbols)');
    // The figure is configMemory's, for the same lists (computed here on a small config with the big list put in).
    const base = parseConfig({ exchanges: { binance: { symbols: ['BTCUSDT'] } } });
    const total = configMemory({ ...base, exchanges: { binance: { ...base.exchanges['binance']!, symbols } } }).total;
    expect(total).toBeGreaterThan(400 * 2 ** 30);
    expect(err.message).toContain(`the config reserves ${formatBytes(total)} (${total} bytes) of memory`);
    for (const key of ['exchanges.binance.symbols 800000', 'timeframes 4', 'history 1000', 'stream.resumeHistory 1024', 'exchanges.binance.channels']) {
      expect(err.message).toContain(key);
    }
  });

  it('accepts a config at exactly limits.maxMemory and refuses it one byte under', () => {
    const { total } = configMemory(parseConfig(small));
    expect(total).toBeGreaterThan(2 ** 20);
    expect(parseConfig({ ...small, limits: { maxMemory: total } }).limits.maxMemory).toBe(total);
    const err = configError(() => parseConfig({ ...small, limits: { maxMemory: total - 1 } }));
    expect(err.issues).toHaveLength(1);
    expect(err.message).toContain(`the config reserves ${formatBytes(total)} (${total} bytes) of memory, expected at most ${formatBytes(total - 1)}`);
    expect(err.message).toMatch(/bar series [\d.]+ [KM]iB \(exchanges\.binance\.symbols 2, exchanges\.simulated\.symbols 1, timeframes 2, history 500\)/);
    expect(err.message).toMatch(/trade-id windows [\d.]+ KiB \(exchanges\.binance\.symbols 2, exchanges\.simulated\.symbols 1\)/);
  });

  it('names per-timeframe history depths and the stream.resumeHistory lever', () => {
    const cfg = { ...small, history: { '1m': 100_000, '1h': 10 }, stream: { resumeHistory: 50_000 }, limits: { maxMemory: '16MiB' } };
    const err = configError(() => parseConfig(cfg));
    expect(err.message).toContain('history 1m:100000 1h:10');
    expect(err.message).toContain('stream.resumeHistory 50000');
    // Parts come largest first.
    const { parts } = configMemory(parseConfig({ ...cfg, limits: undefined }));
    const largest = [...parts].sort((a, b) => b.bytes - a.bytes)[0]!;
    expect(err.message.indexOf(largest.what)).toBeLessThan(Math.min(...parts.filter((p) => p !== largest).map((p) => err.message.indexOf(p.what))));
  });

  it('reads maxMemory as bytes, a size with a unit, or a share of the machine', () => {
    const machine = 16 * 2 ** 30;
    const read = (v: unknown) => {
      const c = new Checker();
      const limits = limitsSection(c, { maxMemory: v }, machine);
      return c.issues.length > 0 ? c.issues[0]!.message : limits.maxMemory;
    };
    expect(limitsSection(new Checker(), undefined, machine)).toEqual({ maxMemory: 8 * 2 ** 30, maxSymbols: 10_000 });
    expect(read(5_000_000)).toBe(5_000_000);
    expect(read('2GiB')).toBe(2 ** 31);
    expect(read('512 MiB')).toBe(512 * 2 ** 20);
    expect(read('1.5GB')).toBe(1.5e9);
    expect(read('75%')).toBe(12 * 2 ** 30);
    for (const bad of ['lots', '2 parsecs', '0%', '101%', -1, 1000, 1.5, true]) {
      expect(read(bad)).toMatch(/expected a number of bytes of at least 1048576, a size such as "2GiB" or "512 MiB", or a share of this machine's memory such as "75%"/);
    }
    expect(parseMemory('100%', machine)).toBe(machine);
    // The default is half of this machine's memory.
    expect(parseConfig(small).limits.maxMemory).toBe(Math.floor(totalmem() / 2));
  });
});

describe('config limits: symbols', () => {
  it('counts symbols over all exchanges against limits.maxSymbols', () => {
    expect(parseConfig({ ...small, limits: { maxSymbols: 3 } }).limits.maxSymbols).toBe(3);
    const err = configError(() => parseConfig({ ...small, limits: { maxSymbols: 2 } }));
    expect(err.path).toBe('exchanges');
    expect(err.message).toBe(
      'config: exchanges: got 3 symbols (exchanges.binance.symbols 2, exchanges.simulated.symbols 1), expected at most 2 over all exchanges (limits.maxSymbols)',
    );
    const bad = configError(() => parseConfig({ ...small, limits: { maxSymbols: 0, extra: 1 } }));
    expect(bad.message).toContain('limits.extra: unknown key, expected one of maxMemory, maxSymbols');
    expect(bad.message).toContain('limits.maxSymbols: got 0, expected a whole number from 1 to 10000000');
  });
});

describe('config limits: file size', () => {
  it('refuses a file over 1 MiB before parsing it', () => {
    const path = join(dir, 'big.yaml');
    // Not YAML at all: a parse would report a syntax error, the size check comes first.
    writeFileSync(path, '{'.repeat(MAX_CONFIG_BYTES + 1));
    const err = configError(() => loadConfigFile(path, {}));
    expect(err.message).toBe(`${path}: got 1048577 bytes (1.0 MiB), expected a config of at most 1048576 bytes (1.0 MiB); not parsed`);
    expect(configError(() => loadConfigText('{'.repeat(MAX_CONFIG_BYTES + 1), 'text', {})).message).toContain('got 1048577 bytes');
  });

  it('reads a file of exactly 1 MiB', () => {
    const body = 'exchanges: { simulated: { symbols: [SIM-BTC] } }\n#';
    const path = join(dir, 'edge.yaml');
    writeFileSync(path, body + 'x'.repeat(MAX_CONFIG_BYTES - body.length));
    expect(loadConfigFile(path, {}).exchanges['simulated']!.symbols).toEqual(['SIM-BTC']);
  });
});

describe('config limits: the runtime reserves what was computed', () => {
  /** Bytes of every shared buffer the runtime allocated for bars and rings. */
  function allocated(tw: TickwireRuntime): number {
    const exchanges = (tw as unknown as { exchanges: Map<string, { buffers: { ticks: SharedArrayBuffer; barEvents: SharedArrayBuffer; dirty: SharedArrayBuffer } }> }).exchanges;
    let bytes = tw.store.bytesReserved();
    for (const ex of exchanges.values()) bytes += ex.buffers.ticks.byteLength + ex.buffers.barEvents.byteLength + ex.buffers.dirty.byteLength;
    return bytes;
  }

  it('memoryBytes is the computed shared part and equals the buffers allocated, with default and given ring sizes', () => {
    const config = parseConfig(small);
    const tw = new TickwireRuntime(config);
    expect(tw.memory).toEqual(configMemory(config));
    expect(tw.memoryBytes).toBe(tw.memory.shared);
    expect(allocated(tw)).toBe(tw.memoryBytes);

    const sized = new TickwireRuntime(config, { tickRingCapacity: 1000, barRingCapacity: 100 });
    expect(allocated(sized)).toBe(sized.memoryBytes);
    expect(sized.memoryBytes).toBeLessThan(tw.memoryBytes);
  });

  it('refuses ring sizes that take the config over limits.maxMemory, before allocating', () => {
    const { total } = configMemory(parseConfig(small));
    const err = configError(() => createTickwire({ ...small, limits: { maxMemory: total } }, { tickRingCapacity: 2 ** 24 }));
    expect(err.message).toMatch(/^tickwire: the config reserves [\d.]+ GiB .* rings [\d.]+ GiB/);
  });

  it('trade-id windows count the arrays the de-duplication sets allocate', () => {
    const arrays = (set: object) =>
      Object.values(set).reduce((n: number, v) => n + (ArrayBuffer.isView(v) ? v.byteLength : 0), 0);
    expect(tradeIdSetBytes('increasing', 16_384)).toBe(arrays(new WindowIds(16_384)));
    expect(tradeIdSetBytes('any', 16_384)).toBe(arrays(new RecentIds(16_384)));
    expect(tradeIdSetBytes('any', 1000)).toBe(arrays(new RecentIds(1000)));
  });
});
