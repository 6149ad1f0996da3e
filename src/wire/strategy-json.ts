/**
 * The JSON messages of the strategy channels (`predictions:<name>`,
 * `signals:<name>`, `fills:<name>`; shapes in messages.ts). One per judged
 * bar and strategy: built with JSON.stringify, not prepared prefixes.
 */
import type { FillEvent, PredictionEvent, SignalEvent } from '../model/strategy.ts';
import type { StrategyKind } from './channels.ts';
import type { FillMessage, PredictionMessage, SignalMessage } from './messages.ts';

/** The channel of `strategy`'s messages of `kind`. */
export function strategyChannelName(kind: StrategyKind, strategy: string): string {
  return `${kind}:${strategy}`;
}

export function predictionMessage(seq: number, e: PredictionEvent): string {
  const m: PredictionMessage = {
    type: 'prediction', channel: strategyChannelName('predictions', e.strategy), seq,
    strategy: e.strategy, exchange: e.exchange, symbol: e.symbol, timeframe: e.timeframe, barOpenTime: e.barOpenTime, revision: e.revision,
    value: e.value, confidence: e.confidence, extra: e.extra, latencyUs: e.latencyUs, ts: e.ts,
  };
  return JSON.stringify(m);
}

export function signalMessage(seq: number, e: SignalEvent): string {
  const m: SignalMessage = {
    type: 'signal', channel: strategyChannelName('signals', e.strategy), seq,
    id: e.id, strategy: e.strategy, exchange: e.exchange, symbol: e.symbol, timeframe: e.timeframe, barOpenTime: e.barOpenTime, revision: e.revision,
    action: e.action, size: e.size, prediction: e.prediction, reason: e.reason, ts: e.ts,
  };
  return JSON.stringify(m);
}

export function fillMessage(seq: number, e: FillEvent): string {
  const m: FillMessage = {
    type: 'fill', channel: strategyChannelName('fills', e.strategy), seq,
    strategy: e.strategy, exchange: e.exchange, symbol: e.symbol, timeframe: e.timeframe, signalId: e.signalId,
    side: e.side, price: e.price, size: e.size, fee: e.fee, position: e.position, cash: e.cash, equity: e.equity, ts: e.ts,
  };
  return JSON.stringify(m);
}
