/**
 * `--hostile` (README "Soak"): the settings of the attacked gateway, where
 * the measuring subscribers connect from, what the report adds, and the
 * verdict's extra reasons. Pure but for `readMetrics`.
 */
import { randomSecret, signHs256 } from './hostile-jwt.ts';
import type { LatencyMs } from './report.ts';
import type { AttackOutcomes, GatewayArgs } from './protocol.ts';

/** The per-address cap the flood runs into; the measuring subscribers stay under it by spreading over addresses. */
export const HOSTILE_PER_ADDRESS = 32;
/** Measuring subscribers per loopback address (under HOSTILE_PER_ADDRESS). */
const SUBSCRIBERS_PER_ADDRESS = 25;
/** WebSockets the flood opens at once: twice the per-address cap. */
export const FLOOD_CONNECTIONS = 2 * HOSTILE_PER_ADDRESS;

/** The run's secret, the measuring clients' token and the gateway's settings. */
export function hostileSetup(subscribers: number): { secret: string; token: string; gateway: NonNullable<GatewayArgs['hostile']> } {
  const secret = randomSecret();
  const token = signHs256({ sub: 'soak', exp: Math.floor(Date.now() / 1000) + 86_400 }, secret);
  // Room for every subscriber, the flood's cap and the attacks' few streams: the cap that bites is the per-address one.
  return { secret, token, gateway: { jwtSecret: secret, maxConnections: subscribers + HOSTILE_PER_ADDRESS + 64, maxConnectionsPerAddress: HOSTILE_PER_ADDRESS } };
}

/** The loopback address subscriber `i` binds: 127.1.x.y, 25 per address (the attackers use 127.0.0.2–5). */
export function subscriberAddress(i: number): string {
  const k = Math.floor(i / SUBSCRIBERS_PER_ADDRESS);
  return `127.1.${Math.floor(k / 250)}.${(k % 250) + 1}`;
}

/** When the attacks start: a third of the run, on a sample boundary (the windows before are the baseline). */
export function attackStartMs(durationMs: number, intervalMs: number): number {
  return Math.ceil(durationMs / 3 / intervalMs) * intervalMs;
}

/** One phase of a hostile run, over its judged windows. */
export interface PhaseFigures {
  samples: number;
  /** The subscribers' trade latency over the phase's windows. */
  latencyMs: LatencyMs;
  /** The gateway's largest post-GC RSS in the phase. */
  maxRssBytes: number;
  /** Messages missing by seq during the phase. */
  missed: number;
}

export interface HostileReport {
  attackStartSec: number;
  /** Warm-up over, attacks not started. */
  calm: PhaseFigures;
  attacked: PhaseFigures;
  outcomes: AttackOutcomes | null;
  /** The gateway's refusal counters at the end (`/metrics` lines by name and labels). */
  metrics: Record<string, number>;
}

/** Counters of `/metrics` that show the attacks' outcomes. */
const OUTCOME_METRICS = [
  'tickwire_connections_refused_total',
  'tickwire_auth_failures_total',
  'tickwire_ws_rejected_messages_total',
  'tickwire_ws_closed_total',
  'tickwire_http_unsent_responses_total',
  'tickwire_ws_snapshot_bytes_total',
];

/** The outcome counters from a Prometheus text body. */
export function outcomeMetrics(text: string): Record<string, number> {
  const found: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!OUTCOME_METRICS.some((m) => line.startsWith(m))) continue;
    const i = line.lastIndexOf(' ');
    found[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return found;
}

/** Why the attacks' outcomes fail the run (empty: they did what the gateway promises). */
export function hostileReasons(o: AttackOutcomes | null): string[] {
  if (o === null) return ['the attacker did not report its outcomes'];
  const reasons: string[] = [];
  if (o.forgedJwts.accepted > 0) reasons.push(`${o.forgedJwts.accepted} forged JWTs accepted`);
  if (o.forgedJwts.sent > 0 && o.forgedJwts.refused401 === 0) reasons.push('no forged JWT was answered 401');
  if (o.flood.attempts > 0 && o.flood.refused503 === 0) reasons.push(`the connection flood was never refused 503 (${o.flood.opened} of ${o.flood.attempts} opened)`);
  if (o.oversized.closed < o.oversized.sent) reasons.push(`${o.oversized.sent - o.oversized.closed} of ${o.oversized.sent} 64 MiB frames did not close their connection`);
  return reasons;
}
