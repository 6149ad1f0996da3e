/**
 * The soak report: its shape (what the JSON holds), the progress line printed
 * per sample, and the Markdown summary. Files go to
 * `<out>/soak-<ISO time>.json` and `.md`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { HostileReport, PhaseFigures } from './hostile.ts';
import type { SoakVerdict, SoakTotals } from './verdict.ts';

/** Latency percentiles, ms. */
export interface LatencyMs {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  count: number;
}

/** One sampling window. Memory is the gateway's at the window's end, after a forced GC. */
export interface SoakSample {
  /** Seconds since rated load started. */
  tSec: number;
  /** False for warm-up samples (shown, not judged). */
  judged: boolean;
  /** `--hostile`: the attacks ran during this window. */
  attacked: boolean;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  heapUsedBeforeGcBytes: number;
  gcMs: number;
  /** Gateway CPU over the window, % of one core. */
  cpuPercent: number;
  /** The load side's CPU over the window (exchange and subscriber threads), % of one core: near 100 × its threads means it, not the gateway, is the bottleneck. */
  loadCpuPercent: number;
  /** The machine's 1-minute load average at the sample (other work on a shared machine shows here). */
  loadAverage: number;
  /** Gateway main-thread event-loop delay over the window, ms. */
  eventLoopMs: { p50: number; p99: number; max: number };
  /** Trade frame sent by the exchange → received by a subscriber, over the window. */
  latencyMs: LatencyMs;
  /** Rates over the window. */
  tradesSentPerSec: number;
  messagesPerSec: number;
  tradesDeliveredPerSec: number;
  barsDeliveredPerSec: number;
  /** Cumulative losses so far (seq holes, gap notices included) and ring overflow from /v1/status. */
  missed: number;
  ringOverflow: number;
  /** The binance feed's state in /v1/status. */
  exchangeState: string;
}

export interface SoakReport {
  tool: 'tickwire soak';
  startedAt: string;
  finishedAt: string;
  /** False when the run was cut short (Ctrl-C or a failure). */
  completed: boolean;
  options: {
    durationSec: number;
    rate: number;
    subscribers: number;
    symbols: string[];
    intervalSec: number;
    warmupSec: number;
    clientThreads: number;
    seed: number;
    /** Closed bars persisted in LMDB during the run. */
    storage: boolean;
    /** Self-check leak injected into the gateway, MB per minute (0: none). */
    leakMbPerMin: number;
    /** Attacks ran from `hostile.attackStartSec` on. */
    hostile: boolean;
  };
  host: { node: string; platform: string; cpus: number; cpuModel: string };
  samples: SoakSample[];
  totals: SoakTotals;
  /** Over the whole run. */
  latencyMs: LatencyMs;
  /** `stop` → gateway stopped, ms (NaN when it did not answer). */
  shutdownMs: number | null;
  verdict: SoakVerdict;
  /** `--hostile` runs only. */
  hostile?: HostileReport;
}

const MB = 1024 * 1024;

function mb(bytes: number, digits = 1): string {
  return (bytes / MB).toFixed(digits);
}

function ms(v: number): string {
  return v < 10 ? v.toFixed(2) : v.toFixed(1);
}

/** The line printed per sample. */
export function progressLine(s: SoakSample): string {
  return (
    `[${s.tSec.toFixed(0).padStart(4)}s${s.judged ? (s.attacked ? '!' : ' ') : '*'}] ` +
    `rss ${mb(s.rssBytes).padStart(6)} MB  heap ${mb(s.heapUsedBytes, 2).padStart(6)} MB  ` +
    `ext ${mb(s.externalBytes)} MB  cpu ${s.cpuPercent.toFixed(0).padStart(3)}% (load ${s.loadCpuPercent.toFixed(0)}%, la ${s.loadAverage.toFixed(1)})  ` +
    `loop p99 ${ms(s.eventLoopMs.p99)} ms  ` +
    `lat p50 ${ms(s.latencyMs.p50)} p99 ${ms(s.latencyMs.p99)} max ${ms(s.latencyMs.max)} ms  ` +
    `${Math.round(s.messagesPerSec).toLocaleString('en-US')} msg/s  lost ${s.missed}  overflow ${s.ringOverflow}`
  );
}

