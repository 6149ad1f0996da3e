/**
 * FeedSupervisor: keeps one exchange's worker running. It starts the worker
 * with the exchange's shared buffers, restarts it with the same buffers when
 * it crashes, exits or stops reporting (a hang), and counts the restarts. The
 * worker's status reports arrive here and are folded into running totals
 * that survive restarts.
 */
import { Worker } from 'node:worker_threads';
import { BarSeries } from '../buffers/bar-store.ts';
import type { LogSink } from '../log/record.ts';
import { workerScript } from '../model/worker-script.ts';
import type { FeedWorkerData, WorkerChanged, WorkerCommand, WorkerMessage, WorkerStatus } from './protocol.ts';

const SCRIPT = workerScript('feed-worker');

export interface SupervisorOptions {
  /** No status report for this long: the worker is hung and is replaced (default 10 000 ms). */
  hangTimeoutMs?: number;
  /** Delay before a restart, doubled per consecutive failure up to 5 s (default 100 ms). */
  restartDelayMs?: number;
}

/** What a supervisor reports: each status of the running worker, and each live change it applied. */
export interface SupervisorEvents {
  status(status: WorkerStatus): void;
  changed?(change: WorkerChanged): void;
}

/** Extra time a worker has for its first report (module loading, compiling TypeScript under tsx). */
const STARTUP_GRACE_MS = 10_000;

/** A restarted worker must stay connected this long before restart delays start small again. */
const HEALTHY_AFTER_MS = 30_000;

const COUNTERS = [
  'reconnects',
  'frames',
  'trades',
  'quotes',
  'parseErrors',
  'lateTradesDropped',
  'duplicateTradesDropped',
  'recoveredTrades',
  'unrecoveredGaps',
] as const;

/** Counters summed over every incarnation of the worker. */
export type FeedTotals = Pick<WorkerStatus, (typeof COUNTERS)[number]>;

export class FeedSupervisor {
  readonly exchange: string;
  restarts = 0;
  /** The latest report of the running worker, undefined before its first. */
  last: WorkerStatus | undefined;
  readonly totals: FeedTotals = {
    reconnects: 0,
    frames: 0,
    trades: 0,
    quotes: 0,
    parseErrors: 0,
    lateTradesDropped: 0,
    duplicateTradesDropped: 0,
    recoveredTrades: 0,
    unrecoveredGaps: 0,
  };
  /** Set while the worker is being replaced. */
  restarting = false;
  /** Why the worker was last replaced (crash or hang), null before any. */
  lastCrash: string | null = null;

  /**
   * What each incarnation of the worker starts with. The owner updates it
   * before it sends a live change (symbols, series, retired), so a restarted
   * worker starts with the change applied.
   */
  readonly data: FeedWorkerData;
  private readonly events: SupervisorEvents;
  /** The worker's log records, and the supervisor's own (crashes, hangs, restarts). */
  private readonly log: LogSink;
  /** The last clock offset a worker reported, handed to its successor. */
  private clockOffsetMs = 0;
  private readonly hangTimeoutMs: number;
  private readonly restartDelayMs: number;
  private worker: Worker | undefined;
  private running = false;
  private lastReportAt = 0;
  private spawnedAt = 0;
  private consecutiveFailures = 0;
  private hangTimer: NodeJS.Timeout | undefined;
  /** The replacement in progress (`replace`), resolved when none is. */
  private replacing: Promise<void> = Promise.resolve();
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(data: FeedWorkerData, events: SupervisorEvents | ((status: WorkerStatus) => void), options: SupervisorOptions = {}, log: LogSink = () => {}) {
    this.exchange = data.exchange;
    this.data = data;
    this.events = typeof events === 'function' ? { status: events } : events;
    this.log = log;
    this.hangTimeoutMs = options.hangTimeoutMs ?? 10_000;
    this.restartDelayMs = options.restartDelayMs ?? 100;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.spawn();
    this.hangTimer = setInterval(() => {
      // Before its first report a worker is still loading (slow under load): it gets STARTUP_GRACE_MS more.
      const allowed = this.hangTimeoutMs + (this.last === undefined ? STARTUP_GRACE_MS : 0);
      if (this.worker !== undefined && performance.now() - this.lastReportAt > allowed) {
        this.lastCrash = `worker stopped answering for ${Math.round(allowed)} ms and was replaced`;
        this.log({ level: 'error', event: 'feed.worker_hung', msg: this.lastCrash, fields: { allowedMs: Math.round(allowed) } });
        void this.worker.terminate(); // the exit handler restarts it
      }
    }, Math.min(1_000, this.hangTimeoutMs));
    this.hangTimer.unref();
  }

