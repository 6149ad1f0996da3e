/** The doorbell's wait (worker ring → main-thread drain) is measured while trades flow, and shown in latency() and /metrics. */
import { describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/index.ts';
import { until } from '../support/until.ts';

describe('ring wait: worker write → main-thread read', () => {
  it('is recorded per drain that follows a ring, in µs under ring_wait.main and as tickwire_ring_wait_seconds', async () => {
    const tw = createTickwire({ exchanges: { simulated: { symbols: ['SIM-BTC'], rate: 50 } }, timeframes: ['1m'] });
    expect(tw.latency()['ring_wait']!['main']!.count).toBe(0); // not started: nothing rang
    await tw.start();
    try {
      await until(() => tw.latency()['ring_wait']!['main']!.count >= 5, 20_000, 'ring-wait samples');
      const w = tw.latency()['ring_wait']!['main']!;
      expect(w.p50).toBeGreaterThan(0);
      expect(w.p50).toBeLessThanOrEqual(w.p99);
      expect(w.max).toBeGreaterThan(0);
      const text = await tw.metrics();
      const line = text.split('\n').find((l) => l.startsWith('tickwire_ring_wait_seconds{quantile="1"} '));
      expect(line).toBeDefined();
      expect(Number(line!.split(' ').pop())).toBeGreaterThan(0);
    } finally {
      await tw.stop();
    }
  });
});
