/**
 * Config bounds: what a config may ask of the machine, checked at load before
 * anything is allocated.
 *
 * - The file: at most MAX_CONFIG_BYTES, refused before it is parsed.
 * - `limits.maxSymbols` (default 10 000): symbols over all exchanges, counted
 *   from the lists as given, before any symbol is checked one by one.
 * - `limits.maxMemory` (default 50% of the machine's memory; bytes, `"2GiB"`,
 *   `"512 MiB"` or `"75%"` of the machine's): what `configMemory` computes,
 *   from the allocation sites' own size functions:
 *     bar series        BarSeries.byteLength(history[tf]) per symbol × timeframe (shared)
 *     rings             TickRing.byteLength, barEventRingByteLength, dirtyFlagsByteLength per exchange (shared)
 *     trade-id windows  tradeIdSetBytes per symbol (each aggregator, in the worker)
 *     resume histories  worst case: every market channel recording `stream.resumeHistory`
 *                       messages of its largest JSON and binary size (the main thread)
 *   The computation costs O(exchanges × timeframes) plus one pass over each
 *   symbol list for the longest name: 800k symbols are refused in milliseconds.
 *
 * `tickwire start` prints `configMemory(...).total` and the runtime's
 * `tickwire_bar_memory_bytes` is its `shared` part: one formula, one place.
 */
import { totalmem } from 'node:os';
import { tradeIdSetBytes, DEFAULT_DEDUP_CAPACITY } from '../bars/recent-ids.ts';
import { BarSeries } from '../buffers/bar-store.ts';
import { TickRing } from '../buffers/tick-ring.ts';
import type { Checker, ConfigIssue } from '../check/checker.ts';
import { isMap, keyPath } from '../check/paths.ts';
import { adapterFor, capabilitiesOf } from '../exchanges/registry.ts';
import {
  barEventRingByteLength,
  DEFAULT_TICK_RING_CAPACITY,
  defaultBarEventRingCapacity,
  dirtyFlagsByteLength,
  symbolSlots,
} from '../feed/protocol.ts';
import { TICK_FIELDS } from '../model/records.ts';
import { channelName, type MarketKind } from '../wire/channels.ts';
import { FbsEncoder } from '../wire/encoder.ts';
import { prepareChannel } from '../wire/json.ts';
import type { LimitsConfig, TickwireConfig } from './types.ts';

/** Largest config file (or text) read; larger is refused before parsing. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
export const DEFAULT_MAX_SYMBOLS = 10_000;
/** Highest `limits.maxSymbols` accepted. */
export const MAX_SYMBOLS_CEILING = 10_000_000;
/** `limits.maxMemory` when absent: this share of the machine's memory. */
export const DEFAULT_MEMORY_SHARE = 0.5;
/** Smallest `limits.maxMemory` accepted. */
export const MIN_MAX_MEMORY = 1024 * 1024;

/**
 * A ChannelHistory entry (src/server/history.ts) beyond its payloads: the text
 * slot and the string's header (8 + 16), the binary slot (8), its length (4),
 * the keep flag (1), rounded up.
 */
const HISTORY_ENTRY_OVERHEAD = 40;

const LIMITS_KEYS = ['maxMemory', 'maxSymbols'] as const;
const UNITS: Record<string, number> = {
  b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
};
const SIZE = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;
const SHARE = /^(\d+(?:\.\d+)?)\s*%$/;

/** A fresh `limits` section with every default, for a machine of `machineBytes`. */
export function defaultLimitsConfig(machineBytes = totalmem()): LimitsConfig {
  return { maxMemory: Math.floor(machineBytes * DEFAULT_MEMORY_SHARE), maxSymbols: DEFAULT_MAX_SYMBOLS };
}

