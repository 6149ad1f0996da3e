/** The main thread's event-loop delay is measured while the runtime runs, and shown in latency() and /metrics. */
import { describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/index.ts';
import { until } from '../support/until.ts';

describe('event-loop delay of the main thread', () => {
  it('is sampled from start, reported in µs under event_loop_delay.main and as tickwire_event_loop_delay_seconds', async () => {
    const tw = createTickwire({ exchanges: { simulated: { symbols: ['SIM-BTC'], rate: 50 } }, timeframes: ['1m'] });
    expect(tw.latency()['event_loop_delay']!['main']!.count).toBe(0); // not started: nothing sampled
    await tw.start();
    try {
      await until(() => tw.latency()['event_loop_delay']!['main']!.count >= 5, 10_000, 'event-loop samples');
      const d = tw.latency()['event_loop_delay']!['main']!;
      expect(d.p50).toBeGreaterThan(0);
      expect(d.p50).toBeLessThanOrEqual(d.p99);
      expect(d.p99).toBeLessThanOrEqual(d.max);
      const text = await tw.metrics();
      const line = text.split('\n').find((l) => l.startsWith('tickwire_event_loop_delay_seconds{quantile="0.99"} '));
      expect(line).toBeDefined();
      expect(Number(line!.split(' ').pop())).toBeGreaterThan(0);
    } finally {
      await tw.stop();
    }
  });
});
