/**
 * The exchange feed worker: one per configured exchange (entry point:
 * workers/feed-worker.ts; an exchange served by an adapter plugin loads
 * the plugin's module first, src/plugins/). It owns the WebSocket connections, the adapters,
 * one BarAggregator per symbol and the writing side of the exchange's shared
 * buffers (see protocol.ts). This module wires the parts:
 *  - resume.ts: the aggregators, resumed from the bars in shared memory, so
 *    a restarted worker continues the same bars;
 *  - tick-handler.ts: per frame, parse → each trade aggregated (duplicates
 *    stop here) and written as a tick record, each quote likewise; then both
 *    rings published and the doorbell rung once (buffer-writer.ts);
 *  - connection-groups.ts: the connections, within the venue's stream limits;
 *  - outage.ts: reconnect gaps recovered over REST or marked gapped;
 *  - status.ts: status reports to the main thread.
 * A timer closes bars on the clock; another reports status. Live changes
 * (`addSymbol`, `removeSymbol`) arrive as commands: an added symbol's series
 * are handed over and its aggregator resumed from them before it is
 * subscribed; a removed one stops being fed (see connection-groups.ts).
 */
import type { MessagePort } from 'node:worker_threads';
import { BarSeries } from '../buffers/bar-store.ts';
import { Doorbell } from '../buffers/doorbell.ts';
import { TickRing } from '../buffers/tick-ring.ts';
import { adapterFor, capabilitiesOf } from '../exchanges/registry.ts';
import { usePlugin } from '../plugins/load.ts';
import { RestLimiter, useRestLimiterForThread } from '../exchanges/rest-limiter.ts';
import { nowMs } from '../model/clock.ts';
import { BufferWriter } from './buffer-writer.ts';
import { ClockOffset } from './clock-offset.ts';
import { ConnectionGroups } from './connection-groups.ts';
import { OutageRecovery } from './outage.ts';
import type { LogSink } from '../log/record.ts';
import { openBarEventRing, seriesIndex, type FeedWorkerData, type WorkerChanged, type WorkerCommand, type WorkerLog } from './protocol.ts';
import { coldStartTime, resumeAggregator, resumeAggregators } from './resume.ts';
import { StatusReporter } from './status.ts';
import { TickHandler } from './tick-handler.ts';

/** Run the feed worker for `data` (its workerData), reporting to and commanded over `port` (its parentPort). */
export function runFeedWorker(data: FeedWorkerData, port: MessagePort): void {
  /** The venue's registry entry (the config was validated against it in the main thread); a plugin's, loaded in this thread. */
  const entry = data.plugin === undefined ? adapterFor(data.exchange)! : usePlugin(data.plugin);
  const capabilities = capabilitiesOf(entry, data.settings);
  // Gap recovery's REST requests share the venue's limiter with the main thread.
  if (data.restLimiter !== undefined) useRestLimiterForThread(new RestLimiter(data.exchange, data.restLimiter));

  const series = data.buffers.series.map((sab) => new BarSeries(sab));
  /** Ticks and bars to shared memory (see buffer-writer.ts). */
  const writer = new BufferWriter(
    data.slots,
    new TickRing(data.buffers.ticks),
    series,
    new Int32Array(data.buffers.dirty),
    openBarEventRing(data.buffers.barEvents),
    new Doorbell(data.buffers.doorbell),
  );
  const clock = new ClockOffset();
  clock.offsetMs = data.clockOffsetMs ?? 0; // a restart continues with its predecessor's estimate
  const aggregators = resumeAggregators(data, entry, capabilities, writer, coldStartTime(data.restored, series));
  const handler = new TickHandler(aggregators, writer, clock, data.slots, setImmediate, data.wakeWindowMs);
  for (const i of data.retired) handler.live[i] = 0;

  /** Log records go to the main thread, which writes them with its logger (control messages only). */
  const log: LogSink = (record) => port.postMessage({ type: 'log', record } satisfies WorkerLog);
  const groups = new ConnectionGroups(data, entry, capabilities, handler, {
    log,
    connected: (slot, symbols) => outage.connected(symbols),
    disconnected: (slot, symbols, lastAliveAt) => outage.disconnected(slot, symbols, lastAliveAt),
    reconnected: (slot, symbols) => outage.reconnected(slot, symbols),
    stateChanged() {
      status.state = groups.state();
      status.report();
    },
    error(message) {
      status.lastError = message;
    },
  });
  const outage = new OutageRecovery(data, entry, groups, handler, aggregators, clock, {
    error(message) {
      status.lastError = message;
    },
    report: () => status.report(),
    log,
  });
  const status = new StatusReporter((s) => port.postMessage(s), { handler, aggregators, groups, outage, clock });

  const tick = setInterval(() => {
    const now = nowMs();
    const recovery = outage.recovery;
    for (let i = 0; i < aggregators.length; i++) {
      if (handler.live[i] === 0) continue; // removed: its bars stay as they were
      if (recovery !== undefined && recovery.paused[i] === 1) continue; // disconnected: it may be trading unseen
      const agg = aggregators[i]!;
      agg.clockOffsetMs = clock.offsetMs;
      agg.advance(now);
    }
    handler.flush();
  }, data.tickMs);
  const statusTimer = setInterval(() => status.report(), data.statusMs);

  port.on('message', (cmd: WorkerCommand) => {
    if (cmd.type === 'stop') {
      clearInterval(tick);
      clearInterval(statusTimer);
      groups.stop();
      outage.stop();
      handler.flush();
      port.postMessage({ type: 'stopped' });
      port.close();
    } else if (cmd.type === 'addSymbol') {
      if (handler.live[cmd.index] === 1) return; // started with it already (a restart raced the command)
      const nTf = data.timeframes.length;
      cmd.series.forEach((sab, tf) => (series[seriesIndex(cmd.index, tf, nTf)] = new BarSeries(sab)));
      data.settings.symbols[cmd.index] = cmd.symbol;
      data.buffers.series.splice(seriesIndex(cmd.index, 0, nTf), nTf, ...cmd.series);
      aggregators[cmd.index] = resumeAggregator(data, entry, capabilities, writer, cmd.index, nowMs());
      handler.live[cmd.index] = 1;
      const route = groups.add(cmd.index, cmd.symbol);
      port.postMessage({ type: 'changed', action: 'added', symbol: cmd.symbol, route } satisfies WorkerChanged);
    } else if (cmd.type === 'removeSymbol') {
      if (handler.live[cmd.index] === 0) return;
      handler.live[cmd.index] = 0;
      const symbol = data.settings.symbols[cmd.index]!;
      const route = groups.remove(cmd.index, symbol);
      handler.flush();
      port.postMessage({ type: 'changed', action: 'removed', symbol, route } satisfies WorkerChanged);
    } else if (cmd.type === 'crash') {
      setImmediate(() => {
        throw new Error('crash requested (fault injection)');
      });
    } else if (cmd.type === 'hang') {
      const until = Date.now() + 3_600_000;
      while (Date.now() < until); // stops answering, as a stuck parser would
    }
  });

  groups.start();
  status.report();
}
