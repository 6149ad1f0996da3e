/** `npm run soak` flags: defaults, durations, and typed errors for bad input. */
import { describe, expect, it } from 'vitest';
import { SOAK_SYMBOLS, defaultWarmupMs, parseDuration, parseSoakArgs } from '../../scripts/soak/options.ts';
import { ErrorCode, TickwireError } from '../../src/errors.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof TickwireError ? err.code : 'not a TickwireError';
  }
  return undefined;
}

describe('soak options', () => {
  it('defaults to ten minutes of 2,000 trades/s to 100 subscribers', () => {
    const o = parseSoakArgs([], '/repo')!;
    expect(o).toEqual({
      durationMs: 600_000,
      rate: 2_000,
      subscribers: 100,
      symbols: SOAK_SYMBOLS.slice(0, 4),
      intervalMs: 5_000,
      warmupMs: 60_000,
      outDir: '/repo/soak-results',
      clientThreads: 2,
      seed: 7,
      storage: true,
      leakBytesPerMin: 0,
      hostile: false,
    });
    expect(parseSoakArgs(['--hostile'], '/repo')!.hostile).toBe(true);
  });

  it('reads the CI variant', () => {
    const o = parseSoakArgs(['--duration', '60s', '--subscribers', '20', '--out', '/tmp/x', '--storage', 'off'], '/repo')!;
    expect(o.durationMs).toBe(60_000);
    expect(o.warmupMs).toBe(15_000);
    expect(o.subscribers).toBe(20);
    expect(o.outDir).toBe('/tmp/x');
    expect(o.storage).toBe(false);
  });

  it('parses durations', () => {
    expect(parseDuration('--duration', '90')).toBe(90_000);
    expect(parseDuration('--duration', '90s')).toBe(90_000);
    expect(parseDuration('--duration', '3m')).toBe(180_000);
    expect(parseDuration('--duration', '1h')).toBe(3_600_000);
    expect(parseDuration('--duration', '500ms')).toBe(500);
    expect(parseDuration('--duration', '1.5m')).toBe(90_000);
  });

  it('bounds the default warm-up to 15..60 s and half the run', () => {
    expect(defaultWarmupMs(60_000)).toBe(15_000);
    expect(defaultWarmupMs(180_000)).toBe(36_000);
    expect(defaultWarmupMs(3_600_000)).toBe(60_000);
    expect(defaultWarmupMs(20_000)).toBe(10_000);
  });

  it('returns undefined for --help', () => {
    expect(parseSoakArgs(['--help'])).toBeUndefined();
  });

  it('rejects bad flags with INVALID_PARAMETER', () => {
    const bad: string[][] = [
      ['--duration', 'soon'],
      ['--duration', '0s'],
      ['--duration', '-5'],
      ['--rate', '0'],
      ['--rate', '2e3'],
      ['--subscribers', '1.5'],
      ['--symbols', '9'],
      ['--interval', '100ms'],
      ['--duration', '10s', '--interval', '20s'],
      ['--duration', '60s', '--warmup', '60s'],
      ['--storage', 'maybe'],
      ['--leak', '-1'],
      ['--out', ' '],
      ['--unknown', '1'],
      ['positional'],
    ];
    for (const argv of bad) expect(codeOf(() => parseSoakArgs(argv)), argv.join(' ')).toBe(ErrorCode.INVALID_PARAMETER);
  });

  it('names the flag, the value and the expectation', () => {
    expect(() => parseSoakArgs(['--rate', 'fast'])).toThrow('invalid --rate: got "fast", expected an integer from 1 to 100000');
  });
});
