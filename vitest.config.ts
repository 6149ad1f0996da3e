import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Two projects, run one after the other (`sequence.groupOrder`), so that the
 * timing-sensitive files never share the two cores with the parallel ones:
 *
 * 1. `unit`, files in parallel: pure in-process code. A file is here only if
 *    it (and the test helpers it uses) binds no port, starts no worker thread
 *    and no child process, and waits on no real clock (no deadline, no sleep,
 *    no timer it depends on, no measured duration it asserts). Listed below.
 * 2. `serial`, one file at a time: every other test file. Sockets on
 *    loopback, feed workers, child processes and real-clock waits are here,
 *    as is any new file until it is shown to belong in `unit`.
 *
 * The 60 s soak (`soak-60s.test.ts`) is in neither: `npm run soak:ci` runs it
 * (TICKWIRE_SOAK_CI=1 adds its project), and so does CI.
 */

/** Pure in-process test files, run in parallel (see above for what keeps a file out of this list). */
const PARALLEL = [
  'test/feed/outage.test.ts',
  'test/strategies/feature-set.test.ts',
  'test/server/candle-query.test.ts',
  'test/wire/strategy-json.test.ts',
  'test/api/rest-metrics.test.ts',
  'test/api/config-diff.test.ts',
  'test/api/venue-lists.test.ts',
  'test/api/on-demand.test.ts',
  'test/api/latency-window.test.ts',
  'test/cluster/lease-state.test.ts',
  'test/config/on-demand-config.test.ts',
  'test/alerts/rules.test.ts',
  'test/architecture/layers.test.ts',
  'test/config/strategies-config.test.ts',
  'test/backfill/binance-klines.test.ts',
  'test/bars/aggregator.fixture.test.ts',
  'test/bars/aggregator.folding.test.ts',
  'test/bars/aggregator.property.test.ts',
  'test/bars/aggregator.restart.test.ts',
  'test/bars/aggregator.rules.test.ts',
  'test/bars/recent-ids.test.ts',
  'test/bench/fanout-phases.test.ts',
  'test/bench/report.test.ts',
  'test/bench/noise.test.ts',
  'test/bench/market-window.test.ts',
  'test/cli/args.test.ts',
  'test/client/browser-safe.test.ts',
  'test/client/units.test.ts',
  'test/cluster/leadership.test.ts',
  'test/cluster/feed-reports.test.ts',
  'test/config/auth-config.test.ts',
  'test/config/environments.test.ts',
  'test/config/feeds-portfolios-alerts.test.ts',
  'test/config/cluster.test.ts',
  'test/config/load.test.ts',
  'test/config/reliability.test.ts',
  'test/exchanges/binance-fast-path.test.ts',
  'test/exchanges/binance.test.ts',
  'test/feed/clock-offset.test.ts',
  'test/fuzz/adapter-regressions.test.ts',
  'test/log/log-units.test.ts',
  // The frame fuzzers are CPU only; their one clock check is a 1 s hang limit on frames that take milliseconds.
  'test/fuzz/exchange-frames-binance.test.ts',
  'test/fuzz/exchange-frames-bybit-bitstamp-alpaca.test.ts',
  'test/fuzz/exchange-frames-coinbase-kraken-okx.test.ts',
  'test/model/backoff.test.ts',
  'test/model/read-clock.test.ts',
  'test/model/sessions.test.ts',
  'test/model/symbols.test.ts',
  'test/model/timeframes.test.ts',
  'test/portfolios/paper-portfolios.test.ts',
  'test/prices/feed-router.test.ts',
  'test/reader/pump.test.ts',
  'test/server/auth-rate-limit.test.ts',
  'test/server/auth.test.ts',
  'test/server/rate-limit.test.ts',
  'test/server/send-budget.test.ts',
  'test/server/stream-history.test.ts',
  'test/server/uws-loader.test.ts',
  'test/sim/market.test.ts',
  'test/soak/frame-scan.test.ts',
  'test/soak/growth.test.ts',
  'test/soak/hostile.test.ts',
  'test/soak/options.test.ts',
  'test/soak/trade-tape.test.ts',
  'test/soak/verdict.test.ts',
  'test/storage/bar-db.test.ts',
  'test/storage/persister.test.ts',
  'test/wire/corrupt.test.ts',
  'test/wire/fbs.test.ts',
  'test/wire/ready-candles.test.ts',
  'test/wire/schema.test.ts',
];

/** Out of `npm test`: the 60 s soak, run by `npm run soak:ci` (and CI). */
const SOAK_CI = ['test/soak/soak-60s.test.ts'];

const ROOT = path.dirname(fileURLToPath(import.meta.url));

/** Every test file under `dir`, as a path relative to the project root with forward slashes. */
function testFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.posix.join(dir, f.split(path.sep).join('/')))
    .sort();
}

const ALL = testFiles('test');
const SERIAL = ALL.filter((f) => !PARALLEL.includes(f) && !SOAK_CI.includes(f));

// Every test file in exactly one project: a listed file that does not exist (renamed, removed) or is listed twice fails here.
for (const f of [...PARALLEL, ...SOAK_CI]) {
  if (!ALL.includes(f)) throw new Error(`vitest.config.ts lists ${f}, which is not a test file under test/`);
}
const listed = [...PARALLEL, ...SERIAL, ...SOAK_CI];
if (new Set(listed).size !== listed.length || listed.length !== ALL.length) {
  throw new Error('vitest.config.ts: every test file must be in exactly one project');
}

const shared = { testTimeout: 120_000, hookTimeout: 60_000 };
/** Parallel files: vitest's default (cores − 1) would be one at a time on a 2-core machine; at least two. */
const UNIT_WORKERS = Math.max(2, availableParallelism() - 1);

export default defineConfig({
  test: {
    projects: [
      { test: { ...shared, name: 'unit', include: PARALLEL, maxWorkers: UNIT_WORKERS, sequence: { groupOrder: 0 } } },
      // Concurrency tests pin a worker thread each and latency tests measure; two cores, so one file at a time.
      { test: { ...shared, name: 'serial', include: SERIAL, fileParallelism: false, sequence: { groupOrder: 1 } } },
      ...(process.env['TICKWIRE_SOAK_CI'] === '1'
        ? [{ test: { ...shared, name: 'soak', include: SOAK_CI, fileParallelism: false, sequence: { groupOrder: 2 } } }]
        : []),
    ],
  },
});
