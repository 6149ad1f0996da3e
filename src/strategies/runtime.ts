/**
 * Every configured strategy of a process (or of a backtest), their pool, and
 * the routing of bars and trades to them. The live runtime (src/api/) and
 * `tickwire backtest` (backtest.ts) drive the same object: the same runners,
 * features, pool and executors, one code path.
 *
 *  - `probe()` loads each module in the pool and checks its exports and
 *    `params` before anything is judged (and before the server listens);
 *    problems come back as config issues at `strategies.<name>.…`.
 *  - `seed()` hands each strategy the closed bars its series already holds
 *    (restored or backfilled): warm-up counts them.
 *  - `onBar` takes closes and amendments (BarUpdate of the library's
 *    `barClose`); `onTrade` fills paper orders: it visits only the runners
 *    whose executor waits for a trade of that symbol (they ask, through
 *    `awaitTrade`, when an order is submitted), and costs two Map lookups
 *    per trade when none does (nothing allocated). Visiting every runner of
 *    the symbol on every trade, to ask whether it waited, cost 300–660 ns
 *    per trade at 100 strategies with no order waiting, 22–58 ns now
 *    (the same probe, alternating, load average 11.6); the gateway's
 *    profile, where caches are cold, charged it 1.1 ms per second at 200
 *    trades/s.
 */
import type { ConfigIssue } from '../check/checker.ts';
import { ErrorCode, showValue, TickwireError } from '../errors.ts';
import type { PoolConfig, StrategyConfig } from '../config/types.ts';
import type { BarUpdate } from '../model/events.ts';
import type { Bar } from '../model/records.ts';
import type { FillEvent, PredictionEvent, RejectionEvent, SignalEvent, StrategyDetail, StrategySummary } from '../model/strategy.ts';
import type { TimeframeName } from '../model/timeframes.ts';
import type { Executor } from './executor.ts';
import { FeatureSet } from './features.ts';
import { ModuleExecutor } from './module-executor.ts';
import { PaperExecutor } from './paper.ts';
import { defaultThreads, StrategyPool, type PoolPriority } from './pool.ts';
import { StrategyRunner, type RunnerOutput } from './runner.ts';
import { DEFAULT_NICE } from './thread-priority.ts';
import { SLICE_MS, Turns } from './turns.ts';
import { WebhookExecutor } from './webhook.ts';

/** What strategies tell their owner. */
export interface StrategyOutput {
  prediction(e: PredictionEvent): void;
  signal(e: SignalEvent): void;
  fill(e: FillEvent): void;
  rejected(e: RejectionEvent): void;
  /** A strategy's error, timeout, pause or state change, with its summary after it. */
  status(s: StrategySummary): void;
}

export interface StrategyRuntimeOptions {
  /** Feed worker threads of the process (the pool's default size leaves them their cores). */
  feedWorkers: number;
  /** Backtest: published times from the data, no latencies (output depends on the data alone). */
  deterministic?: boolean;
}

/** Deadline of a module probe at start-up (loading a model can take a while), ms. */
const PROBE_TIMEOUT_MS = 30_000;

export class StrategyRuntime {
  readonly #runners = new Map<string, StrategyRunner>();
  /** `exchange\0symbol\0timeframe` → the runners of that series. */
  readonly #bySeries = new Map<string, StrategyRunner[]>();
  /** seedingKey → the runners that see the same bars with the same features, and share one FeatureSet. */
  readonly #seeding = new Map<string, StrategyRunner[]>();
  /** exchange → native symbol → the runners whose executor waits for that symbol's next trade (paper orders), each once. */
  readonly #waiting = new Map<string, Map<string, StrategyRunner[]>>();
  readonly #pool: StrategyPool;
  readonly #out: StrategyOutput;
  #closing: Promise<void> | undefined;

