/**
 * Judgment starts spread over event-loop turns (turns.ts): in order, a
 * bounded slice per turn so that other callbacks (the trade path) run in
 * between, and with no budget (a backtest) all in the next turn.
 */
import { describe, expect, it } from 'vitest';
import { Turns } from '../../src/strategies/turns.ts';

/** Busy for `ms`: a job with a cost, like a pool submission. */
function burn(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Add 20 jobs of 0.4 ms each; what ran before a callback queued after them, and the order of all. */
async function run(budgetMs: number): Promise<{ beforeOther: number; order: number[] }> {
  const turns = new Turns(budgetMs);
  const order: number[] = [];
  let beforeOther = -1;
  for (let i = 0; i < 20; i++) turns.add(() => (burn(0.4), order.push(i)));
  // Like the doorbell of the rings: a callback queued for the next turn, then re-queued once.
  await new Promise<void>((resolve) => setImmediate(() => setImmediate(() => ((beforeOther = order.length), resolve()))));
  while (order.length < 20) await new Promise((resolve) => setImmediate(resolve));
  return { beforeOther, order };
}

describe('strategies: turns', () => {
  it('runs jobs in order, a bounded slice per turn, letting other callbacks in between', async () => {
    const { beforeOther, order } = await run(1);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(beforeOther).toBeGreaterThanOrEqual(1);
    expect(beforeOther).toBeLessThan(20);
  });

  it('runs every job in the next turn without a budget (backtests)', async () => {
    const { beforeOther, order } = await run(Infinity);
    expect(order).toHaveLength(20);
    expect(beforeOther).toBe(20);
  });
});