/** The report as Markdown: verdict, growth figures, totals, then one row per sample. */
export function markdownReport(r: SoakReport): string {
  const v = r.verdict;
  const o = r.options;
  const lines = [
    `# tickwire soak, ${r.startedAt}`,
    '',
    `**${v.pass ? 'PASS' : 'FAIL'}**${r.completed ? '' : ' (run cut short)'}: ${o.rate} trades/s over ${o.symbols.join(', ')}, ` +
      `${o.subscribers} subscribers (trades + 1m bars each), ${o.durationSec} s, samples every ${o.intervalSec} s, ` +
      `first ${o.warmupSec} s not judged, storage ${o.storage ? 'on (LMDB)' : 'off'}` +
      `${o.leakMbPerMin > 0 ? `, **self-check leak of ${o.leakMbPerMin} MB/min injected into the gateway**` : ''}. Node ${r.host.node}, ${r.host.cpus} × ${r.host.cpuModel}.`,
    '',
  ];
  if (v.reasons.length > 0) lines.push(...v.reasons.map((x) => `- ${x}`), '');
  lines.push(
    '| memory (post-GC) | samples judged | slope MB/min | first third median MB | middle third median MB | last third median MB | growing |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const g of [v.heap, v.external, v.rss]) {
    lines.push(
      `| ${g.metric} | ${g.samples} | ${mb(g.slopeBytesPerMin, 3)} (limit ${mb(g.limits.slopeBytesPerMin)}) | ${mb(g.firstThirdMedianBytes, 2)} | ` +
        `${mb(g.middleThirdMedianBytes, 2)} | ${mb(g.lastThirdMedianBytes, 2)} | ${g.judged ? (g.growing ? 'yes' : 'no') : 'not judged'} |`,
    );
  }
  const t = r.totals;
  const l = r.latencyMs;
  lines.push(
    '',
    `Trades sent ${t.tradesSent.toLocaleString('en-US')}, deliveries owed ${t.tradesExpected.toLocaleString('en-US')}, ` +
      `delivered ${t.tradesDelivered.toLocaleString('en-US')}; bar messages ${t.barsDelivered.toLocaleString('en-US')}; ` +
      `missed ${t.missed}, duplicates ${t.duplicates}, gap notices ${t.gapNotices}, ring overflow ${t.ringOverflow}, ` +
      `disconnects ${t.disconnects}, worker restarts ${t.workerRestarts}, reconnects ${t.reconnects}, HTTP errors ${t.httpErrors}.`,
    '',
    `Latency, exchange send → subscriber receipt, whole run: p50 ${ms(l.p50)} ms, p99 ${ms(l.p99)} ms, p99.9 ${ms(l.p999)} ms, ` +
      `max ${ms(l.max)} ms over ${l.count.toLocaleString('en-US')} trades. Gateway shutdown ${r.shutdownMs === null ? 'did not answer' : `${ms(r.shutdownMs)} ms`}.`,
    '',
    '| t s | rss MB | heap MB | heap before GC MB | ext MB | ab MB | GC ms | cpu % | load cpu % | load avg | loop p99 ms | lat p50 ms | lat p99 ms | lat max ms | msg/s | lost | overflow |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const s of r.samples) {
    lines.push(
      `| ${s.tSec.toFixed(0)}${s.judged ? '' : '*'} | ${mb(s.rssBytes)} | ${mb(s.heapUsedBytes, 2)} | ${mb(s.heapUsedBeforeGcBytes)} | ` +
        `${mb(s.externalBytes)} | ${mb(s.arrayBuffersBytes)} | ${ms(s.gcMs)} | ${s.cpuPercent.toFixed(0)} | ${s.loadCpuPercent.toFixed(0)} | ` +
        `${s.loadAverage.toFixed(1)} | ${ms(s.eventLoopMs.p99)} | ` +
        `${ms(s.latencyMs.p50)} | ${ms(s.latencyMs.p99)} | ${ms(s.latencyMs.max)} | ${Math.round(s.messagesPerSec)} | ${s.missed} | ${s.ringOverflow} |`,
    );
  }
  lines.push('', '`*` warm-up, not judged. Memory is sampled right after a forced full GC; its pause (GC ms) shows in the next window\'s latency.', '');
  if (r.hostile !== undefined) lines.push(...hostileMarkdown(r.hostile));
  return lines.join('\n');
}

