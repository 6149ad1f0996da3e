// SMA cross: buy when the fast simple moving average of closes crosses above the slow one, sell
// when it crosses back below. The averages come from the `bars` window (lookback >= slow), so the
// module needs no particular features; value = (fast - slow) / slow.
// params: { fast: 5, slow: 20, size?: base units per order (default: the executor's, all in / all out) }

/** Start-up check (tickwire reports it at strategies.<name>.params). */
export function checkParams({ fast, slow, size }) {
  if (!Number.isInteger(fast) || !Number.isInteger(slow) || fast < 1 || fast >= slow) return 'fast and slow must be integers with 1 <= fast < slow';
  if (size !== undefined && !(size > 0)) return 'size must be a positive number';
}

function sma(bars, n) {
  let sum = 0;
  for (let i = bars.length - n; i < bars.length; i++) sum += bars[i].close;
  return sum / n;
}

export function predict({ bars, params }) {
  if (bars.length < params.slow) throw new Error(`lookback must be at least slow (${params.slow}); got ${bars.length} bars`);
  const fast = sma(bars, params.fast);
  const slow = sma(bars, params.slow);
  const value = (fast - slow) / slow;
  return { value, confidence: Math.min(1, Math.abs(value) * 1000), fast, slow };
}

export function decide({ prediction, position, params, state }) {
  const side = prediction.value > 0 ? 1 : prediction.value < 0 ? -1 : 0;
  const previous = state.side ?? 0;
  state.side = side;
  // position is null for executors that keep no book (webhook): act on the crosses alone.
  const flat = position === null || position === 0;
  if (side > 0 && previous <= 0 && flat) return { action: 'buy', size: params.size, reason: 'fast SMA crossed above slow' };
  if (side < 0 && previous >= 0 && (position === null || position > 0)) return { action: 'sell', reason: 'fast SMA crossed below slow' };
  return { action: 'hold' };
}
