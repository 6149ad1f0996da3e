/**
 * The cluster bench's exchange (bench/cluster.ts): tickwire's simulated
 * exchange (src/sim/simulated-exchange.ts, the same seeded market, rate and
 * 50 ms steps the built-in one runs) in a process of its own, where a real
 * venue would be: across the network, not on the gateway's main thread.
 *
 * Why: the built-in simulated exchange writes its frames on the main thread
 * of the process that reads them, all of a 50 ms step's at once (600 frames
 * in a 6× burst at 2,000 trades/s). On a `--role feed` that was a quarter of
 * the main thread's busy time and its longest turns (CPU profile and the
 * feed's windowed stages: docs/scale-out.md "The feed's main thread"),
 * delaying the ring's drain and the publishes behind it: load that the
 * bench put there, which a production feed (its venue remote) never has.
 * Every setup reads the same market from here (`exchanges.simulated.url`);
 * the runtime's own simulated server then idles (paused, no client).
 *
 *   node --import tsx bench/sim-exchange.ts <trades/s per symbol> <symbols,…>
 *
 * Prints SIM_EXCHANGE_READY and the ws:// URL; stops on SIGINT.
 */
import { fileURLToPath } from 'node:url';
import { SimulatedExchange } from '../src/sim/simulated-exchange.ts';

/** What the parent waits for on stdout, followed by ` on ws://…`. */
export const SIM_EXCHANGE_READY = 'sim exchange: listening';
/** The simulated exchange's default seed (src/config/defaults.ts): the same trades as every other setup's market. */
export const SIM_SEED = 42;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [rate, list] = process.argv.slice(2);
  const symbols = (list ?? '').split(',').filter((s) => s !== '');
  if (!(Number(rate) > 0) || symbols.length === 0) {
    console.error('usage: sim-exchange.ts <trades/s per symbol> <symbols,…>');
    process.exit(2);
  }
  const exchange = new SimulatedExchange({ symbols, rate: Number(rate), seed: SIM_SEED });
  const { url } = await exchange.start();
  // An orderly exit on SIGINT (what the bench sends): a profiled run writes its CPU profile only then.
  process.once('SIGINT', () => void exchange.stop().finally(() => process.exit(0)));
  console.log(`${SIM_EXCHANGE_READY} on ${url}`);
}
