/**
 * The event-loop delay monitor (src/api/loop-delay.ts): a blocked main
 * thread shows up as one late tick of about the block's length; an idle loop
 * records ticks without waiting for the thread; nothing is sampled once
 * disabled. Bounds are one-sided and loose: a loaded machine only adds delay.
 */
import { describe, expect, it } from 'vitest';
import { LoopDelayMonitor } from '../../src/api/loop-delay.ts';
import { until } from '../support/until.ts';

const BLOCK_MS = 300;

function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('LoopDelayMonitor', () => {
  it('records a blocked turn as a tick about the block late, in µs, and stops sampling when disabled', async () => {
    const m = new LoopDelayMonitor(10);
    m.enable();
    m.enable(); // a second enable changes nothing (one timer)
    await until(() => m.histogram.totalCount >= 3, 10_000, 'idle samples');
    block(BLOCK_MS);
    await until(() => m.histogram.maxValue >= (BLOCK_MS - 20) * 1000, 10_000, 'the blocked turn recorded');
    expect(m.histogram.minNonZeroValue).toBeGreaterThanOrEqual(1); // on time: 1 µs, never 0 or negative
    m.disable();
    const count = m.histogram.totalCount;
    await new Promise((r) => setTimeout(r, 100));
    expect(m.histogram.totalCount).toBe(count);
  });
});
