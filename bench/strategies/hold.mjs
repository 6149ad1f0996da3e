// Bench strategy: reads its features, decides nothing (the runtime's own cost: pool round trips,
// features, publishing). params.burnMs > 0 makes it a slow model that burns the CPU per call.
export function predict({ bars, features, params }) {
  if (params.burnMs > 0) {
    const end = Date.now() + params.burnMs;
    while (Date.now() < end);
  }
  return { value: (features.sma5 ?? bars[bars.length - 1].close) - bars[bars.length - 1].close };
}
export function decide({ prediction }) {
  return { action: prediction.value > 0 ? 'buy' : 'hold', size: 0.001 };
}
