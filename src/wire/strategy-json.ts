/**
 * The JSON messages of the strategy channels (`predictions:<name>`,
 * `signals:<name>`, `fills:<name>`; shapes in messages.ts). One prediction
 * and one signal per judged bar and strategy: written from parts prepared
 * once per strategy (its name and series never change) and the event's own
 * fields, in the order and form `JSON.stringify` gives the message object
 * (test/wire/strategy-json.test.ts holds them to it). Measured on this
 * machine: JSON.stringify of a prediction and a signal took about 5 µs per
 * strategy and close, on the main thread, subscribed or not (the channels
 * keep a snapshot). Fills are rare: JSON.stringify.
 */
import type { FillEvent, PredictionEvent, SignalEvent, StrategyEventBase } from '../model/strategy.ts';
import type { StrategyKind } from './channels.ts';
import { nullableNum, num } from './json.ts';
import type { FillMessage } from './messages.ts';

/** The channel of `strategy`'s messages of `kind`. */
export function strategyChannelName(kind: StrategyKind, strategy: string): string {
  return `${kind}:${strategy}`;
}

/** The constant parts of one strategy's prediction and signal messages. */
export interface StrategyFormat {
  /** `{"type":"prediction","channel":"predictions:<name>","seq":` */
  readonly predictionHead: string;
  /** `{"type":"signal","channel":"signals:<name>","seq":` */
  readonly signalHead: string;
  /** `,"strategy":…,"exchange":…,"symbol":…,"timeframe":…,"barOpenTime":` */
  readonly series: string;
}

/** Prepare the constant parts of the messages of the strategy `e` comes from. */
export function prepareStrategy(e: StrategyEventBase): StrategyFormat {
  const head = (type: string, kind: StrategyKind): string =>
    '{"type":"' + type + '","channel":' + JSON.stringify(strategyChannelName(kind, e.strategy)) + ',"seq":';
  return {
    predictionHead: head('prediction', 'predictions'),
    signalHead: head('signal', 'signals'),
    series: ',"strategy":' + JSON.stringify(e.strategy) + ',"exchange":' + JSON.stringify(e.exchange) + ',"symbol":' + JSON.stringify(e.symbol) +
      ',"timeframe":' + JSON.stringify(e.timeframe) + ',"barOpenTime":',
  };
}

/** A prediction message (`f`: prepareStrategy of its strategy). */
export function predictionMessage(f: StrategyFormat, seq: number, e: PredictionEvent): string {
  return (
    f.predictionHead + seq + f.series + num(e.barOpenTime) +
    ',"revision":' + num(e.revision) +
    ',"value":' + num(e.value) +
    ',"confidence":' + nullableNum(e.confidence) +
    ',"extra":' + JSON.stringify(e.extra) +
    ',"latencyUs":' + num(e.latencyUs) +
    ',"ts":' + num(e.ts) + '}'
  );
}

/** A signal message (`f`: prepareStrategy of its strategy). */
export function signalMessage(f: StrategyFormat, seq: number, e: SignalEvent): string {
  return (
    f.signalHead + seq +
    ',"id":' + JSON.stringify(e.id) + f.series + num(e.barOpenTime) +
    ',"revision":' + num(e.revision) +
    ',"action":' + JSON.stringify(e.action) +
    ',"size":' + nullableNum(e.size) +
    ',"prediction":{"value":' + num(e.prediction.value) + ',"confidence":' + nullableNum(e.prediction.confidence) + '}' +
    ',"reason":' + (e.reason === null ? 'null' : JSON.stringify(e.reason)) +
    ',"ts":' + num(e.ts) + '}'
  );
}

export function fillMessage(seq: number, e: FillEvent): string {
  const m: FillMessage = {
    type: 'fill', channel: strategyChannelName('fills', e.strategy), seq,
    strategy: e.strategy, exchange: e.exchange, symbol: e.symbol, timeframe: e.timeframe, signalId: e.signalId,
    side: e.side, price: e.price, size: e.size, fee: e.fee, position: e.position, cash: e.cash, equity: e.equity, ts: e.ts,
  };
  return JSON.stringify(m);
}
