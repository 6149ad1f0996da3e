/**
 * The strategies bench's floor: the thinnest implementation of the same work
 * as `count` strategies on one series, without tickwire's strategy runtime.
 * One plain worker thread at the pool's priority (nice 19, the same call as
 * the pool's threads) gets each closed bar in one message, keeps the last 5
 * bars itself, runs bench/strategies/hold.mjs's `predict` and `decide` for
 * each of the `count` strategies on them (features: the 5-bar SMA the bench
 * configures, computed in place), and answers with the decisions in one
 * message. No deadlines, no batches, no per-strategy state, no executors,
 * no events: what is left is the judging itself and one round trip a close.
 * Every close's bar comes in (`judge` false outside the floor's slices of
 * the bench: the window stays current and nothing is judged or answered).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Bar } from '../src/model/records.ts';
import { lowerOwnPriority } from '../src/strategies/thread-priority.ts';

const { count, module } = workerData as { count: number; module: string };
const hold = (await import(module)) as {
  predict(a: { bars: Bar[]; features: Record<string, number | null>; params: Record<string, unknown> }): { value: number };
  decide(a: { prediction: { value: number } }): { action: string };
};
lowerOwnPriority(19);
const LOOKBACK = 5;
const bars: Bar[] = [];
const params = { burnMs: 0 };
const actions: string[] = new Array<string>(count);

parentPort!.on('message', ({ bar, judge }: { bar: Bar; judge: boolean }) => {
  bars.push(bar);
  if (bars.length > LOOKBACK) bars.shift();
  if (!judge || bars.length < LOOKBACK) return;
  let sum = 0;
  for (const b of bars) sum += b.close;
  const features = { sma5: sum / LOOKBACK };
  for (let i = 0; i < count; i++) actions[i] = hold.decide({ prediction: hold.predict({ bars, features, params }) }).action;
  parentPort!.postMessage({ openTime: bar.openTime, actions });
});