/** `limits:` with every default filled in; `machineBytes` is what a share (`"75%"`) and the default are of. */
export function limitsSection(c: Checker, value: unknown, machineBytes = totalmem()): LimitsConfig {
  const l = c.section(value, 'limits', LIMITS_KEYS);
  const defaults = defaultLimitsConfig(machineBytes);
  const maxSymbols = c.number(l.maxSymbols, 'limits.maxSymbols', defaults.maxSymbols,
    (n) => Number.isInteger(n) && n >= 1 && n <= MAX_SYMBOLS_CEILING, `a whole number from 1 to ${MAX_SYMBOLS_CEILING}`);
  let maxMemory = defaults.maxMemory;
  if (l.maxMemory !== undefined && l.maxMemory !== null) {
    const bytes = parseMemory(l.maxMemory, machineBytes);
    if (bytes !== undefined && bytes >= MIN_MAX_MEMORY) maxMemory = bytes;
    else c.fail('limits.maxMemory', l.maxMemory, `a number of bytes of at least ${MIN_MAX_MEMORY}, a size such as "2GiB" or "512 MiB", or a share of this machine's memory such as "75%"`);
  }
  return { maxMemory, maxSymbols };
}

/** Bytes from a number, a size with a unit (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB) or a share ("75%") of `machineBytes`. */
export function parseMemory(value: unknown, machineBytes: number): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  const share = SHARE.exec(text);
  if (share !== null) {
    const pct = Number(share[1]);
    return pct > 0 && pct <= 100 ? Math.floor((machineBytes * pct) / 100) : undefined;
  }
  const size = SIZE.exec(text);
  const unit = size === null ? undefined : UNITS[(size[2] ?? '').toLowerCase() || 'b'];
  return size === null || unit === undefined ? undefined : Math.floor(Number(size[1]) * unit);
}

/** The file-size bound, before parsing: an issue when `bytes` is over MAX_CONFIG_BYTES. */
export function configSizeIssue(bytes: number): ConfigIssue | undefined {
  if (bytes <= MAX_CONFIG_BYTES) return undefined;
  return {
    path: '',
    message: `got ${bytes} bytes (${formatBytes(bytes)}), expected a config of at most ${MAX_CONFIG_BYTES} bytes (${formatBytes(MAX_CONFIG_BYTES)}); not parsed`,
  };
}

/**
 * `limits.maxSymbols`, counted from the `exchanges` lists as given (before
 * each symbol is checked). Reports an issue and returns false when over.
 */
export function checkSymbolCount(c: Checker, exchanges: unknown, maxSymbols: number): boolean {
  if (!isMap(exchanges)) return true;
  const counts: string[] = [];
  let total = 0;
  for (const [name, body] of Object.entries(exchanges)) {
    const symbols = isMap(body) ? body.symbols : undefined;
    if (!Array.isArray(symbols)) continue;
    total += symbols.length;
    counts.push(`${keyPath(keyPath('exchanges', name), 'symbols')} ${symbols.length}`);
  }
  if (total <= maxSymbols) return true;
  c.issues.push({
    path: counts.length === 1 ? counts[0]!.slice(0, counts[0]!.lastIndexOf(' ')) : 'exchanges',
    message: `got ${total} symbols (${counts.join(', ')}), expected at most ${maxSymbols} over all exchanges (limits.maxSymbols)`,
  });
  return false;
}

/** One share of the memory a config reserves. */
export interface MemoryPart {
  what: 'bar series' | 'rings' | 'trade-id windows' | 'resume histories (worst case)';
  bytes: number;
  /** The key paths that drive it, each with its value (`exchanges.binance.symbols 800000`). */
  keys: string[];
}

/** What a config reserves, bytes. */
export interface MemoryReport {
  total: number;
  /** Shared memory allocated at construction: bar series and rings (`tickwire_bar_memory_bytes`). */
  shared: number;
  parts: MemoryPart[];
}

/** Ring capacities the runtime is given instead of the defaults (`RuntimeOptions`). */
export interface RingSizes {
  tickRingCapacity?: number;
  barRingCapacity?: number;
}

type MemoryInputs = Pick<TickwireConfig, 'timeframes' | 'history' | 'exchanges' | 'stream'>;