  /** Ask the worker to close its connection and exit; terminate it if it does not within 2 s. */
  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.hangTimer);
    clearTimeout(this.restartTimer);
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) await stopWorker(worker);
  }

  /**
   * Replace the running worker with a new one, e.g. because the plugin
   * serving its exchange changed (`--watch`): the old one stops as in
   * `stop` (its bars stay in shared memory), the new one starts at once and
   * resumes them. Counted as a restart; `reason` goes to the log.
   */
  replace(reason: string): Promise<void> {
    // One replacement at a time: two overlapping ones would each start a worker on the same buffers.
    const done = this.replacing.then(() => this.replaceNow(reason));
    this.replacing = done.catch(() => {});
    return done;
  }

  private async replaceNow(reason: string): Promise<void> {
    if (!this.running) return;
    clearTimeout(this.restartTimer);
    const worker = this.worker;
    this.worker = undefined; // its exit is not a crash
    if (worker !== undefined) await stopWorker(worker);
    if (!this.running) return;
    // Terminated after 2 s, it may have died inside a seqlocked write.
    for (const sab of this.data.buffers.series) new BarSeries(sab).repairAfterWriterDeath();
    this.restarts++;
    this.restarting = true;
    this.log({ level: 'info', event: 'feed.worker_replaced', msg: `replacing the worker: ${reason} (restart ${this.restarts}; bar history kept in shared memory)`, fields: { reason, restarts: this.restarts } });
    this.spawn();
  }

  /**
   * Send a live change to the running worker. With none running (between a
   * crash and its restart) the updated `data` carries the change instead.
   */
  command(cmd: Extract<WorkerCommand, { type: 'addSymbol' | 'removeSymbol' }>): void {
    this.worker?.postMessage(cmd);
  }

  /** Fault injection for tests: make the worker throw an uncaught error, or stop answering. */
  inject(fault: 'crash' | 'hang'): void {
    this.worker?.postMessage({ type: fault } satisfies WorkerCommand);
  }

  private spawn(): void {
    const worker = new Worker(SCRIPT.url, {
      workerData: { ...this.data, clockOffsetMs: this.clockOffsetMs, ...SCRIPT.data },
    });
    this.worker = worker;
    this.lastReportAt = performance.now();
    this.spawnedAt = this.lastReportAt;
    this.last = undefined;
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'log') {
        this.log(msg.record);
        return;
      }
      if (this.worker !== worker) return;
      if (msg.type === 'changed') this.events.changed?.(msg);
      if (msg.type !== 'status') return;
      this.lastReportAt = performance.now();
      // Only a worker that stayed up and connected for a while resets the restart backoff.
      if (msg.state === 'connected' && this.lastReportAt - this.spawnedAt > HEALTHY_AFTER_MS) this.consecutiveFailures = 0;
      this.restarting = false;
      const previous = this.last;
      for (const key of COUNTERS) this.totals[key] += msg[key] - (previous?.[key] ?? 0);
      this.last = msg;
      this.clockOffsetMs = msg.clockOffsetMs;
      this.events.status(msg);
    });
    worker.on('error', (err) => {
      this.lastCrash = `worker crashed: ${err.message}`;
      this.log({ level: 'error', event: 'feed.worker_crashed', msg: this.lastCrash, fields: { error: err.message, stack: err.stack ?? null } });
    });
    worker.on('exit', () => {
      if (this.worker !== worker || !this.running) return;
      this.worker = undefined;
      // It may have died inside a seqlocked write: nobody writes these buffers until the next worker starts.
      for (const sab of this.data.buffers.series) new BarSeries(sab).repairAfterWriterDeath();
      this.restarts++;
      this.restarting = true;
      const delay = Math.min(5_000, this.restartDelayMs * 2 ** this.consecutiveFailures++);
      this.log({ level: 'warn', event: 'feed.worker_restarting', msg: `restarting the worker in ${delay} ms (restart ${this.restarts}; bar history kept in shared memory)`, fields: { delayMs: delay, restarts: this.restarts } });
      this.restartTimer = setTimeout(() => {
        if (this.running) this.spawn();
      }, delay);
    });
  }
}

/** Ask `worker` to close its connections and exit; terminate it if it does not within 2 s. */
async function stopWorker(worker: Worker): Promise<void> {
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.postMessage({ type: 'stop' } satisfies WorkerCommand);
  const timer = setTimeout(() => void worker.terminate(), 2_000);
  await exited;
  clearTimeout(timer);
}
