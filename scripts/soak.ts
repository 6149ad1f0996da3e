/**
 * `npm run soak [-- --duration 60s --rate 2000 --subscribers 100 --out DIR --hostile]`:
 * drives rated load through a real tickwire for a while and judges whether
 * its memory keeps growing and whether anything was lost (README, "Soak").
 *
 * Prints a progress line per sample, writes `<out>/soak-<time>.json` and
 * `.md`, and exits 0 when the verdict passes, 1 when it fails (each reason
 * printed), 2 on a bad flag. Ctrl-C ends the run early; the report of what
 * ran is still written and judged.
 */
import { TickwireError } from '../src/errors.ts';
import { SOAK_USAGE, parseSoakArgs, type SoakOptions } from './soak/options.ts';
import { phaseLine, writeReports } from './soak/report.ts';
import { runSoak } from './soak/run.ts';

let options: SoakOptions | undefined;
try {
  options = parseSoakArgs(process.argv.slice(2));
} catch (err) {
  console.error(`soak: ${err instanceof TickwireError ? err.message : String(err)}\n${SOAK_USAGE}`);
  process.exit(2);
}
if (options === undefined) {
  console.log(SOAK_USAGE);
  process.exit(0);
}

// Ctrl-C may arrive twice (from the terminal and relayed by tsx): the first ends the run, the rest are ignored.
const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (interrupt.signal.aborted) return;
  console.log('soak: interrupted, ending the run and writing the report');
  interrupt.abort();
});

const report = await runSoak(options, (line) => console.log(line), interrupt.signal);
const files = writeReports(options.outDir, report);
const { verdict, latencyMs: lat, totals } = report;
console.log(
  `trades sent ${totals.tradesSent}, deliveries ${totals.tradesDelivered}/${totals.tradesExpected}; ` +
    `latency p50 ${lat.p50.toFixed(2)} p99 ${lat.p99.toFixed(2)} max ${lat.max.toFixed(1)} ms; ` +
    `${verdict.heap.detail}; ${verdict.external.detail}; ${verdict.rss.detail}`,
);
if (report.hostile !== undefined) {
  console.log(phaseLine('without attacks', report.hostile.calm));
  console.log(phaseLine('under attack', report.hostile.attacked));
  console.log(`attacks: ${JSON.stringify(report.hostile.outcomes)}`);
}
console.log(`report: ${files.json}\n        ${files.markdown}`);
if (verdict.pass) {
  console.log('soak: PASS');
} else {
  console.log(`soak: FAIL\n${verdict.reasons.map((r) => `  - ${r}`).join('\n')}`);
}
process.exitCode = verdict.pass ? 0 : 1;