/** The memory `config` reserves; see the module comment for what counts. */
export function configMemory(config: MemoryInputs, sizes: RingSizes = {}): MemoryReport {
  const { timeframes, history, exchanges, stream } = config;
  const perSymbolBars = timeframes.reduce((n, tf) => n + BarSeries.byteLength(history[tf]), 0);
  const symbolKeys: string[] = [];
  let bars = 0;
  let rings = 0;
  let windows = 0;
  let histories = 0;
  const encoder = new FbsEncoder();
  for (const [name, ex] of Object.entries(exchanges)) {
    const n = ex.symbols.length;
    const series = n * timeframes.length;
    symbolKeys.push(`${keyPath(keyPath('exchanges', name), 'symbols')} ${n}`);
    bars += n * perSymbolBars;
    rings += TickRing.byteLength(sizes.tickRingCapacity ?? DEFAULT_TICK_RING_CAPACITY, TICK_FIELDS) +
      barEventRingByteLength(sizes.barRingCapacity ?? defaultBarEventRingCapacity(series)) +
      dirtyFlagsByteLength(symbolSlots(n + (ex.onDemand?.maxSymbols ?? 0)) * timeframes.length); // every symbol slot, live and on-demand additions included (feed/protocol.ts)
    const entry = adapterFor(name);
    if (entry !== undefined) windows += n * tradeIdSetBytes(capabilitiesOf(entry, ex).tradeIdOrder, DEFAULT_DEDUP_CAPACITY);
    if (n > 0) histories += n * historyBytesPerSymbol(encoder, name, longestSymbol(ex.symbols), ex.channels, timeframes, stream.resumeHistory);
  }
  const tfs = `timeframes ${timeframes.length}`;
  const depths = new Set(timeframes.map((tf) => history[tf]));
  const hist = depths.size === 1 ? `history ${[...depths][0]}` : `history ${timeframes.map((tf) => `${tf}:${history[tf]}`).join(' ')}`;
  const channels = Object.entries(exchanges).map(([name, ex]) => `exchanges.${name}.channels [${ex.channels.join(', ')}]`);
  const parts: MemoryPart[] = [
    { what: 'bar series', bytes: bars, keys: [...symbolKeys, tfs, hist] },
    { what: 'rings', bytes: rings, keys: [`exchanges ${Object.keys(exchanges).length}`, ...symbolKeys, tfs] },
    { what: 'trade-id windows', bytes: windows, keys: [...symbolKeys] },
    { what: 'resume histories (worst case)', bytes: histories, keys: [`stream.resumeHistory ${stream.resumeHistory}`, ...symbolKeys, ...channels, tfs] },
  ];
  return { total: bars + rings + windows + histories, shared: bars + rings, parts };
}

/** The `limits.maxMemory` bound: an issue naming the figure and the keys that drive it when `report` is over. */
export function memoryIssue(report: MemoryReport, limits: LimitsConfig): ConfigIssue | undefined {
  if (report.total <= limits.maxMemory) return undefined;
  const parts = [...report.parts]
    .filter((p) => p.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes)
    .map((p) => `${p.what} ${formatBytes(p.bytes)} (${p.keys.join(', ')})`);
  return {
    path: '',
    message:
      `the config reserves ${formatBytes(report.total)} (${report.total} bytes) of memory, expected at most ${formatBytes(limits.maxMemory)} ` +
      `(limits.maxMemory, by default ${DEFAULT_MEMORY_SHARE * 100}% of this machine's memory): ${parts.join('; ')}. ` +
      'Fewer symbols, timeframes or history, a smaller stream.resumeHistory, or a larger limits.maxMemory',
  };
}

/** `n` bytes for people: KiB, MiB, GiB or TiB with one decimal. */
export function formatBytes(n: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** Worst-case resume histories of one symbol's market channels: every channel recording both formats at their largest. */
function historyBytesPerSymbol(
  encoder: FbsEncoder,
  exchange: string,
  symbol: string,
  feeds: readonly string[],
  timeframes: readonly string[],
  capacity: number,
): number {
  const entry = (kind: MarketKind, tf?: string) => {
    const channel = channelName(kind, exchange, symbol, tf);
    return prepareChannel(kind, channel, exchange, symbol, tf).maxBytes + encoder.maxBytes(kind, channel, exchange, symbol) + HISTORY_ENTRY_OVERHEAD;
  };
  let bytes = 0;
  if (feeds.includes('trades')) bytes += entry('trades');
  if (feeds.includes('quotes')) bytes += entry('quotes');
  for (const tf of timeframes) bytes += entry('bars', tf);
  return bytes * capacity;
}

/** A stand-in as long as the longest of `symbols` (the messages' size depends only on lengths). */
function longestSymbol(symbols: readonly unknown[]): string {
  let longest = 1;
  for (const s of symbols) if (typeof s === 'string' && s.length > longest) longest = s.length;
  return 'X'.repeat(Math.min(longest, 40));
}