/** One line of a phase: latency, RSS and seq losses. */
export function phaseLine(name: string, p: PhaseFigures): string {
  const l = p.latencyMs;
  return `${name}: ${p.samples} windows, latency p50 ${ms(l.p50)} ms, p99 ${ms(l.p99)} ms, max ${ms(l.max)} ms over ${l.count.toLocaleString('en-US')} trades; RSS at most ${mb(p.maxRssBytes)} MB; ${p.missed} missed by seq`;
}

/** The `--hostile` section: baseline vs attacked, what the attacker saw, what the gateway counted. */
function hostileMarkdown(h: HostileReport): string[] {
  const lines = [
    '## Hostile clients',
    '',
    `Attacks from ${h.attackStartSec} s on (\`!\` rows), in a thread of their own (scripts/soak/attacker-worker.ts).`,
    '',
    `- ${phaseLine('without attacks (judged windows before them)', h.calm)}`,
    `- ${phaseLine('under attack', h.attacked)}`,
    '',
  ];
  const o = h.outcomes;
  if (o !== null) {
    const counts = (c: Record<string, number>): string => Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
    lines.push(
      '| attack | outcome |',
      '| --- | --- |',
      `| unsubscribes of 50 unknown wildcards, trades:*:* held | ${o.wildcardUnsubscribes.sent} sent; replies: ${counts(o.wildcardUnsubscribes.replies)} |`,
      `| snapshot 1000 over every bars channel | ${o.snapshots.sent} sent, ${mb(o.snapshots.bytesReceived)} MB received; replies: ${counts(o.snapshots.replies)} |`,
      `| 5,000 pipelined GET /openapi.json, unread | ${o.pipelined.sockets} sockets (${o.pipelined.requestsWritten} requests), ${o.pipelined.closedByServer} closed by the server |`,
      `| WebSocket flood past the per-address cap | ${o.flood.attempts} upgrades: ${o.flood.opened} opened, ${o.flood.refused503} refused 503, ${o.flood.other} other |`,
      `| 64 MiB frames | ${o.oversized.sent} sent, ${o.oversized.closed} closed (codes: ${counts(o.oversized.closeCodes)}) |`,
      `| slowloris | ${o.slowloris.opened} opened, ${o.slowloris.closedByServer} closed by the server after ${(o.slowloris.lifetimeMs.min / 1000).toFixed(1)}–${(o.slowloris.lifetimeMs.max / 1000).toFixed(1)} s |`,
      `| forged JWTs (HTTP and upgrade) | ${o.forgedJwts.sent} sent: ${o.forgedJwts.refused401} refused 401, ${o.forgedJwts.accepted} accepted, ${o.forgedJwts.other} other |`,
      '',
    );
  }
  lines.push('Gateway counters at the end (`/metrics`):', '', ...Object.entries(h.metrics).map(([k, v]) => `- \`${k}\` ${v}`), '');
  return lines;
}

/** Write `<dir>/soak-<time>.json` and `.md`; returns their paths. */
export function writeReports(dir: string, r: SoakReport): { json: string; markdown: string } {
  mkdirSync(dir, { recursive: true });
  const stem = path.join(dir, `soak-${r.startedAt.replace(/[:.]/g, '-')}`);
  const json = `${stem}.json`;
  const markdown = `${stem}.md`;
  writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
  writeFileSync(markdown, markdownReport(r));
  return { json, markdown };
}
