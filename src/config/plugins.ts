/**
 * `plugins:` (docs/plugins.md): the adapter plugins to load, each an npm
 * package name or a path relative to the config file's folder. This checks
 * the list's shape; src/plugins/ loads and checks each plugin.
 */
import type { Checker } from '../check/checker.ts';
import { indexPath } from '../check/paths.ts';

/** Most plugins one config may list. */
export const MAX_PLUGINS = 32;
/** Longest entry (a package name or a path). */
const MAX_SPECIFIER = 300;

/** The plugins listed, each once; [] when the section is absent. */
export function pluginsSection(c: Checker, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const expected = `a list of up to ${MAX_PLUGINS} adapter plugins, each an npm package name or a path relative to the config file (./adapters/my-venue.mjs)`;
  if (!Array.isArray(value) || value.length > MAX_PLUGINS) {
    c.fail('plugins', value, expected);
    return [];
  }
  const out: string[] = [];
  value.forEach((v, i) => {
    if (typeof v !== 'string' || v.trim() === '' || v.length > MAX_SPECIFIER) c.fail(indexPath('plugins', i), v, `a package name or a path of 1 to ${MAX_SPECIFIER} characters`);
    else if (out.includes(v)) c.fail(indexPath('plugins', i), v, `each plugin once (already at ${indexPath('plugins', out.indexOf(v))})`);
    else out.push(v);
  });
  return out;
}
