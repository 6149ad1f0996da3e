/**
 * The `storage:` section: where closed bars persist (LMDB), how often they
 * are flushed, start-up backfill, and what a corrupt database does at start.
 * `storage: false` turns it off.
 */
import type { Checker } from '../check/checker.ts';
import { DEFAULT_BACKFILL_TIMEOUT_MS, DEFAULT_FLUSH_MS, DEFAULT_STORAGE_PATH } from './defaults.ts';
import type { StorageConfig } from './types.ts';

const STORAGE_KEYS = ['path', 'flushMs', 'backfill', 'backfillTimeoutMs', 'onCorrupt'] as const;
const ON_CORRUPT = ['rebuild', 'refuse'] as const;

/**
 * `storage: false` → off; a map (or nothing, when `byDefault`: config files
 * persist unless they say otherwise) → on with defaults for what it leaves out.
 */
export function storageSection(c: Checker, value: unknown, byDefault: boolean): StorageConfig | null {
  if (value === false || ((value === undefined || value === null) && !byDefault)) return null;
  const s = c.section(value, 'storage', STORAGE_KEYS);
  let path = DEFAULT_STORAGE_PATH;
  if (s.path !== undefined && s.path !== null) {
    if (typeof s.path === 'string' && s.path.trim() !== '') path = s.path;
    else c.fail('storage.path', s.path, 'a directory path');
  }
  return {
    path,
    flushMs: c.number(s.flushMs, 'storage.flushMs', DEFAULT_FLUSH_MS, (n) => Number.isInteger(n) && n >= 10 && n <= 60_000, 'an integer number of ms from 10 to 60000'),
    backfill: c.boolean(s.backfill, 'storage.backfill', true),
    backfillTimeoutMs: c.number(s.backfillTimeoutMs, 'storage.backfillTimeoutMs', DEFAULT_BACKFILL_TIMEOUT_MS,
      (n) => Number.isInteger(n) && n >= 0 && n <= 600_000, 'an integer number of ms from 0 to 600000'),
    onCorrupt: (c.optionalOneOf(s.onCorrupt, 'storage.onCorrupt', ON_CORRUPT) ?? 'rebuild') as StorageConfig['onCorrupt'],
  };
}
