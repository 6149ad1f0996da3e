/**
 * Where a fan-out phase's messages wait in the kernel: the bytes queued in
 * the loopback TCP sockets of one rig, sampled from `/proc/net/tcp` (Linux)
 * while the phase runs, so a rate not held can be blamed on the side that
 * measurably fell behind instead of on the busier-looking core:
 *
 * - **clients unread**: received by the subscribers' sockets, not yet read
 *   by the subscriber threads (`rx_queue` of every socket whose remote port
 *   is the gateway's): the clients are behind;
 * - **gateway unsent**: written by the gateway, not yet taken by a client
 *   (`tx_queue` of the gateway's sockets: on loopback a write lands in the
 *   peer's receive queue at once unless its window is full, so this too
 *   means a client is not reading);
 * - **upstream unread**: sent by the fake exchange, not yet read by the
 *   gateway (`rx_queue` of the socket whose remote port is the exchange's):
 *   the gateway's receiving thread (tickwire's feed worker, the floor's one
 *   thread) is behind.
 *
 * A message queued inside the gateway's own memory (tickwire's rings, uWS's
 * per-socket buffers) is in none of these: when messages came late and the
 * clients' queues were near empty, the gateway held them.
 *
 * Sampling costs the reading thread a read of the table: the kernel writes
 * a line for every TCP socket of the machine (a few hundred to thousands
 * here, other work's included). Measured with the bench's CPU profiles at
 * 100 ms: the orchestrator spent ~11% of a core reading and parsing it, on
 * the load's core, so it samples every 500 ms (3–4 samples in a 2 s step),
 * on the interval only (not at the start and end of a phase, where the
 * queues are empty by construction), and splits only the lines that name
 * one of the rig's ports.
 */
import { readFileSync } from 'node:fs';

/** Bytes queued at one instant, by where (see the module comment). */
export interface QueuedBytes {
  clientsUnread: number;
  gatewayUnsent: number;
  upstreamUnread: number;
}

/** Mean and largest of one queue over a phase's samples, bytes. */
export interface QueueStat {
  mean: number;
  max: number;
}

/** A phase's samples of the rig's queues. */
export interface TcpQueues {
  clientsUnread: QueueStat;
  gatewayUnsent: QueueStat;
  upstreamUnread: QueueStat;
  /** Samples taken (0 where /proc/net/tcp is not there: every figure is then NaN). */
  samples: number;
}

const ESTABLISHED = '01';

/**
 * The rig's queued bytes in one `/proc/net/tcp` table: `gatewayPort` is the
 * port the gateway listens on, `exchangePort` the fake exchange's.
 */
export function queuedBytes(table: string, gatewayPort: number, exchangePort: number): QueuedBytes {
  const q: QueuedBytes = { clientsUnread: 0, gatewayUnsent: 0, upstreamUnread: 0 };
  const gatewayHex = ':' + hexPort(gatewayPort) + ' ';
  const exchangeHex = ':' + hexPort(exchangePort) + ' ';
  // Each line: "sl local_address rem_address st tx_queue:rx_queue …", addresses and queues in hex.
  for (const line of table.split('\n')) {
    if (!line.includes(gatewayHex) && !line.includes(exchangeHex)) continue;
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || f[3] !== ESTABLISHED) continue;
    const localPort = portOf(f[1]!);
    const remotePort = portOf(f[2]!);
    const colon = f[4]!.indexOf(':');
    const tx = parseInt(f[4]!.slice(0, colon), 16);
    const rx = parseInt(f[4]!.slice(colon + 1), 16);
    if (remotePort === gatewayPort) q.clientsUnread += rx;
    else if (localPort === gatewayPort) q.gatewayUnsent += tx;
    else if (remotePort === exchangePort) q.upstreamUnread += rx;
  }
  return q;
}

function hexPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}

function portOf(address: string): number {
  return parseInt(address.slice(address.indexOf(':') + 1), 16);
}

/** Samples a rig's queues every `intervalMs` from `start()` to `stop()`. */
export class TcpQueueSampler {
  private timer: NodeJS.Timeout | undefined;
  private readonly sums: QueuedBytes = { clientsUnread: 0, gatewayUnsent: 0, upstreamUnread: 0 };
  private readonly maxes: QueuedBytes = { clientsUnread: 0, gatewayUnsent: 0, upstreamUnread: 0 };
  private samples = 0;

  constructor(
    private readonly gatewayPort: number,
    private readonly exchangePort: number,
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  /** Stop sampling; the mean and largest of each queue over the samples. */
  stop(): TcpQueues {
    clearInterval(this.timer);
    const stat = (k: keyof QueuedBytes): QueueStat => (this.samples === 0 ? { mean: NaN, max: NaN } : { mean: this.sums[k] / this.samples, max: this.maxes[k] });
    return { clientsUnread: stat('clientsUnread'), gatewayUnsent: stat('gatewayUnsent'), upstreamUnread: stat('upstreamUnread'), samples: this.samples };
  }

  private sample(): void {
    let table: string;
    try {
      table = readFileSync('/proc/net/tcp', 'latin1');
    } catch {
      return; // not Linux: no samples, NaN figures
    }
    const q = queuedBytes(table, this.gatewayPort, this.exchangePort);
    for (const k of ['clientsUnread', 'gatewayUnsent', 'upstreamUnread'] as const) {
      this.sums[k] += q[k];
      if (q[k] > this.maxes[k]) this.maxes[k] = q[k];
    }
    this.samples++;
  }
}
