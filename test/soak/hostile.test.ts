/** `npm run soak -- --hostile`: its pure parts (addresses, attack start, /metrics outcomes, the verdict's extra reasons). */
import { describe, expect, it } from 'vitest';
import { FLOOD_CONNECTIONS, HOSTILE_PER_ADDRESS, attackStartMs, hostileReasons, hostileSetup, outcomeMetrics, subscriberAddress } from '../../scripts/soak/hostile.ts';
import type { AttackOutcomes } from '../../scripts/soak/protocol.ts';
import { judgeSoak, type SoakTotals } from '../../scripts/soak/verdict.ts';

function outcomes(): AttackOutcomes {
  return {
    wildcardUnsubscribes: { sent: 10, replies: { unsubscribed: 8, RATE_LIMITED: 2 } },
    snapshots: { sent: 4, bytesReceived: 1_000, replies: { subscribed: 4 } },
    pipelined: { sockets: 2, closedByServer: 2, requestsWritten: 10_000 },
    flood: { attempts: 128, opened: 64, refused503: 64, other: 0 },
    oversized: { sent: 2, closed: 2, closeCodes: { '1006': 2 } },
    slowloris: { opened: 20, closedByServer: 10, lifetimeMs: { min: 10_100, max: 11_000 } },
    forgedJwts: { sent: 90, refused401: 90, accepted: 0, other: 0 },
  };
}

describe('soak --hostile', () => {
  it('spreads the subscribers over loopback addresses under the per-address cap the flood runs into', () => {
    const perAddress = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) perAddress.set(subscriberAddress(i), (perAddress.get(subscriberAddress(i)) ?? 0) + 1);
    expect(Math.max(...perAddress.values())).toBeLessThan(HOSTILE_PER_ADDRESS);
    for (const a of perAddress.keys()) expect(a).toMatch(/^127\.1\.\d{1,3}\.\d{1,3}$/);
    expect(FLOOD_CONNECTIONS).toBeGreaterThan(HOSTILE_PER_ADDRESS);
    const { gateway, token, secret } = hostileSetup(100);
    expect(gateway).toEqual({ jwtSecret: secret, maxConnections: 100 + HOSTILE_PER_ADDRESS + 64, maxConnectionsPerAddress: HOSTILE_PER_ADDRESS });
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(token.split('.')).toHaveLength(3);
  });

  it('starts the attacks a third into the run, on a sample boundary', () => {
    expect(attackStartMs(120_000, 5_000)).toBe(40_000);
    expect(attackStartMs(600_000, 5_000)).toBe(200_000);
    expect(attackStartMs(50_000, 5_000)).toBe(20_000);
  });

  it('reads the refusal counters from /metrics', () => {
    const text = [
      '# HELP tickwire_connections_refused_total x',
      'tickwire_connections_refused_total{reason="max_per_address"} 224',
      'tickwire_auth_failures_total{transport="http",reason="expired"} 75',
      'tickwire_ws_messages_total 9',
      'tickwire_ws_snapshot_bytes_total 1051327',
    ].join('\n');
    expect(outcomeMetrics(text)).toEqual({
      'tickwire_connections_refused_total{reason="max_per_address"}': 224,
      'tickwire_auth_failures_total{transport="http",reason="expired"}': 75,
      tickwire_ws_snapshot_bytes_total: 1051327,
    });
  });

  it('fails on an accepted forgery, a flood never refused, an oversized frame left open, or no outcomes', () => {
    expect(hostileReasons(outcomes())).toEqual([]);
    expect(hostileReasons(null)).toEqual(['the attacker did not report its outcomes']);
    const o = outcomes();
    o.forgedJwts = { sent: 90, refused401: 89, accepted: 1, other: 0 };
    o.flood = { attempts: 64, opened: 64, refused503: 0, other: 0 };
    o.oversized = { sent: 3, closed: 2, closeCodes: { '1006': 2 } };
    expect(hostileReasons(o)).toEqual([
      '1 forged JWTs accepted',
      'the connection flood was never refused 503 (64 of 64 opened)',
      '1 of 3 64 MiB frames did not close their connection',
    ]);
  });

  it('a run whose measuring clients lost messages fails, attacks or not', () => {
    const totals: SoakTotals = {
      tradesSent: 100, tradesExpected: 400, tradesDelivered: 399, barsDelivered: 0, messages: 399, missed: 1, duplicates: 0,
      gapNotices: 0, errors: 0, disconnects: 0, unmatched: 0, unsent: 0, ringOverflow: 0, workerRestarts: 0, reconnects: 0, httpErrors: 0,
    };
    const points = Array.from({ length: 10 }, (_, i) => ({ tMs: i * 5_000, heapUsedBytes: 1e7, externalBytes: 1e7, rssBytes: 1e8 }));
    const v = judgeSoak(points, 0, totals, hostileReasons(outcomes()));
    expect(v.pass).toBe(false);
    expect(v.reasons).toEqual(['1 of 400 trade deliveries never arrived', '1 messages missing by seq']);
  });
});
