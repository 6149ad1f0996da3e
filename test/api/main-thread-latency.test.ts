/**
 * The main thread's latency stages, measured while the runtime runs and shown
 * in latency() and /metrics: its event-loop delay (every subscriber's latency
 * includes it) and the ring wait (a batch's first receipt in a worker → the main
 * thread draining the rings: how long a published trade waits to be read),
 * with the doorbell's wake-ups and drains beside them in /metrics.
 */
import { describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/index.ts';
import { until } from '../support/until.ts';

const STAGES = [
  { key: 'event_loop_delay', metric: 'tickwire_event_loop_delay_seconds' },
  { key: 'ring_wait', metric: 'tickwire_ring_wait_seconds' },
] as const;

describe('main-thread latency stages', () => {
  it('are sampled from start, reported in µs under <stage>.main and as tickwire_<stage>_seconds{quantile}', async () => {
    const tw = createTickwire({ exchanges: { simulated: { symbols: ['SIM-BTC'], rate: 50 } }, timeframes: ['1m'] });
    for (const s of STAGES) expect(tw.latency()[s.key]!['main']!.count, s.key).toBe(0); // not started: nothing sampled
    await tw.start();
    try {
      for (const s of STAGES) {
        await until(() => tw.latency()[s.key]!['main']!.count >= 5, 20_000, `${s.key} samples`);
        const d = tw.latency()[s.key]!['main']!;
        expect(d.p50, s.key).toBeGreaterThan(0);
        expect(d.p50, s.key).toBeLessThanOrEqual(d.p99);
        expect(d.max, s.key).toBeGreaterThan(0);
      }
      const text = await tw.metrics();
      for (const s of STAGES) {
        const line = text.split('\n').find((l) => l.startsWith(`${s.metric}{quantile="0.99"} `));
        expect(line, s.metric).toBeDefined();
        expect(Number(line!.split(' ').pop()), s.metric).toBeGreaterThan(0);
      }
      // The doorbell's counters: woken at least once (ring_wait has samples), never more often than drained.
      const counter = (name: string) => Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ').pop());
      expect(counter('tickwire_doorbell_wakeups_total')).toBeGreaterThan(0);
      expect(counter('tickwire_doorbell_drains_total')).toBeGreaterThanOrEqual(counter('tickwire_doorbell_wakeups_total'));
    } finally {
      await tw.stop();
    }
  });
});
