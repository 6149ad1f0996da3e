/**
 * The `streamer:` section: which exchange the older `/streamer/*` API serves.
 * That API names a symbol without an exchange, so when two exchanges list
 * the same symbol one of them must answer: `exchange` pins it; absent, the
 * first exchange in config order that lists the symbol answers.
 */
import type { Checker } from '../check/checker.ts';
import type { StreamerConfig } from './types.ts';

const STREAMER_KEYS = ['exchange'] as const;

/** `streamer:` → which exchange `/streamer/*` reads; `exchanges` are the configured names it must be one of. */
export function streamerSection(c: Checker, value: unknown, exchanges: readonly string[]): StreamerConfig {
  const s = c.section(value, 'streamer', STREAMER_KEYS);
  if (s.exchange === undefined || s.exchange === null || s.exchange === '') return { exchange: null };
  if (typeof s.exchange === 'string' && exchanges.includes(s.exchange)) return { exchange: s.exchange };
  c.fail('streamer.exchange', s.exchange, `one of the configured exchanges (${exchanges.join(', ')})`);
  return { exchange: null };
}