  constructor(strategies: Record<string, StrategyConfig>, pool: PoolConfig | undefined, out: StrategyOutput, options: StrategyRuntimeOptions) {
    this.#out = out;
    this.#pool = new StrategyPool(pool?.threads ?? defaultThreads(options.feedWorkers), pool?.nice ?? DEFAULT_NICE);
    const turns = new Turns(options.deterministic === true ? Infinity : SLICE_MS);
    const runnerOut: RunnerOutput = {
      prediction: (e) => out.prediction(e),
      signal: (e) => out.signal(e),
      fill: (e) => {
        this.#runners.get(e.strategy)!.fills++;
        out.fill(e);
      },
      rejected: (e) => out.rejected(e),
      problem: (r) => out.status(r.summary()),
      awaitTrade: (r) => {
        if (r.awaitsTrade) return;
        r.awaitsTrade = true;
        this.#waiting.get(r.cfg.exchange)!.get(r.cfg.symbol)!.push(r);
      },
    };
    const featureSets = new Map<string, FeatureSet>();
    for (const [name, cfg] of Object.entries(strategies)) {
      const seeding = seedingKey(cfg);
      let features = featureSets.get(seeding);
      if (features === undefined) featureSets.set(seeding, (features = new FeatureSet(cfg.features)));
      const runner: StrategyRunner = new StrategyRunner(name, cfg, this.#pool, turns, features, this.#executor(name, cfg, runnerOut, () => runner), runnerOut, options.deterministic === true);
      this.#runners.set(name, runner);
      let group = this.#seeding.get(seeding);
      if (group === undefined) this.#seeding.set(seeding, (group = []));
      group.push(runner);
      const key = seriesKey(cfg.exchange, cfg.symbol, cfg.timeframe);
      let list = this.#bySeries.get(key);
      if (list === undefined) this.#bySeries.set(key, (list = []));
      list.push(runner);
      let bySymbol = this.#waiting.get(cfg.exchange);
      if (bySymbol === undefined) this.#waiting.set(cfg.exchange, (bySymbol = new Map()));
      if (!bySymbol.has(cfg.symbol)) bySymbol.set(cfg.symbol, []);
    }
  }

  /** Pool threads. */
  get threads(): number {
    return this.#pool.threads;
  }

  /** How the pool's threads took their priority so far (thread-priority.ts). */
  get poolPriority(): PoolPriority {
    return this.#pool.priority;
  }

  /** The pool's priority once every thread has applied it, or as it stands after `timeoutMs` (StrategyPool.prioritiesChecked). */
  poolPriorityChecked(timeoutMs: number): Promise<PoolPriority> {
    return this.#pool.prioritiesChecked(timeoutMs);
  }

  /** Strategy names, in config order. */
  names(): string[] {
    return [...this.#runners.keys()];
  }

  /** Load every module in the pool and check its exports and params; the problems, as config issues (none: ready). */
  async probe(): Promise<ConfigIssue[]> {
    const checks: Promise<ConfigIssue | undefined>[] = [];
    for (const [name, r] of this.#runners) {
      const at = `strategies.${name}`;
      checks.push(this.#probeOne(name, r.cfg.module, 'strategy', r.cfg.params, `${at}.module`, `${at}.params`));
      const ex = r.cfg.executor;
      if (ex.kind === 'module') checks.push(this.#probeOne(name, ex.module, 'executor', ex.params, `${at}.executor.module`, `${at}.executor.params`));
    }
    return (await Promise.all(checks)).filter((i): i is ConfigIssue => i !== undefined);
  }

  /**
   * Hand each strategy the closed bars of its series so far (`read`: the newest `limit` closed bars, oldest first), read once
   * for the strategies that share a FeatureSet: they must feed it the same bar objects (features.ts).
   */
  seed(read: (exchange: string, symbol: string, timeframe: TimeframeName, limit: number) => Bar[]): void {
    for (const group of this.#seeding.values()) {
      const { exchange, symbol, timeframe, lookback } = group[0]!.cfg;
      const bars = read(exchange, symbol, timeframe, lookback);
      for (const r of group) r.seed(bars);
    }
    for (const r of this.#runners.values()) this.#out.status(r.summary());
  }

  /** A bar closed or a closed bar was amended (the library's `barClose`). */
  onBar(u: BarUpdate): void {
    const runners = this.#bySeries.get(seriesKey(u.exchange, u.symbol, u.timeframe));
    if (runners === undefined) return;
    for (const r of runners) {
      const before = r.state;
      r.onBar(u.bar);
      if (r.state !== before) this.#out.status(r.summary());
    }
  }

  /** A trade: fills the paper orders of its symbol's strategies that wait for one. */
  onTrade(exchange: string, symbol: string, price: number, ts: number): void {
    const waiting = this.#waiting.get(exchange)?.get(symbol);
    if (waiting === undefined || waiting.length === 0) return;
    // Those that still wait after this trade are kept, in place; any that asked during it (appended past `n`) follow them.
    const n = waiting.length;
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const r = waiting[i]!;
      if (r.executor.wantsTrades) r.onTrade(price, ts);
      if (r.executor.wantsTrades) waiting[kept++] = r;
      else r.awaitsTrade = false;
    }
    for (let i = n; i < waiting.length; i++) waiting[kept++] = waiting[i]!;
    waiting.length = kept;
  }

  /**
   * Pause a strategy on request (nothing more is judged until `resume`); its summary after.
   * Throws TickwireError NOT_FOUND (no such strategy) or CHANGE_REFUSED (paused already: nothing changed).
   */
  pause(name: string): StrategySummary {
    const r = this.#runner(name);
    if (!r.pause()) throw new TickwireError(ErrorCode.CHANGE_REFUSED, `change refused, nothing changed: strategy ${name} is paused already`);
    const summary = r.summary();
    this.#out.status(summary);
    return summary;
  }

  /**
   * Resume a paused strategy (it judges from the next closed bar on); its summary after.
   * Throws TickwireError NOT_FOUND (no such strategy) or CHANGE_REFUSED (not paused: nothing changed).
   */
  resume(name: string): StrategySummary {
    const r = this.#runner(name);
    if (!r.resume()) throw new TickwireError(ErrorCode.CHANGE_REFUSED, `change refused, nothing changed: strategy ${name} is ${r.state}, not paused`);
    const summary = r.summary();
    this.#out.status(summary);
    return summary;
  }

  /** Resolves once no strategy has a judgment queued or running. */
  async idle(): Promise<void> {
    await Promise.all([...this.#runners.values()].map((r) => r.idle()));
  }

  summaries(): StrategySummary[] {
    return [...this.#runners.values()].map((r) => r.summary());
  }

  /** One strategy in detail; undefined when there is none of that name. */
  detail(name: string): StrategyDetail | undefined {
    return this.#runners.get(name)?.detail();
  }

  /** The runner of `name` (backtests read its account). */
  runner(name: string): StrategyRunner | undefined {
    return this.#runners.get(name);
  }

  /** Stop judging, stop executors, terminate the pool. Idempotent. */
  async close(): Promise<void> {
    for (const r of this.#runners.values()) r.stop();
    this.#closing ??= this.#pool.close();
    await this.#closing;
  }

  /** The runner of `name`; throws NOT_FOUND. */
  #runner(name: string): StrategyRunner {
    const r = this.#runners.get(name);
    if (r === undefined) throw new TickwireError(ErrorCode.NOT_FOUND, `no strategy named ${showValue(name)} is configured`);
    return r;
  }

  async #probeOne(name: string, module: string, role: 'strategy' | 'executor', params: Record<string, unknown>, modulePath: string, paramsPath: string): Promise<ConfigIssue | undefined> {
    let problem: string | null;
    try {
      const r = await this.#pool.runOnce({ op: 'probe', strategy: name, module, role, params }, PROBE_TIMEOUT_MS);
      problem = r.op === 'probe' ? r.problem : 'unexpected answer';
    } catch (err) {
      problem = `cannot load the module (${(err as Error).message.split('\n')[0]})`;
    }
    if (problem === null) return undefined;
    const isParams = problem.startsWith('params: ');
    return { path: isParams ? paramsPath : modulePath, message: isParams ? `${problem.slice(8)}, expected params the module accepts` : `${JSON.stringify(module)}: ${problem}, expected a module exporting ${role === 'strategy' ? 'predict and decide' : 'execute'}` };
  }

  #executor(name: string, cfg: StrategyConfig, out: RunnerOutput, runner: () => StrategyRunner): Executor {
    const ex = cfg.executor;
    const sink = { fill: out.fill, rejected: out.rejected };
    switch (ex.kind) {
      case 'paper':
        return new PaperExecutor(ex, sink);
      case 'webhook':
        return new WebhookExecutor(ex, (message) => {
          runner().lastError = message;
          this.#out.status(runner().summary());
        });
      case 'module':
        return new ModuleExecutor(ex, sink, (signal, bar, state) => runner().execute(ex.module, ex.params, signal, bar, state));
    }
  }
}

function seriesKey(exchange: string, symbol: string, timeframe: string): string {
  return `${exchange}\u0000${symbol}\u0000${timeframe}`;
}

/** Strategies of equal keys see the same bars (series, and lookback: the seed's length) with the same features: they share one FeatureSet. */
function seedingKey(cfg: StrategyConfig): string {
  return `${seriesKey(cfg.exchange, cfg.symbol, cfg.timeframe)}\u0000${cfg.lookback}\u0000${JSON.stringify(cfg.features)}`;
}
