// A tiny online logistic model: on each closed bar it learns whether the previous bar's features
// predicted an up-close (one step of stochastic gradient descent), then predicts the probability
// that the next bar closes up. Features: the configured `ret1` (return over one bar) and `rsi14`,
// and the bar's own `imbalance` (buy - sell volume share). The weights live in `state`, so any pool
// worker can serve any call and a backtest replays exactly.
// params: { rate: 0.5 (learning rate), enter: 0.55, exit: 0.45 (probabilities that buy / sell) }

export function checkParams({ rate = 0.5, enter = 0.55, exit = 0.45 }) {
  if (!(rate > 0 && rate <= 10)) return 'rate must be in (0, 10]';
  if (!(exit < enter && exit > 0 && enter < 1)) return 'enter and exit must be probabilities with exit < enter';
}

/** The model's inputs from one bar's features: a bias, then scaled features (0 while a feature warms up). */
function inputs(features) {
  return [1, (features.ret1 ?? 0) * 100, ((features.rsi14 ?? 50) - 50) / 50, features.imbalance ?? 0];
}

const sigmoid = (z) => 1 / (1 + Math.exp(-z));
const dot = (w, x) => w.reduce((s, wi, i) => s + wi * x[i], 0);

export function predict({ bars, features, params, state }) {
  const rate = params.rate ?? 0.5;
  const x = inputs(features);
  state.w ??= x.map(() => 0);
  const bar = bars[bars.length - 1];
  if (state.x !== undefined && state.close !== undefined) {
    // Learn from the previous bar: did it lead to an up-close?
    const y = bar.close > state.close ? 1 : 0;
    const err = y - sigmoid(dot(state.w, state.x));
    state.w = state.w.map((wi, i) => wi + rate * err * state.x[i]);
    state.seen = (state.seen ?? 0) + 1;
  }
  state.x = x;
  state.close = bar.close;
  const p = sigmoid(dot(state.w, x));
  return { value: p, confidence: Math.abs(p - 0.5) * 2, trained: state.seen ?? 0 };
}

export function decide({ prediction, position, params }) {
  const enter = params.enter ?? 0.55;
  const exit = params.exit ?? 0.45;
  const flat = position === null || position === 0;
  if (prediction.value > enter && flat) return { action: 'buy', reason: `P(up) ${prediction.value.toFixed(3)} > ${enter}` };
  if (prediction.value < exit && (position === null || position > 0)) return { action: 'sell', reason: `P(up) ${prediction.value.toFixed(3)} < ${exit}` };
  return { action: 'hold' };
}
