/**
 * The layering of src/ (docs/architecture.md), checked over the import graph:
 * a module may import its own folder and any folder on a lower layer, never a
 * higher one or a sibling on the same layer. A file named in LAYERS (the
 * worker protocol, the config's types) is a part of its own: the contract two
 * sides share, placed below both. Type-only imports count too: a
 * lower layer that needs a higher one's type has the type in the wrong place.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf } from '../support/imports.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SRC = path.join(ROOT, 'src');

/**
 * Layer of each top-level part of src/, lowest first. Equal numbers are
 * siblings: they may not import each other.
 */
const LAYERS: Record<string, number> = {
  errors: 0, // TickwireError and its codes
  check: 1, // the config checker (key path, value, expectation): no tickwire imports
  model: 1, // records, timeframes, symbols, events, clock: plain definitions everyone shares
  log: 1, // the logger (pino), its levels and rate limits: every layer logs
  'config/types': 2, // the shape of a validated config: plain types any layer may read
  security: 2, // host, token and origin rules shared by the config checks and the server
  buffers: 2, // shared-memory rings and the bar store
  events: 2, // the event bus of the library face: filters, priorities, bounded queues
  bars: 3, // the pure bar aggregator
  prices: 3, // price feeds: source failover and 24-hour figures (pure)
  portfolios: 3, // holdings, conversion paths, live valuation (pure)
  alerts: 3, // alert rules (pure) and the webhook sender
  exchanges: 4, // venue adapters: capabilities, subscribe builders, parse
  storage: 4, // closed bars on disk
  sim: 4, // the simulated exchange
  backfill: 5, // klines fetched before a worker starts
  plugins: 5, // adapter plugins: the contract, its check, loading and registering them
  'feed/protocol': 5, // the contract between the main thread and a worker: start data, control messages, ring layouts
  feed: 6, // worker side: connection, handlers, writer
  reader: 6, // main thread: drains the rings, events and bar queries
  wire: 7, // message types, channel names, JSON and FlatBuffers encoders/decoders
  strategies: 7, // strategy runtime: features, the piscina pool, executors, backtest replay
  config: 8, // loading and checking the YAML, with each layer's own checks
  client: 8, // the SDK (browser-safe): speaks the wire, knows nothing of the runtime
  api: 9, // createTickwire: the runtime that wires feed, reader, storage
  server: 10, // uWebSockets.js: HTTP, the stream, metrics
  cluster: 10, // scale-out over NATS JetStream: the feed's publisher and lease, the edge's runtime (a Tickwire the server serves)
  cli: 11,
  index: 12, // the package entries
  internal: 12,
};

/** The LAYERS key of a file under src/ (`config/types` is its own entry). */
function partOf(file: string): string {
  const rel = path.relative(SRC, file).replace(/\\/g, '/').replace(/\.ts$/, '');
  if (rel in LAYERS) return rel;
  return rel.split('/')[0]!;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return tsFiles(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

describe('layering of src/', () => {
  const files = tsFiles(SRC);

  it('places every part of src/ on a layer', () => {
    const unplaced = [...new Set(files.map(partOf))].filter((p) => !(p in LAYERS));
    expect(unplaced).toEqual([]);
  });

  it('has no import from a higher layer or a sibling', () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = partOf(file);
      for (const { spec } of importsOf(file)) {
        if (!spec.startsWith('.')) continue;
        const target = path.resolve(path.dirname(file), spec);
        if (!target.startsWith(SRC + path.sep)) continue; // schema/generated and the like
        const to = partOf(target);
        if (to === from) continue;
        if (!(LAYERS[to]! < LAYERS[from]!)) {
          violations.push(`${path.relative(ROOT, file)} imports ${path.relative(ROOT, target)}: ${from} (${LAYERS[from]}) may not import ${to} (${LAYERS[to]})`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('catches an upward import (the check can fail)', () => {
    // A config module importing the server is the kind of edge this test exists to refuse.
    expect(LAYERS.server! < LAYERS.config!).toBe(false);
  });
});
